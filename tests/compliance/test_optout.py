"""Opt-outs from every path: SMS keywords and free text, re-subscribing, Twilio 21610, agents, CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from compliance.models import Consent, DncEntry, LedgerEntry
from compliance.platform.models import SmsKeyword
from compliance.rules import OptOutSource
from compliance.services import (
    consent_record,
    dnc_csv_import,
    dnc_entry_remove,
    dnc_import,
    inbound_sms_handle,
    opt_out_record,
    twilio_send_error_record,
)

from .conftest import EASTERN, NY, WEEKDAY_AFTERNOON, load_registry

pytestmark = pytest.mark.django_db


def _sms(client, body, number=NY):
    with tenant_context(client):
        return inbound_sms_handle(client=client, from_number=number, body=body)


def _active(client, number=NY):
    with tenant_context(client):
        return DncEntry.objects.filter(number=number, removed_at__isnull=True).first()


@pytest.mark.parametrize("body", [
    "STOP", "stop", "Stop.", " stop!!! ", "STOP please", "Stop texting me", "STOPALL", "stop all", "Unsubscribe",
    "CANCEL", "end", "Quit", "revoke", "opt out", "Opt-Out", "OPTOUT", "Stop, wrong number",
])
def test_stop_and_its_variants_opt_out_with_one_confirmation(world, body):
    reply = _sms(world.bobs, body)
    assert reply and "Bob's Plumbing" in reply and "unsubscribed" in reply
    entry = _active(world.bobs)
    assert entry is not None and entry.source == OptOutSource.SMS_KEYWORD and entry.reason == body.strip()
    assert _sms(world.bobs, body) is None  # one confirmation at most
    with tenant_context(world.bobs):
        assert LedgerEntry.objects.filter(event="opt_out", number=NY).count() == 1


@pytest.mark.parametrize("body", [
    "Please stop texting me", "I don't want these, remove me", "Do not call this number again",
    "who is this? wrong number", "leave me alone", "No more messages thanks", "I revoke my consent",
])
def test_free_text_that_clearly_revokes_opts_out(world, body):
    assert _sms(world.bobs, body) is not None
    assert _active(world.bobs).source == OptOutSource.SMS_TEXT


@pytest.mark.parametrize("body", ["Yes I'll be there at 3", "Thanks!", "Can you come tomorrow?", "The heater stopped", ""])
def test_ordinary_messages_are_not_keywords(world, body):
    assert _sms(world.bobs, body) is None
    assert _active(world.bobs) is None


def test_the_keyword_list_is_data(world):
    assert _sms(world.bobs, "halt") is None
    SmsKeyword.objects.create(text="halt", action="opt_out", match="first_word")
    assert _sms(world.bobs, "HALT!") is not None


def test_help_answers_with_the_clients_name_and_how_to_opt_out(world):
    reply = _sms(world.charlies, "HELP")
    assert "Charlie's Clinic" in reply and "STOP" in reply and "(312) 555-0113" in reply
    assert _sms(world.charlies, "info?") == reply
    assert _active(world.charlies) is None


def test_an_sms_opt_out_blocks_every_channel_and_campaign_of_that_client(world, registry, decide):
    with tenant_context(world.bobs):
        consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EXPRESS_WRITTEN,
                       source=Consent.Source.WEB_FORM, obtained_at=WEEKDAY_AFTERNOON, recorded_by="tests")
    assert decide(world.bobs, NY, channel="sms").allowed
    _sms(world.bobs, "stop")
    for purpose in ("telemarketing", "informational", "debt_collection"):
        for channel in ("voice", "autodialed", "prerecorded", "sms"):
            assert "client_dnc" in decide(world.bobs, NY, purpose=purpose, channel=channel).codes
    assert decide(world.charlies, NY).allowed  # Charlie's clinic was not told


def test_start_re_subscribes_only_where_the_opt_out_was_by_text(world, registry, decide):
    _sms(world.bobs, "STOP")
    reply = _sms(world.bobs, "start")
    assert reply and "subscribed to our texts again" in reply
    assert _active(world.bobs) is None
    with tenant_context(world.bobs):
        assert Consent.objects.filter(number=NY, kind="express", source="sms", revoked_at__isnull=True).exists()
        assert LedgerEntry.objects.filter(event="opt_in", number=NY).exists()
    # The START itself is express consent to texts, from now on.
    tomorrow = (timezone.now() + dt.timedelta(days=1)).astimezone(EASTERN).replace(hour=14)
    assert decide(world.bobs, NY, purpose="informational", channel="sms", at=tomorrow).allowed
    assert _sms(world.bobs, "UNSTOP") is None  # not opted out: nothing to confirm

    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.AGENT, added_by="ana")
    assert _sms(world.bobs, "YES") is None
    assert _active(world.bobs).source == OptOutSource.AGENT
    with tenant_context(world.bobs):
        assert LedgerEntry.objects.filter(event="opt_in_refused", number=NY).exists()


def test_stop_then_start_restores_the_marketing_texts_the_stop_ended(world, tmp_path, decide):
    """START gives back what the STOP took, for that client: the written consent (and the
    relationship) the opt-out revoked, with the ledger saying so — not just plain consent."""
    load_registry(tmp_path, ["2025550123"])  # fresh today: marketing is judged tomorrow
    tomorrow = (timezone.now() + dt.timedelta(days=1)).astimezone(EASTERN).replace(hour=14)
    month_ago = timezone.now() - dt.timedelta(days=30)
    with tenant_context(world.bobs):
        written = consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EXPRESS_WRITTEN,
                                 source=Consent.Source.WEB_FORM, obtained_at=month_ago, recorded_by="tests",
                                 evidence="Signed up for offers at bobs.example/offers")
        consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EBR_TRANSACTION, source=Consent.Source.OTHER,
                       obtained_at=month_ago, recorded_by="tests", evidence="Invoice 1042")
        withdrawn = consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EXPRESS, source=Consent.Source.CALL,
                                   obtained_at=month_ago, recorded_by="tests")
        Consent.objects.filter(pk=withdrawn.pk).update(revoked_at=month_ago, revoked_reason="Withdrawn by letter")
    marketing = {"purpose": "telemarketing", "channel": "sms", "at": tomorrow}
    assert decide(world.bobs, NY, **marketing).allowed

    assert "unsubscribed" in _sms(world.bobs, "STOP")
    assert "client_dnc" in decide(world.bobs, NY, **marketing).codes
    reply = _sms(world.bobs, "START")
    assert "subscribed to our texts again" in reply
    after = decide(world.bobs, NY, **marketing)
    assert after.allowed, after.codes  # the marketing text it allowed before STOP

    with tenant_context(world.bobs):
        active = Consent.objects.filter(number=NY, revoked_at__isnull=True)
        restored = active.get(kind=Consent.Kind.EXPRESS_WRITTEN)
        assert restored.pk != written.pk and restored.obtained_at == written.obtained_at  # the original proof, kept
        assert written.evidence in restored.evidence and f"#{written.pk}" in restored.evidence
        assert active.filter(kind=Consent.Kind.EBR_TRANSACTION, obtained_at=month_ago).exists()
        # A consent withdrawn before the STOP, some other way, stays withdrawn.
        assert not active.filter(kind=Consent.Kind.EXPRESS, source=Consent.Source.CALL).exists()
        Consent.objects.get(pk=written.pk, revoked_at__isnull=False)  # the revoked row is kept as it was
        opt_out = LedgerEntry.objects.get(event="opt_out", number=NY)
        opt_in = LedgerEntry.objects.get(event="opt_in", number=NY)
    assert "2 consents revoked" in opt_out.reasons[0]["text"]
    assert "Prior express written consent" in opt_in.reasons[0]["text"]
    assert "Established business relationship" in opt_in.reasons[0]["text"]
    assert opt_in.channel == "sms"


def test_start_restores_consents_revoked_by_an_opt_out_recorded_before_revocations_named_it(world):
    with tenant_context(world.bobs):
        written = consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EXPRESS_WRITTEN,
                                 source=Consent.Source.WEB_FORM, obtained_at=WEEKDAY_AFTERNOON, recorded_by="tests")
    _sms(world.bobs, "STOP")
    with tenant_context(world.bobs):
        # How the opt-outs of older releases wrote it: the source only, no entry.
        Consent.objects.filter(pk=written.pk).update(revoked_reason="Opt-out (SMS keyword (STOP…))")
    _sms(world.bobs, "START")
    with tenant_context(world.bobs):
        assert Consent.objects.filter(number=NY, kind=Consent.Kind.EXPRESS_WRITTEN, revoked_at__isnull=True).exists()


def test_start_inside_a_sentence_does_not_re_subscribe(world):
    _sms(world.bobs, "stop")
    assert _sms(world.bobs, "yes please call me about the start date") is None
    assert _active(world.bobs) is not None


def test_twilio_21610_is_an_opt_out_and_other_errors_are_not(world):
    with tenant_context(world.bobs):
        assert twilio_send_error_record(client=world.bobs, number=NY, error_code=30003) is False
        assert not DncEntry.objects.exists()
        assert twilio_send_error_record(client=world.bobs, number=NY, error_code="21610") is True
        assert DncEntry.objects.get().source == OptOutSource.TWILIO_21610
    assert _sms(world.bobs, "START") is not None  # 21610 means they texted STOP: a text may undo it


def test_agent_disposition_and_ivr_key_and_portal_land_in_the_same_list(world):
    with tenant_context(world.bobs):
        for source, number in [(OptOutSource.AGENT, "+12125550101"), (OptOutSource.IVR_KEY, "+12125550102"),
                               (OptOutSource.PORTAL, "+12125550103")]:
            entry, created = opt_out_record(client=world.bobs, number=number, source=source, added_by="someone")
            assert created and entry.is_active
        assert DncEntry.objects.filter(removed_at__isnull=True).count() == 3
        # A second opt-out of the same number keeps one active entry.
        assert opt_out_record(client=world.bobs, number="2125550101", source=OptOutSource.PORTAL,
                              added_by="bob") == (DncEntry.objects.get(number="+12125550101"), False)


def test_removing_an_entry_keeps_it_for_the_record(world):
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.PORTAL, added_by="bob")
        removed = dnc_entry_remove(client=world.bobs, number=NY, removed_by="bob", reason="asked to be called")
        assert removed.removed_at is not None and DncEntry.objects.filter(number=NY).count() == 1
        assert dnc_entry_remove(client=world.bobs, number=NY, removed_by="bob") is None
        assert LedgerEntry.objects.filter(event="dnc_removed").count() == 1


def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(world):
    data = "number,reason\n212-555-0142,asked twice\nnot a number\n(305) 555-0142\n\n+12125550142,dup\n999\n"
    with tenant_context(world.bobs):
        result = dnc_csv_import(client=world.bobs, data=data, added_by="bob")
        assert (result.added, result.already) == (2, 0)
        assert [(e.line, e.field) for e in result.errors] == [(3, "number"), (6, "number"), (7, "number")]
        assert "listed twice (first on line 2)" in result.errors[1].reason
        assert set(DncEntry.objects.values_list("number", flat=True)) == {NY, "+13055550142"}
        assert DncEntry.objects.get(number=NY).reason == "asked twice"
        again = dnc_csv_import(client=world.bobs, data="2125550142\n", added_by="bob")
        assert (again.added, again.already) == (0, 1)


def test_csv_import_is_all_or_nothing_for_the_good_rows(world, monkeypatch):
    real = dnc_import.dnc_rows_write

    def flaky(**kwargs):
        real(**kwargs)  # the rows are written, then the transaction fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(dnc_import, "dnc_rows_write", flaky)
    with tenant_context(world.bobs):
        with pytest.raises(RuntimeError):
            dnc_csv_import(client=world.bobs, data="2125550142\n3055550142\n", added_by="bob")
        assert not DncEntry.objects.exists()
