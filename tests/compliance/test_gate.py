"""The gate's concrete cases: lists, exemptions, hours, location, freshness, caps; every reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from campaigns.models import CallAttempt, Campaign
from compliance import location
from compliance.models import ComplianceSettings, Consent, LedgerEntry
from compliance.platform.models import CallingRule, Holiday, PlatformDncEntry, RegistryLoad
from compliance.rules import OptOutSource
from compliance.selectors import campaign_abandonment_rate
from compliance.services import consent_record, gate, opt_out_record

from .conftest import MIAMI, NY, ON_REGISTRY, TULSA, WEEKDAY_AFTERNOON, load_registry, local

pytestmark = pytest.mark.django_db


def test_a_clean_number_in_hours_is_allowed_and_the_decision_is_in_the_ledger(world, registry, decide):
    decision = decide(world.bobs, NY)
    assert decision.allowed, decision
    assert [r.code for r in decision.reasons] == ["clear"]
    with tenant_context(world.bobs):
        entry = LedgerEntry.objects.get(pk=decision.ledger_id)
    assert (entry.outcome, entry.number, entry.purpose, entry.asked_by) == ("allow", NY, "telemarketing", "tests")
    assert entry.rule_versions["registry"].startswith(f"load {registry.pk}: full file of 2025-06-01")
    assert "calling_rules" in entry.rule_versions


def test_every_reason_is_given_not_just_the_first(world, registry, decide):
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=ON_REGISTRY, source=OptOutSource.PORTAL, added_by="bob")
    PlatformDncEntry.objects.create(number=ON_REGISTRY, reason="litigator")
    decision = decide(world.bobs, ON_REGISTRY, channel="sms", at=local("America/New_York", 2025, 6, 3, 22, 30))
    assert not decision.allowed
    assert decision.codes == {"client_dnc", "platform_dnc", "national_dnc", "consent_missing", "outside_federal_hours"}
    with tenant_context(world.bobs):
        entry = LedgerEntry.objects.get(pk=decision.ledger_id)
    assert {r["code"] for r in entry.reasons if r["deny"]} == decision.codes


def test_an_invalid_number_is_denied_and_recorded(world, decide):
    decision = decide(world.bobs, "12345")
    assert not decision.allowed and decision.codes == {"number_invalid"}
    assert decision.ledger_id is not None


def test_the_registry_is_exempted_by_ebr_or_written_consent_but_never_the_clients_own_list(world, registry, decide):
    assert decide(world.bobs, ON_REGISTRY).codes == {"national_dnc"}
    with tenant_context(world.bobs):
        consent_record(client=world.bobs, number=ON_REGISTRY, kind=Consent.Kind.EBR_TRANSACTION,
                       source=Consent.Source.CALL, obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=30),
                       recorded_by="tests")
    decision = decide(world.bobs, ON_REGISTRY)
    assert decision.allowed and "registry_exempt_ebr" in {r.code for r in decision.reasons}
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=ON_REGISTRY, source=OptOutSource.AGENT, added_by="ana")
        assert Consent.objects.get(number=ON_REGISTRY).revoked_at is not None  # an opt-out revokes the EBR
    assert decide(world.bobs, ON_REGISTRY).codes == {"client_dnc", "national_dnc"}


@pytest.mark.parametrize("kind, age_days, exempt", [
    ("ebr_transaction", 30 * 18 - 10, True),  # inside 18 months
    ("ebr_transaction", 30 * 18 + 10, False),  # past 18 months
    ("ebr_inquiry", 80, True),  # inside 3 months
    ("ebr_inquiry", 100, False),  # past 3 months
])
def test_an_established_business_relationship_expires(world, registry, decide, kind, age_days, exempt):
    with tenant_context(world.bobs):
        consent_record(client=world.bobs, number=ON_REGISTRY, kind=kind, source=Consent.Source.CALL,
                       obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=age_days), recorded_by="tests")
    assert decide(world.bobs, ON_REGISTRY).allowed is exempt


def test_expired_or_revoked_consent_does_not_count(world, registry, decide):
    with tenant_context(world.bobs):
        Consent.objects.create(number=NY, kind=Consent.Kind.EXPRESS_WRITTEN, source=Consent.Source.WEB_FORM,
                               obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=10),
                               expires_at=WEEKDAY_AFTERNOON - dt.timedelta(days=1))
    assert decide(world.bobs, NY, channel="sms").codes == {"consent_missing"}
    with tenant_context(world.bobs):
        Consent.objects.create(number=NY, kind=Consent.Kind.EXPRESS_WRITTEN, source=Consent.Source.WEB_FORM,
                               obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=10))
    assert decide(world.bobs, NY, channel="sms").allowed


def test_informational_robocalls_need_express_consent_and_telemarketing_needs_written(world, registry, decide):
    with tenant_context(world.bobs):
        consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EXPRESS, source=Consent.Source.CALL,
                       obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=3), recorded_by="tests")
    assert decide(world.bobs, NY, purpose="informational", channel="prerecorded").allowed
    assert decide(world.bobs, NY, purpose="telemarketing", channel="prerecorded").codes == {"consent_missing"}
    assert decide(world.bobs, NY, purpose="telemarketing", channel="voice").allowed


def test_registry_older_than_31_days_refuses_telemarketing_only(world, tmp_path, decide):
    load_registry(tmp_path, ["2025550123"], file_date=dt.date(2025, 5, 1))  # 33 days before the call
    decision = decide(world.bobs, NY)
    assert decision.codes == {"registry_stale"}
    assert "33 days old" in decision.denials[0].text
    assert decide(world.bobs, NY, purpose="informational").allowed


def test_no_registry_at_all_refuses_telemarketing(world, decide):
    RegistryLoad.objects.all().delete()
    assert decide(world.bobs, NY).codes == {"registry_missing"}


def test_a_change_file_alone_keeps_the_data_fresh(world, registry, tmp_path, decide):
    later = WEEKDAY_AFTERNOON + dt.timedelta(days=40)
    assert decide(world.bobs, NY, at=later).codes == {"registry_stale"}
    load_registry(tmp_path, [], file_date=later.date(), kind=RegistryLoad.Kind.CHANGE, name="change.txt")
    assert decide(world.bobs, NY, at=later).allowed


def test_a_florida_number_at_2030_local_is_refused_for_telemarketing_but_not_for_reminders(world, registry, decide):
    at = local("America/New_York", 2025, 6, 3, 20, 30)
    decision = decide(world.bobs, MIAMI, at=at)
    assert decision.codes == {"outside_state_hours"}
    assert "FL hours 08:00–20:00" in decision.denials[0].text and "20:30 in America/New_York" in decision.denials[0].text
    assert decide(world.bobs, MIAMI, purpose="informational", at=at).allowed
    assert decide(world.bobs, NY, at=at).allowed  # New York: federal 21:00 only


def test_a_contact_living_in_another_state_brings_that_states_rules(world, registry, decide):
    at = local("America/New_York", 2025, 6, 3, 20, 30)
    assert decide(world.bobs, NY, at=at).allowed
    decision = decide(world.bobs, NY, at=at, contact_address={"state": "FL", "zip": "33132"})
    assert decision.codes == {"outside_state_hours"}
    # Her address in Oklahoma (Central): 19:30 there, but New York's number rings at 20:30 Eastern.
    assert decide(world.bobs, NY, at=at, contact_address="OK").codes == {"outside_state_hours"}


def test_an_unknown_address_state_fails_closed(world, registry, decide):
    assert decide(world.bobs, NY, contact_address="ZZ").codes == {"address_unknown"}


@pytest.mark.parametrize("number, zones", [
    ("+16055550142", {"America/North_Dakota/Center", "America/Denver"}),  # South Dakota: Central and Mountain
    ("+17015550142", {"America/North_Dakota/Center", "America/Denver"}),  # North Dakota
    ("+17755550142", {"America/Los_Angeles", "America/Boise"}),  # Nevada: Pacific and Mountain (Boise)
    ("+19865550142", {"America/Los_Angeles", "America/Boise"}),  # Idaho
    ("+19075550142", {"America/Anchorage", "America/Adak"}),  # Alaska
])
def test_split_area_codes_are_allowed_only_when_every_zone_is_in_hours(world, registry, decide, number, zones):
    assert zones <= set(location.number_time_zones(number))
    # 8:30 in the easternmost zone is 7:30 (or earlier) in the western one: refused, naming the zone.
    east = sorted(zones, key=lambda z: -local(z, 2025, 6, 3, 12).utcoffset().total_seconds())[0]
    decision = decide(world.bobs, number, purpose="informational", at=local(east, 2025, 6, 3, 8, 30))
    assert decision.codes == {"outside_federal_hours"}
    # Noon in the west is inside 8–21 everywhere.
    west = sorted(zones, key=lambda z: local(z, 2025, 6, 3, 12).utcoffset().total_seconds())[0]
    assert decide(world.bobs, number, purpose="informational", at=local(west, 2025, 6, 3, 12)).allowed


def test_arizona_928_includes_the_navajo_nation_on_mountain_daylight_time(world, registry, decide):
    # In June, Phoenix (no DST) is 7:30 when the Navajo Nation (America/Denver) is 8:30.
    at = local("America/Denver", 2025, 6, 3, 8, 30)
    assert decide(world.bobs, "+19282830142", purpose="informational", at=at).codes == {"outside_federal_hours"}


def test_toll_free_numbers_have_no_location_and_are_refused_but_staff_may_be_reached(world, registry, decide):
    assert decide(world.bobs, "+18005550142").codes == {"location_unknown"}
    assert decide(world.bobs, "+18885550142", purpose="staff").allowed


def test_non_us_numbers_are_refused(world, registry, decide):
    assert "location_outside_us" in decide(world.bobs, "+14165550142", purpose="informational").codes


@pytest.mark.parametrize("at, allowed", [
    # 2025-03-09: clocks spring forward at 2:00 in New York.
    (local("America/New_York", 2025, 3, 9, 7, 59), False),
    (local("America/New_York", 2025, 3, 9, 8, 0), True),
    # 8:00 EDT on the Monday after is 12:00 UTC; the Friday before, 8:00 EST was 13:00 UTC.
    (dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.timezone.utc), True),
    (dt.datetime(2025, 3, 7, 12, 0, tzinfo=dt.timezone.utc), False),
    # 2025-11-02: clocks fall back; 20:59 EST is inside, 21:00 is not.
    (local("America/New_York", 2025, 11, 2, 20, 59), True),
    (local("America/New_York", 2025, 11, 2, 21, 0), False),
    (dt.datetime(2025, 11, 3, 1, 30, tzinfo=dt.timezone.utc), True),  # 20:30 EST
    (dt.datetime(2025, 10, 31, 1, 30, tzinfo=dt.timezone.utc), False),  # 21:30 EDT
])
def test_daylight_saving_transitions(world, decide, at, allowed):
    assert decide(world.bobs, NY, purpose="informational", at=at).allowed is allowed


def test_sunday_and_holiday_bans_are_data(world, registry, decide):
    sunday = local("America/Chicago", 2025, 6, 8, 14, 0)
    jackson = "+16015550142"  # Mississippi
    assert decide(world.bobs, jackson, at=sunday).codes == {"state_sunday_ban"}
    assert decide(world.bobs, jackson, at=sunday, purpose="informational").allowed
    CallingRule.objects.create(jurisdiction="OK", name="Holidays", purposes=["telemarketing"], no_holidays=True,
                               source="test rule", effective_from=dt.date(2020, 1, 1))
    Holiday.objects.create(jurisdiction="OK", date=dt.date(2025, 6, 3), name="Test Day")
    assert decide(world.bobs, TULSA).codes == {"state_holiday_ban"}


def test_a_rule_not_yet_in_force_does_not_apply(world, registry, decide):
    CallingRule.objects.create(jurisdiction="NY", name="Future hours", purposes=["telemarketing"],
                               window_start=dt.time(9), window_end=dt.time(12), source="test",
                               effective_from=dt.date(2030, 1, 1))
    assert decide(world.bobs, NY).allowed


def test_the_clients_own_window_and_cap_are_stricter(world, registry, decide):
    with tenant_context(world.bobs):
        ComplianceSettings.objects.create(window_start=dt.time(10), window_end=dt.time(13), max_attempts_per_24h=1)
    assert decide(world.bobs, NY).codes == {"outside_client_hours"}
    assert decide(world.bobs, NY, at=local("America/New_York", 2025, 6, 3, 11)).allowed
    assert decide(world.charlies, NY).allowed  # Charlie's clinic has no such window
    with tenant_context(world.bobs):
        CallAttempt.objects.create(number=NY, channel="voice", purpose="informational",
                                   started_at=local("America/New_York", 2025, 6, 3, 9))
    assert decide(world.bobs, NY, at=local("America/New_York", 2025, 6, 3, 11)).codes == {"client_cap"}


def _attempts(client, number, times, *, purpose="telemarketing", subject="", campaign=None, outcome="no_answer"):
    with tenant_context(client):
        for at in times:
            CallAttempt.objects.create(number=number, channel="voice", purpose=purpose, started_at=at, outcome=outcome,
                                       subject=subject or (campaign.subject_key if campaign else purpose),
                                       campaign=campaign)


def test_florida_allows_three_calls_on_one_subject_in_24_hours(world, registry, decide):
    with tenant_context(world.bobs):
        campaign = Campaign.objects.create(name="Spring tune-up", purpose="telemarketing")
    _attempts(world.bobs, MIAMI, [WEEKDAY_AFTERNOON - dt.timedelta(hours=h) for h in (1, 2)], campaign=campaign)
    assert decide(world.bobs, MIAMI, campaign=campaign).allowed
    _attempts(world.bobs, MIAMI, [WEEKDAY_AFTERNOON - dt.timedelta(hours=23)], campaign=campaign)
    decision = decide(world.bobs, MIAMI, campaign=campaign)
    assert decision.codes == {"frequency_cap"} and "FL: 3 attempts in 24 h" in decision.denials[0].text
    assert decide(world.bobs, MIAMI, subject="another offer").allowed  # another subject
    assert decide(world.bobs, NY, campaign=campaign).allowed  # New York has no such cap


def test_reg_f_seven_calls_in_seven_days_and_seven_days_after_a_conversation(world, registry, decide):
    week = [WEEKDAY_AFTERNOON - dt.timedelta(days=d, hours=1) for d in range(6)]
    _attempts(world.bobs, NY, week, purpose="debt_collection", subject="invoice 1001")
    assert decide(world.bobs, NY, purpose="debt_collection", subject="invoice 1001").allowed
    _attempts(world.bobs, NY, [WEEKDAY_AFTERNOON - dt.timedelta(days=6, hours=20)], purpose="debt_collection",
              subject="invoice 1001")
    assert decide(world.bobs, NY, purpose="debt_collection", subject="invoice 1001").codes == {"frequency_cap"}
    assert decide(world.bobs, NY, purpose="debt_collection", subject="invoice 2002").allowed
    _attempts(world.bobs, TULSA, [WEEKDAY_AFTERNOON - dt.timedelta(days=5)], purpose="debt_collection",
              subject="invoice 3003", outcome="live_answered")
    decision = decide(world.bobs, TULSA, purpose="debt_collection", subject="invoice 3003")
    assert decision.codes == {"after_conversation"}
    assert decide(world.bobs, TULSA, purpose="debt_collection", subject="invoice 3003",
                  at=WEEKDAY_AFTERNOON + dt.timedelta(days=2, hours=1)).allowed


def test_campaign_caps(world, registry, decide):
    with tenant_context(world.bobs):
        campaign = Campaign.objects.create(name="Reminders", purpose="informational", max_attempts_per_24h=1,
                                           max_attempts_per_7d=2)
    _attempts(world.bobs, NY, [WEEKDAY_AFTERNOON - dt.timedelta(days=3)], purpose="informational", campaign=campaign)
    assert decide(world.bobs, NY, purpose="informational", campaign=campaign).allowed
    _attempts(world.bobs, NY, [WEEKDAY_AFTERNOON - dt.timedelta(hours=3)], purpose="informational", campaign=campaign)
    decision = decide(world.bobs, NY, purpose="informational", campaign=campaign)
    assert decision.codes == {"campaign_cap"} and len(decision.denials) == 2


def test_staff_are_exempt_from_lists_and_hours_but_not_from_their_text_opt_out(world, registry, decide):
    night = local("America/New_York", 2025, 6, 3, 3, 0)
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=ON_REGISTRY, source=OptOutSource.SMS_KEYWORD, added_by="sms")
    assert decide(world.bobs, ON_REGISTRY, purpose="staff", channel="voice", at=night).allowed
    assert decide(world.bobs, ON_REGISTRY, purpose="staff", channel="sms", at=night).codes == {"staff_sms_opt_out"}


def test_the_gate_fails_closed_on_a_database_error(world, registry, decide, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(gate, "_facts_sql", broken)
    decision = decide(world.bobs, NY)
    assert not decision.allowed and decision.codes == {"gate_error"}
    with tenant_context(world.bobs):
        assert LedgerEntry.objects.get(pk=decision.ledger_id).outcome == "deny"


def test_an_unknown_purpose_fails_closed(world, decide):
    assert decide(world.bobs, NY, purpose="fundraising").codes == {"gate_error"}


def test_the_abandonment_rate_stops_autodialing_at_three_percent(world, registry, decide):
    with tenant_context(world.bobs):
        campaign = Campaign.objects.create(name="Predictive", purpose="informational")
        consent_record(client=world.bobs, number=NY, kind=Consent.Kind.EXPRESS, source=Consent.Source.CALL,
                       obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=3), recorded_by="tests")
        base = WEEKDAY_AFTERNOON - dt.timedelta(days=1)
        for i in range(97):
            CallAttempt.objects.create(campaign=campaign, number=f"+1212555{1000 + i}", channel="autodialed",
                                       purpose="informational", started_at=base, outcome="live_answered")
        for i in range(50):  # machines and no-answers are not in the denominator
            CallAttempt.objects.create(campaign=campaign, number=f"+1212555{2000 + i}", channel="autodialed",
                                       purpose="informational", started_at=base, outcome="machine")
        # An abandoned call from 31 days ago no longer counts.
        CallAttempt.objects.create(campaign=campaign, number="+12125553000", channel="autodialed",
                                   purpose="informational", started_at=WEEKDAY_AFTERNOON - dt.timedelta(days=31),
                                   outcome="abandoned")
        for i in range(2):
            CallAttempt.objects.create(campaign=campaign, number=f"+1212555{3001 + i}", channel="autodialed",
                                       purpose="informational", started_at=base, outcome="abandoned")
        rate = campaign_abandonment_rate(campaign=campaign, at=WEEKDAY_AFTERNOON)
    assert (rate.abandoned, rate.live_answered, rate.status) == (2, 99, "ok")
    assert decide(world.bobs, NY, purpose="informational", channel="autodialed", campaign=campaign).allowed
    with tenant_context(world.bobs):
        CallAttempt.objects.create(campaign=campaign, number="+12125553009", channel="autodialed",
                                   purpose="informational", started_at=base, outcome="abandoned")
        rate = campaign_abandonment_rate(campaign=campaign, at=WEEKDAY_AFTERNOON)
    assert (rate.abandoned, rate.live_answered, rate.status) == (3, 100, "stop")
    assert decide(world.bobs, NY, purpose="informational", channel="autodialed",
                  campaign=campaign).codes == {"abandonment_cap"}
    # A person dialing by hand is not predictive dialing; nor is the dialer's progressive
    # fallback (one line per ready agent), which goes on at the cap.
    assert decide(world.bobs, NY, purpose="informational", channel="voice", campaign=campaign).allowed
    assert decide(world.bobs, NY, purpose="informational", channel="autodialed", campaign=campaign,
                  dial_mode="predictive").codes == {"abandonment_cap"}
    assert decide(world.bobs, NY, purpose="informational", channel="autodialed", campaign=campaign,
                  dial_mode="progressive").allowed


def test_the_search_path_is_left_alone(world, decide):
    decide(world.bobs, NY)
    assert connection.schema_name == "public"
