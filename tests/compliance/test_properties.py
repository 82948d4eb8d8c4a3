"""Properties of the gate, for any number, client, time and data (hypothesis):

- it never allows a number on an applicable DNC list without a valid exemption;
- it never allows a call outside any candidate location's window;
- the batch scrub agrees with the single decision on every number.

The checks below recompute what they need independently of the gate's code: time zones
straight from ``phonenumbers``, exemptions from the generated data.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import phonenumbers
import pytest
from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as pn_timezone

from campaigns.models import CallAttempt
from compliance.models import Consent, DncEntry
from compliance.platform.models import AreaCode, PlatformDncEntry, RegistryLoad, RegistryNumber, UsState
from compliance.rules import Channel, OptOutSource, Purpose
from compliance.services import contact_decide, contacts_scrub

pytestmark = pytest.mark.django_db

# Area codes with every shape of trouble: split zones, strict states, toll-free, Canada, Hawaii.
AREA_CODES = ["212", "305", "850", "918", "405", "601", "605", "701", "775", "986", "907", "928", "808", "800", "416"]
POOL = [f"+1{npa}55501{line:02d}" for npa in AREA_CODES for line in (10, 11)]
STATES = [None, None, "FL", "OK", "NY", "CA", "MS", "ZZ"]
EBR_DAYS = {"ebr_transaction": 540, "ebr_inquiry": 89}  # safely inside 18 and 3 months


@st.composite
def instants(draw):
    """Any minute of 2024–2026, weighted toward the windows' edges in US zones (UTC 0–3 h is
    evening, 12–16 h morning)."""
    day = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31)))
    hour = draw(st.one_of(st.sampled_from([0, 0, 1, 1, 2, 3, 12, 13, 14, 15, 16, 18]), st.integers(0, 23)))
    return dt.datetime.combine(day, dt.time(hour, draw(st.integers(0, 59))), tzinfo=dt.timezone.utc)


@st.composite
def worlds(draw):
    at = draw(instants())
    numbers = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=8, unique=True))
    data = {}
    for number in numbers:
        data[number] = draw(st.fixed_dictionaries({
            "client_dnc": st.sampled_from([None] * 4 + [OptOutSource.PORTAL, OptOutSource.SMS_KEYWORD]),
            "platform_dnc": st.sampled_from([False] * 4 + [True]),
            "registry": st.sampled_from([False, False, True]),
            "consents": st.lists(st.tuples(st.sampled_from(Consent.Kind.values),
                                           st.sampled_from([1, 10, 80, 100, 500, 560]),
                                           st.booleans()),  # expired
                                 max_size=2),
            "attempts": st.sampled_from([0, 0, 0, 1, 2, 3, 7, 8]),
            "address": st.sampled_from(STATES),
        }))
    return {
        "at": at, "data": data,
        "purpose": draw(st.sampled_from(Purpose.values + [Purpose.TELEMARKETING] * 2)),
        "channel": draw(st.sampled_from(Channel.values + [Channel.VOICE] * 2)),
        "registry_age": draw(st.sampled_from([None, 0, 5, 31, 31, 32])),
        "bobs": draw(st.booleans()),
    }


def _seed(client, other, w):
    at = w["at"]
    if w["registry_age"] is not None:
        RegistryLoad.objects.create(file_name="prop.txt", kind="full", file_date=at.date() - dt.timedelta(days=w["registry_age"]))
    for number, d in w["data"].items():
        if d["platform_dnc"]:
            PlatformDncEntry.objects.create(number=number)
        if d["registry"]:
            RegistryNumber.objects.get_or_create(number=int(number[2:]))
        with tenant_context(client):
            if d["client_dnc"]:
                DncEntry.objects.create(number=number, source=d["client_dnc"], added_by="prop")
            for kind, days, expired in d["consents"]:
                Consent.objects.create(number=number, kind=kind, source="web_form", obtained_at=at - dt.timedelta(days=days),
                                       expires_at=at - dt.timedelta(hours=1) if expired else None)
            for i in range(d["attempts"]):
                CallAttempt.objects.create(number=number, channel="voice", purpose=w["purpose"], subject=w["purpose"],
                                           started_at=at - dt.timedelta(hours=2 + 3 * i))
        # The other client's opposite data must change nothing.
        with tenant_context(other):
            DncEntry.objects.get_or_create(number=number, removed_at=None,
                                           defaults={"source": OptOutSource.PORTAL, "added_by": "other"})


def _exempt(d, at) -> bool:
    for kind, days, expired in d["consents"]:
        if expired:
            continue
        if kind == "express_written" or (kind in EBR_DAYS and days < EBR_DAYS[kind]):
            return True
    return False


def _candidate_zones(number: str, state: str | None) -> set[str]:
    zones = set(pn_timezone.time_zones_for_number(phonenumbers.parse(number))) - {"Etc/Unknown"}
    if state:
        zones |= set(UsState.objects.filter(code=state).values_list("time_zones", flat=True).first() or ())
    return zones


def _candidate_states(number: str, state: str | None) -> set[str]:
    states = set(AreaCode.objects.filter(code=int(number[2:5])).values_list("state_id", flat=True))
    return states | ({state} if state else set())


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(w=worlds())
def test_the_gate_never_allows_what_the_law_forbids_and_the_scrub_always_agrees(world, w):
    client, other = (world.bobs, world.charlies) if w["bobs"] else (world.charlies, world.bobs)
    at, purpose, channel = w["at"], w["purpose"], w["channel"]
    with transaction.atomic():
        _seed(client, other, w)
        with tenant_context(client):
            decisions = {n: contact_decide(client=client, number=n, purpose=purpose, channel=channel, at=at,
                                           contact_address=d["address"], asked_by="prop") for n, d in w["data"].items()}
            scrub = contacts_scrub(client=client, contacts=[(n, d["address"]) for n, d in w["data"].items()],
                                   purpose=purpose, channel=channel, at=at, asked_by="prop")
        for row, (number, decision) in zip(scrub.rows, decisions.items()):
            assert row.number == number
            assert (row.allowed, set(row.codes)) == (decision.allowed, decision.codes), number
            if not decision.allowed or purpose == Purpose.STAFF:
                continue
            d = w["data"][number]
            # Lists: never on an applicable list without a valid exemption.
            assert not d["client_dnc"] and not d["platform_dnc"]
            if purpose == Purpose.TELEMARKETING:
                assert w["registry_age"] is not None and w["registry_age"] <= 31
                assert not d["registry"] or _exempt(d, at)
            # Hours: inside the window of every candidate location.
            zones = _candidate_zones(number, d["address"])
            assert zones
            strict = purpose == Purpose.TELEMARKETING and _candidate_states(number, d["address"]) & {"FL", "OK"}
            for zone in zones:
                local = at.astimezone(zoneinfo.ZoneInfo(zone)).time()
                assert dt.time(8) <= local < (dt.time(20) if strict else dt.time(21)), (number, zone, local)
        transaction.set_rollback(True)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.sampled_from(POOL), state=st.sampled_from(STATES),
       purpose=st.sampled_from([Purpose.TELEMARKETING, Purpose.INFORMATIONAL, Purpose.DEBT_COLLECTION]),
       at=instants())
def test_the_gate_never_allows_a_call_outside_any_candidate_locations_window(world, number, state, purpose, at):
    """Hours alone: no lists, fresh registry, a live call (no consent needed), so time and place decide."""
    with transaction.atomic():
        RegistryLoad.objects.create(file_name="prop.txt", kind="full", file_date=at.date())
        with tenant_context(world.bobs):
            decision = contact_decide(client=world.bobs, number=number, purpose=purpose, channel=Channel.VOICE, at=at,
                                      contact_address=state, asked_by="prop")
        transaction.set_rollback(True)
    if not decision.allowed:
        return
    zones = _candidate_zones(number, state)
    assert zones
    strict = purpose == Purpose.TELEMARKETING and _candidate_states(number, state) & {"FL", "OK"}
    for zone in zones:
        local = at.astimezone(zoneinfo.ZoneInfo(zone))
        assert dt.time(8) <= local.time() < (dt.time(20) if strict else dt.time(21)), (zone, local)
        if purpose == Purpose.TELEMARKETING and "MS" in _candidate_states(number, state):
            assert local.weekday() != 6
