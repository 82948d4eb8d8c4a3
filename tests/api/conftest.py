"""The API's world: a key for each client (every scope), and in each client's schema a message, a
call with a recording, a team with a rotation and an override, a DNC entry and a consent.
Bob's Plumbing is the caller; Charlie's Clinic the stranger whose ids must stay unseen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import CallRecord, Message, Override, Person, Rotation, RotationMember, Team
from api.models import Scope
from api.services.keys import api_key_create
from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from calendars.selectors import appointment_slots
from calendars.services.booking import appointment_book
from campaigns.models import CallAttempt, Campaign, Contact, ContactImport, ContactList
from campaigns.services.lifecycle import campaign_create
from compliance.models import Consent, DncEntry
from switchboard.redis_clients import redis_client
from tests.conftest import BOB_HOST, CHARLIE_HOST

ALL_SCOPES = list(Scope.values)
TABLES = (Message, CallRecord, Person, Team, Override, DncEntry, Consent, Campaign, ContactList, Contact,
          ContactImport, CallAttempt, Calendar, AppointmentType, Appointment)


@pytest.fixture(autouse=True)
def _fresh_api_counters():
    """Rate and spend counters live in Redis, beyond the test's transaction: each test starts at zero."""
    redis = redis_client(timeout=5)
    keys = list(redis.scan_iter(match="api:*", count=1000))
    if keys:
        redis.delete(*keys)


class Api:
    """A test client on one host sending one key: ``api.get("/api/v1/messages")``."""

    def __init__(self, host: str, plain: str | None):
        self.http = HttpClient(HTTP_HOST=host)
        self.headers = {"Authorization": f"Bearer {plain}"} if plain else {}

    def _headers(self, extra: dict) -> dict:
        # HTTP_IF_NONE_MATCH=… or {"If-None-Match": …}, as a test finds clearer.
        named = {(k[5:].replace("_", "-").title() if k.startswith("HTTP_") else k): v for k, v in extra.items()}
        return {**self.headers, **named}

    def get(self, path: str, data=None, **headers):
        return self.http.get(path, data, headers=self._headers(headers))

    def post(self, path: str, body: dict | None = None, **headers):
        return self.http.post(path, json.dumps(body or {}), content_type="application/json",
                              headers=self._headers(headers))

    def delete(self, path: str, **headers):
        return self.http.delete(path, headers=self._headers(headers))


@dataclass
class CampaignData:
    """A campaign with a list, a contact called once (no answer) and a finished import."""

    campaign: Campaign
    contact_list: ContactList
    contact: Contact
    contact_import: ContactImport


def make_campaign_data(*, name: str, number: str) -> CampaignData:
    """In the current schema."""
    campaign = campaign_create(name=f"{name} reminders", purpose="informational")
    contact_list = ContactList.objects.create(campaign=campaign, name=f"{name}'s list")
    contact = Contact.objects.create(campaign=campaign, list=contact_list, number=number, first_name=name,
                                     status=Contact.Status.RETRY, attempts=1, last_outcome="no_answer")
    CallAttempt.objects.create(campaign=campaign, contact=contact, number=number, channel="autodialed",
                               purpose="informational", started_at=timezone.now() - timedelta(hours=1),
                               ended_at=timezone.now() - timedelta(hours=1), outcome="no_answer")
    job = ContactImport.objects.create(list=contact_list, filename=f"{name}.csv", data=b"", mapping={"Phone": "number"},
                                       added_by="test", status=ContactImport.Status.DONE, rows_total=3, rows_done=3,
                                       added=1, errors=[{"line": 3, "field": "number", "reason": f"{name}'s bad row"}],
                                       errors_count=1, finished=timezone.now())
    return CampaignData(campaign=campaign, contact_list=contact_list, contact=contact, contact_import=job)


@dataclass
class AppointmentData:
    """A calendar open around the clock, a half-hour type asking a reason, and one booking."""

    calendar: Calendar
    type: AppointmentType
    appointment: Appointment


def make_appointment_data(*, name: str) -> AppointmentData:
    """In the current schema. No number on the booking: it records no consent (the consents list stays as made)."""
    calendar = Calendar.objects.create(name=f"{name}'s desk")
    WorkingHours.objects.bulk_create([WorkingHours(calendar=calendar, weekday=d, start=time(0), end=time(23, 59, 59))
                                      for d in range(7)])
    type_ = AppointmentType.objects.create(name=f"{name} visit", duration_minutes=30, step_minutes=30,
                                           min_notice_minutes=60, horizon_days=30,
                                           intake_fields=[{"name": "reason", "label": "Reason", "type": "text",
                                                           "required": True}])
    type_.calendars.add(calendar)
    slot = appointment_slots(type_, count=1)[0]
    appointment = appointment_book(type_=type_, calendar=calendar, start=slot.start, by="test", name=f"{name} Patient",
                                   answers={"reason": "Check-up"})
    return AppointmentData(calendar=calendar, type=type_, appointment=appointment)


@dataclass
class Data:
    message: Message
    call: CallRecord
    person: Person
    team: Team
    override: Override
    dnc: DncEntry
    consent: Consent
    campaign: CampaignData | None = None
    appointments: AppointmentData | None = None


def _bump_sequences(schema: str, above: str) -> None:
    """``schema``'s next ids beyond any ``above`` has: a 404 for the other's id is isolation, not luck."""
    with schema_context(above):
        top = {m: (m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) for m in TABLES}
    with schema_context(schema), connection.cursor() as cursor:
        for model, highest in top.items():
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s, "
                           f"(SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)})) + 1000)",
                           [table, highest])


def make_data(schema: str, *, name: str, number: str) -> Data:
    with schema_context(schema):
        now = timezone.now()
        call = CallRecord.objects.create(call_sid=f"CA{schema[:8]:0<32}"[:34], caller=number, number_dialed="+12125550111",
                                         arrived_at=now - timedelta(minutes=10), answered_at=now - timedelta(minutes=9),
                                         ended_at=now - timedelta(minutes=5), wait_seconds=12, talk_seconds=240,
                                         outcome=CallRecord.Outcome.ANSWERED, recording_sid="RE" + "1" * 32,
                                         recording_duration=240)
        message = Message.objects.create(caller=number, callback_number=number, caller_name=name, call=call,
                                         fields={"problem": f"{name}'s problem"}, urgency="urgent",
                                         category="emergency")
        person = Person.objects.create(name=f"{name} Tech", mobile="+12125550161")
        team = Team.objects.create(name=f"{name} team")
        rotation = Rotation.objects.create(team=team, period=Rotation.Period.DAILY, handover_time=time(8),
                                           starts_on=timezone.localdate() - timedelta(days=3))
        RotationMember.objects.create(rotation=rotation, person=person, position=1)
        override = Override.objects.create(team=team, person=person, starts=now + timedelta(days=1),
                                           ends=now + timedelta(days=2), note="cover")
        dnc = DncEntry.objects.create(number="+12125557777", source="portal", added_by="test")
        consent = Consent.objects.create(number="+12125558888", kind="express", source="web_form",
                                         obtained_at=now - timedelta(days=1))
        return Data(message=message, call=call, person=person, team=team, override=override, dnc=dnc, consent=consent,
                    campaign=make_campaign_data(name=name, number=number),
                    appointments=make_appointment_data(name=name))


@pytest.fixture
def charlies_data(world) -> Data:
    return make_data("charlieclinic", name="Charlie", number="+13125550199")


@pytest.fixture
def bobs_data(world, charlies_data) -> Data:
    _bump_sequences("bobsplumbing", above="charlieclinic")
    return make_data("bobsplumbing", name="Bob", number="+12125550147")


@pytest.fixture
def bob_key(world):
    return api_key_create(client=world.bobs, name="Bob's CRM", scopes=ALL_SCOPES, expires_at=None, by="bob@bobs.test")


@pytest.fixture
def charlie_key(world):
    return api_key_create(client=world.charlies, name="Charlie's EHR", scopes=ALL_SCOPES, expires_at=None,
                          by="charlie@charlies.test")


@pytest.fixture
def bob_api(bob_key) -> Api:
    return Api(BOB_HOST, bob_key[1])


@pytest.fixture
def key_for(world):
    """key_for(client, scopes=..., expires_at=...) -> an Api on the client's host with a new key."""

    def make(client, *, scopes=None, expires_at=None, host: str | None = None) -> Api:
        _, plain = api_key_create(client=client, name="test", scopes=scopes or ALL_SCOPES, expires_at=expires_at,
                                  by="test")
        return Api(host or (BOB_HOST if client.schema_name == "bobsplumbing" else CHARLIE_HOST), plain)

    return make


def problem(response) -> dict:
    """The body of a problem answer, checked to be one."""
    assert response["Content-Type"] == "application/problem+json", (response.status_code, response.content[:300])
    body = json.loads(response.content)
    assert body["status"] == response.status_code and body["type"].startswith("urn:switchboard:problem:")
    assert body["title"] and body["detail"] and "instance" in body
    return body
