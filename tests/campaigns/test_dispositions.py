"""An agent's disposition of a campaign call: what each kind does to the attempt and the
contact, a callback's time in the contact's zone (across a DST change), an opt-out the gate
then honours, and a double click that changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.twilio import gateway
from campaigns.models import CallAttempt, Contact, ContactList
from campaigns.services.dispositions import attempt_disposition, contact_zone
from campaigns.services.lifecycle import campaign_create
from compliance.models import DncEntry
from compliance.rules import Channel, Purpose
from compliance.services import contact_decide

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


class Recorder:
    """The gateway, as far as a disposition reaches it: which calls were ended."""

    def __init__(self):
        self.ended: list[str] = []

    def call_end(self, call_sid: str, *, account_sid: str = "") -> None:
        self.ended.append(call_sid)


@pytest.fixture
def line(world, monkeypatch):
    """A connected call of Bob's "Renewals" campaign to Dana (Chicago number, no zone of her
    own), answered by Ana: the attempt, the contact and the live call the dialer made."""
    recorder = Recorder()
    monkeypatch.setattr(gateway, "get", lambda: recorder)
    with schema_context("bobsplumbing"):
        campaign = campaign_create(name="Renewals", purpose=Purpose.TELEMARKETING, mode="progressive")
        contacts = ContactList.objects.create(campaign=campaign, name="November")
        contact = Contact.objects.create(campaign=campaign, list=contacts, number="+13125550142", first_name="Dana",
                                         status=Contact.Status.IN_FLIGHT, attempts=1,
                                         fields={"policy": "HX-1"})
        attempt = CallAttempt.objects.create(
            campaign=campaign, contact=contact, number=contact.number, channel=Channel.AUTODIALED,
            purpose=campaign.purpose, mode=campaign.mode, agent_id=world.ana.pk, started_at=timezone.now(),
            answered_at=timezone.now(), outcome=CallAttempt.Outcome.LIVE_ANSWERED)
    session = CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=world.bobs, direction=CallSession.Direction.OUTBOUND,
        from_number="+12125550111", to_number=str(contact.number), state=CallSession.State.CONNECTED,
        agent=world.ana, answered_at=timezone.now(), attempt_id=attempt.pk)
    AgentPresence.objects.update_or_create(agent=world.ana, defaults={"status": "on_call", "mode": "outbound"})

    class Line:
        pass

    made = Line()
    made.campaign, made.contact, made.attempt, made.session, made.gateway = (
        campaign, contact, attempt, session, recorder)
    return made


def _dispose(line, agent, code, **kwargs):
    with schema_context("bobsplumbing"):
        attempt_disposition(attempt=line.attempt, agent=agent, code=code, **kwargs)
        attempt = CallAttempt.objects.select_related("disposition").get(pk=line.attempt.pk)
        contact = Contact.objects.select_related("disposition").get(pk=line.contact.pk)
    return attempt, contact


def test_a_sale_keeps_its_amount_and_the_contact_is_done(world, line, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        attempt, contact = _dispose(line, world.ana, "sale", amount="1,250.50", notes="Two-year plan",
                                    answers={"plan": "2y"})
    assert attempt.disposition.code == "sale" and attempt.amount == Decimal("1250.50")
    assert attempt.notes == "Two-year plan" and attempt.answers == {"plan": "2y"}
    assert contact.status == Contact.Status.DONE and contact.disposition.code == "sale"
    # The existing wrap-up goes on: the call still connected is hung up (its status callback wraps up).
    assert line.gateway.ended == [line.session.call_sid]


@pytest.mark.parametrize(("amount", "words"), [
    (None, "needs its amount"), ("", "needs its amount"), ("-5", "zero or more"), ("lots", "not an amount"),
    ("100000000", "at most"),
])
def test_a_sale_without_a_good_amount_is_refused_and_nothing_is_written(world, line, amount, words):
    with pytest.raises(ValidationError) as refused:
        _dispose(line, world.ana, "sale", amount=amount)
    assert words in refused.value.message_dict["amount"][0]
    with schema_context("bobsplumbing"):
        assert CallAttempt.objects.get(pk=line.attempt.pk).disposition is None
        assert Contact.objects.get(pk=line.contact.pk).status == Contact.Status.IN_FLIGHT
    assert line.gateway.ended == []


def test_an_unknown_code_is_refused_naming_the_known_ones(world, line):
    with pytest.raises(ValidationError) as refused:
        _dispose(line, world.ana, "maybe")
    message = refused.value.message_dict["code"][0]
    assert "“maybe” is not a disposition" in message and "callback" in message


def test_someone_elses_call_is_refused(world, line):
    with pytest.raises(ValidationError) as refused:
        _dispose(line, world.ben, "not_interested")
    assert refused.value.message_dict["code"] == ["This is not your call."]


def test_not_interested_and_wrong_number_close_the_contact(world, line):
    attempt, contact = _dispose(line, world.ana, "wrong_number")
    assert contact.status == Contact.Status.DONE and attempt.amount is None


def test_a_callback_to_me_is_booked_in_the_contacts_zone_derived_from_the_number(world, line):
    """Dana has no zone of her own; her 312 number rings in Chicago, while Bob's Plumbing is in
    New York: 10:00 on the form is 10:00 in Chicago."""
    with schema_context("bobsplumbing"):
        assert contact_zone(line.contact, world.bobs) == "America/Chicago"
    tomorrow = (timezone.now().astimezone(CHICAGO) + dt.timedelta(days=1)).date()
    attempt, contact = _dispose(line, world.ana, "callback", callback_at=f"{tomorrow.isoformat()}T10:00",
                                callback_to="me")
    assert contact.status == Contact.Status.CALLBACK and contact.callback_agent_id == world.ana.pk
    local = contact.next_attempt_at.astimezone(CHICAGO)
    assert (local.date(), local.hour, local.minute) == (tomorrow, 10, 0)
    assert attempt.disposition.kind == "callback"


def test_a_callback_to_anyone_names_no_agent_and_the_contacts_own_zone_wins(world, line):
    with schema_context("bobsplumbing"):
        Contact.objects.filter(pk=line.contact.pk).update(time_zone="America/Los_Angeles")
        line.contact.refresh_from_db()
    when = (timezone.now() + dt.timedelta(days=3)).astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    _, contact = _dispose(line, world.ana, "callback", callback_at=when.strftime("%Y-%m-%dT09:30"),
                          callback_to="anyone")
    assert contact.callback_agent_id is None
    local = contact.next_attempt_at.astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    assert (local.hour, local.minute) == (9, 30)


def test_a_callback_across_the_spring_dst_change_keeps_the_contacts_wall_clock(world, line, monkeypatch):
    """Booked on Friday 12 March 2027 (CST, UTC-6) for Monday 15 March 10:00 (CDT, UTC-5):
    stored as 15:00 UTC, not 16:00 — the hour the clocks moved is not lost."""
    friday = dt.datetime(2027, 3, 12, 15, 0, tzinfo=CHICAGO)
    monkeypatch.setattr(timezone, "now", lambda: friday.astimezone(dt.timezone.utc))
    _, contact = _dispose(line, world.ana, "callback", callback_at="2027-03-15T10:00")
    assert contact.next_attempt_at == dt.datetime(2027, 3, 15, 15, 0, tzinfo=dt.timezone.utc)
    assert contact.next_attempt_at.astimezone(CHICAGO).hour == 10


def test_a_callback_the_day_before_the_change_is_an_hour_later_in_utc(world, line, monkeypatch):
    friday = dt.datetime(2027, 3, 12, 15, 0, tzinfo=CHICAGO)
    monkeypatch.setattr(timezone, "now", lambda: friday.astimezone(dt.timezone.utc))
    _, contact = _dispose(line, world.ana, "callback", callback_at="2027-03-13T10:00")
    assert contact.next_attempt_at == dt.datetime(2027, 3, 13, 16, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("callback_at", "words"), [
    (None, "needs a date and a time"), ("tomorrow-ish", "not a date and time"), ("2020-01-01T10:00", "already passed"),
])
def test_a_callback_needs_a_time_in_the_future(world, line, callback_at, words):
    with pytest.raises(ValidationError) as refused:
        _dispose(line, world.ana, "callback", callback_at=callback_at)
    assert words in refused.value.message_dict["callback_at"][0]


def test_a_past_callback_says_the_time_in_the_contacts_zone(world, line):
    with pytest.raises(ValidationError) as refused:
        _dispose(line, world.ana, "callback", callback_at="2020-01-01T10:00")
    assert "10:00 in the contact's time (America/Chicago)" in refused.value.message_dict["callback_at"][0]


def test_do_not_call_opts_the_number_out_and_the_gate_then_refuses_it(world, line):
    with schema_context("bobsplumbing"):
        before = contact_decide(client=world.bobs, number="+13125550142", purpose=Purpose.INFORMATIONAL,
                                channel=Channel.VOICE, asked_by="test")
        assert "client_dnc" not in before.codes
    _, contact = _dispose(line, world.ana, "dnc")
    assert contact.status == Contact.Status.DNC
    with schema_context("bobsplumbing"):
        entry = DncEntry.objects.get(number="+13125550142", removed_at__isnull=True)
        assert entry.source == "agent" and "ana@switchboard.test" in entry.added_by and "Renewals" in entry.reason
        after = contact_decide(client=world.bobs, number="+13125550142", purpose=Purpose.INFORMATIONAL,
                               channel=Channel.VOICE, asked_by="test")
    assert not after.allowed and "client_dnc" in after.codes
    with schema_context("charlieclinic"):  # Bob's opt-out is Bob's: Charlie's list is untouched
        assert not DncEntry.objects.filter(number="+13125550142").exists()


def test_a_second_disposition_keeps_the_first(world, line, django_capture_on_commit_callbacks):
    """A double click or a retried message: the first stands, and the call is hung up once."""
    with django_capture_on_commit_callbacks(execute=True):
        _dispose(line, world.ana, "sale", amount="90")
    with django_capture_on_commit_callbacks(execute=True):
        attempt, contact = _dispose(line, world.ana, "not_interested")
    assert attempt.disposition.code == "sale" and attempt.amount == Decimal("90.00")
    assert contact.disposition.code == "sale"
    assert line.gateway.ended == [line.session.call_sid]


def test_a_disposition_changed_in_wrap_up_replaces_the_first(world, line):
    _dispose(line, world.ana, "sale", amount="90")
    CallSession.objects.filter(pk=line.session.pk).update(state=CallSession.State.WRAP_UP,
                                                          wrap_up_until=timezone.now() + dt.timedelta(seconds=30))
    tomorrow = (timezone.now().astimezone(CHICAGO) + dt.timedelta(days=1)).date()
    attempt, contact = _dispose(line, world.ana, "callback", callback_at=f"{tomorrow}T11:00", change=True)
    assert attempt.disposition.code == "callback" and attempt.amount is None
    assert contact.status == Contact.Status.CALLBACK


def test_after_wrap_up_a_change_is_no_longer_taken(world, line):
    _dispose(line, world.ana, "sale", amount="90")
    CallSession.objects.filter(pk=line.session.pk).update(state=CallSession.State.COMPLETED)
    attempt, _ = _dispose(line, world.ana, "not_interested", change=True)
    assert attempt.disposition.code == "sale"


def test_an_opt_out_stands_even_when_changed(world, line):
    _dispose(line, world.ana, "dnc")
    attempt, contact = _dispose(line, world.ana, "sale", amount="10", change=True)
    assert attempt.disposition.code == "dnc" and contact.status == Contact.Status.DNC


def test_a_wrap_up_waiting_for_the_agent_counts_down_once_dispositioned(world, line, django_capture_on_commit_callbacks):
    """The person hung up before the disposition (the script's work owed): the wrap-up has no
    end until the agent's disposition starts its countdown, as a saved message does inbound."""
    CallSession.objects.filter(pk=line.session.pk).update(state=CallSession.State.WRAP_UP, wrap_up_until=None,
                                                          ended_at=timezone.now(), caller_hung_up=True)
    AgentPresence.objects.filter(agent=world.ana).update(status="wrap_up")
    with django_capture_on_commit_callbacks(execute=False):
        _dispose(line, world.ana, "not_interested")
    session = CallSession.objects.get(pk=line.session.pk)
    assert session.wrap_up_until is not None and session.wrap_up_until > timezone.now()
    assert line.gateway.ended == []


def test_a_non_final_other_disposition_waits_for_the_next_attempt(world, line):
    with schema_context("bobsplumbing"):
        line.campaign.dispositions.create(code="spouse", label="Talk to spouse", kind="other", final=False, position=9)
    _, contact = _dispose(line, world.ana, "spouse")
    assert contact.status == Contact.Status.RETRY
    assert contact.next_attempt_at > timezone.now() + dt.timedelta(minutes=110)
