"""The appointments group: calendars and types, the slot search, book → list → reschedule → cancel
with their history, webhook events, consent and the spending cap; a taken slot (409 with the next
free ones); refusals naming the field; scopes; and, on threads of their own with committed data,
one booking however many systems race for a slot or retry with one Idempotency-Key."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
import zoneinfo
from http import HTTPStatus

import pytest
from django.db import connection, connections
from django.test import override_settings
from django_tenants.utils import schema_context

from api.models import ApiKey
from api.services.keys import api_key_create
from api.spend import spend_used
from calendars.models import Appointment, AppointmentNotice, Calendar, ReminderRule, WorkingHours
from compliance.models import Consent
from tenants import services
from tenants.models import Client
from tests.api.conftest import ALL_SCOPES, Api, problem
from webhooks.models import WebhookEndpoint, WebhookMessage


def body(response) -> dict | list:
    assert response.status_code < 300, (response.status_code, response.content[:400])
    return json.loads(response.content)


def fields(response) -> set:
    return {e["field"] for e in problem(response)["errors"]}


def offset_is_the_zones(text: str, zone: str) -> bool:
    """``text`` is an ISO instant whose offset is ``zone``'s at that instant."""
    at = dt.datetime.fromisoformat(text)
    return at.utcoffset() == at.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()


@pytest.fixture
def bobs(bobs_data):
    """Bob's desk and a second calendar in Berlin offering the same type; texts confirm each booking;
    an endpoint wants every event."""
    a = bobs_data.appointments
    with schema_context("bobsplumbing"):
        berlin = Calendar.objects.create(name="Bob's Berlin desk", time_zone="Europe/Berlin")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=berlin, weekday=d, start=dt.time(0),
                                                       end=dt.time(23, 59, 59)) for d in range(7)])
        a.type.calendars.add(berlin)
        ReminderRule.objects.create(kind=ReminderRule.Kind.CONFIRMATION, channel="sms", minutes_before=0)
        WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", event_types=[])
    return a, berlin


@pytest.mark.django_db
def test_search_book_list_reschedule_cancel(bobs, bob_api, world):
    a, berlin = bobs
    calendars = body(bob_api.get("/api/v1/calendars"))["results"]
    desk = next(c for c in calendars if c["id"] == a.calendar.pk)
    assert desk["time_zone"] == "America/New_York" and desk["types"][0]["name"] == "Bob visit"
    types = body(bob_api.get("/api/v1/appointment-types"))["results"]
    assert types[0]["intake_fields"][0]["name"] == "reason"
    assert sorted(types[0]["calendars"]) == sorted([a.calendar.pk, berlin.pk])

    slots = body(bob_api.get("/api/v1/appointments/slots", {"type": a.type.pk, "count": 6}))
    assert len(slots) == 6
    assert all(offset_is_the_zones(s["start"], s["time_zone"]) for s in slots)
    assert {s["calendar"] for s in slots} == {a.calendar.pk, berlin.pk}  # both calendars offer it
    booked_start = dt.datetime.fromisoformat(a.appointment.start.isoformat())
    mine = [s for s in slots if s["calendar"] == a.calendar.pk]
    assert all(dt.datetime.fromisoformat(s["start"]) != booked_start for s in mine)  # the fixture's is taken
    first = mine[0]

    made = bob_api.post("/api/v1/appointments", {
        "type": a.type.pk, "calendar": first["calendar"], "start": first["start"], "name": "Pat Lee",
        "phone": "(212) 555-0142", "answers": {"reason": "Leaking tap"}})
    assert made.status_code == HTTPStatus.CREATED, made.content[:400]
    booked = json.loads(made.content)
    assert made["Location"] == f"/api/v1/appointments/{booked['id']}"
    assert (booked["status"], booked["start"], booked["phone"]) == ("booked", first["start"], "+12125550142")
    assert booked["answers"] == {"reason": "Leaking tap"} and booked["booked_by"].startswith("API key sb_")
    assert [e["kind"] for e in booked["history"]] == ["booked"]
    with schema_context("bobsplumbing"):
        # As any booking: its confirmation queued, the number's consent recorded, the event announced.
        assert AppointmentNotice.objects.filter(appointment_id=booked["id"], channel="sms").count() == 1
        assert Consent.objects.filter(number="+12125550142", kind="express").exists()
        assert WebhookMessage.objects.filter(type="appointment.booked", subject=f"appointment:{booked['id']}").exists()
    assert spend_used(world.bobs, "texts") == 1  # the confirmation, taken from the hourly cap

    listed = bob_api.get("/api/v1/appointments", {"calendar": a.calendar.pk})
    assert [r["id"] for r in body(listed)["results"]] == [booked["id"], a.appointment.pk]  # newest first
    tag = listed["ETag"]
    assert bob_api.get("/api/v1/appointments", {"calendar": a.calendar.pk}, HTTP_IF_NONE_MATCH=tag).status_code \
        == HTTPStatus.NOT_MODIFIED

    later = next(s for s in slots if s["calendar"] == berlin.pk)
    moved = bob_api.post(f"/api/v1/appointments/{booked['id']}/reschedule",
                         {"start": later["start"], "calendar": berlin.pk, "reason": "Asked by Pat"})
    moved_body = body(moved)
    assert (moved_body["calendar"], moved_body["start"], moved_body["time_zone"]) == (berlin.pk, later["start"],
                                                                                      "Europe/Berlin")
    rescheduled = moved_body["history"][-1]
    assert rescheduled["kind"] == "rescheduled" and rescheduled["detail"] == "Asked by Pat"
    assert dt.datetime.fromisoformat(rescheduled["data"]["before"]["start"]) == dt.datetime.fromisoformat(first["start"])
    assert spend_used(world.bobs, "texts") == 2  # a new confirmation for the new time
    # A cancellation changes no ``updated``, but the list's tag moves all the same (history entries).
    assert bob_api.get("/api/v1/appointments", {"calendar": a.calendar.pk}, HTTP_IF_NONE_MATCH=tag).status_code \
        == HTTPStatus.OK

    refused = bob_api.post(f"/api/v1/appointments/{booked['id']}/cancel", {"reason": "  "})
    assert refused.status_code == HTTPStatus.BAD_REQUEST and fields(refused) == {"reason"}
    before = bob_api.get("/api/v1/appointments")["ETag"]
    cancelled = body(bob_api.post(f"/api/v1/appointments/{booked['id']}/cancel", {"reason": "Pat fixed it"}))
    assert cancelled["cancelled_now"] is True and cancelled["appointment"]["status"] == "cancelled"
    assert cancelled["appointment"]["history"][-1]["detail"] == "Pat fixed it"
    assert bob_api.get("/api/v1/appointments", HTTP_IF_NONE_MATCH=before).status_code == HTTPStatus.OK
    again = body(bob_api.post(f"/api/v1/appointments/{booked['id']}/cancel", {"reason": "twice"}))
    assert again["cancelled_now"] is False
    assert [e["kind"] for e in again["appointment"]["history"]].count("cancelled") == 1
    stuck = bob_api.post(f"/api/v1/appointments/{booked['id']}/reschedule", {"start": first["start"]})
    assert stuck.status_code == HTTPStatus.CONFLICT and problem(stuck)["type"].endswith(":not-booked")
    with schema_context("bobsplumbing"):
        assert WebhookMessage.objects.filter(subject=f"appointment:{booked['id']}").count() == 3

    assert [r["id"] for r in body(bob_api.get("/api/v1/appointments", {"status": "cancelled"}))["results"]] \
        == [booked["id"]]
    shown = body(bob_api.get(f"/api/v1/appointments/{booked['id']}"))
    changes = [e["kind"] for e in shown["history"] if e["kind"] in ("booked", "rescheduled", "cancelled")]
    assert changes == ["booked", "rescheduled", "cancelled"]
    # The time is free again: the search offers it.
    free = body(bob_api.get("/api/v1/appointments/slots", {"type": a.type.pk, "calendar": berlin.pk,
                                                            "after": later["start"], "count": 1}))
    assert free[0]["start"] == later["start"]


@pytest.mark.django_db
def test_list_days_are_the_clients(bobs, bob_api):
    a, _ = bobs
    day = a.appointment.start.astimezone(zoneinfo.ZoneInfo("America/New_York")).date()
    on = body(bob_api.get("/api/v1/appointments", {"since": day.isoformat(), "until": day.isoformat()}))
    assert [r["id"] for r in on["results"]] == [a.appointment.pk]
    after = body(bob_api.get("/api/v1/appointments", {"since": (day + dt.timedelta(days=1)).isoformat()}))
    assert after["results"] == []
    backwards = bob_api.get("/api/v1/appointments", {"since": day.isoformat(),
                                                     "until": (day - dt.timedelta(days=1)).isoformat()})
    assert backwards.status_code == HTTPStatus.BAD_REQUEST and fields(backwards) == {"until"}


@pytest.mark.django_db
def test_a_taken_slot_is_409_with_the_next_free_ones(bobs, bob_api):
    a, _ = bobs
    taken = a.appointment
    response = bob_api.post("/api/v1/appointments", {
        "type": a.type.pk, "calendar": a.calendar.pk, "start": taken.start.isoformat(), "name": "Late Larry",
        "answers": {"reason": "Too late"}})
    assert response.status_code == HTTPStatus.CONFLICT
    found = problem(response)
    assert found["type"] == "urn:switchboard:problem:slot-taken" and found["title"] == "Just taken"
    assert found["alternatives"] and all(dt.datetime.fromisoformat(s["start"]) != taken.start
                                         for s in found["alternatives"] if s["calendar"] == a.calendar.pk)
    with schema_context("bobsplumbing"):
        assert not Appointment.objects.filter(name="Late Larry").exists()
    # One of the alternatives books.
    alt = found["alternatives"][0]
    assert bob_api.post("/api/v1/appointments", {
        "type": a.type.pk, "calendar": alt["calendar"], "start": alt["start"], "name": "Late Larry",
        "answers": {"reason": "Too late"}}).status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_refusals_name_the_field_and_write_nothing(bobs, bob_api):
    a, berlin = bobs
    slot = body(bob_api.get("/api/v1/appointments/slots", {"type": a.type.pk, "calendar": a.calendar.pk,
                                                            "count": 1}))[0]
    good = {"type": a.type.pk, "calendar": a.calendar.pk, "start": slot["start"], "name": "Pat",
            "answers": {"reason": "Tap"}}
    with schema_context("bobsplumbing"):
        before = Appointment.objects.count()
        other = Calendar.objects.create(name="Not offering")

    def refused(changes: dict, status=HTTPStatus.BAD_REQUEST) -> set:
        response = bob_api.post("/api/v1/appointments", {**good, **changes})
        assert response.status_code == status, (changes, response.content[:300])
        return fields(response)

    assert refused({"type": 999_999}) == {"type"}
    assert refused({"calendar": other.pk}) == {"calendar"}
    assert refused({"start": slot["start"][:19]}) == {"start"}  # no offset: ambiguous in a repeated hour
    assert refused({"start": "2026-13-40T09:00:00Z"}) == {"start"}
    assert refused({"start": "9999-12-31T23:59:59-12:00"}) == {"start"}
    assert refused({"name": " "}) == {"name"}
    assert refused({"phone": "12"}) == {"phone"}
    assert refused({"answers": {}}) == {"answers.reason"}
    assert refused({"answers": {"reason": "Tap", "colour": "red"}}) == {"answers.colour"}
    assert refused({"answers": {"reason": {"nested": 1}}}) == {"answers.reason"}
    not_a_slot = (dt.datetime.fromisoformat(slot["start"]) + dt.timedelta(minutes=7)).isoformat()
    response = bob_api.post("/api/v1/appointments", {**good, "start": not_a_slot})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert problem(response)["type"].endswith(":booking-refused") and fields(response) == {"start"}
    with schema_context("bobsplumbing"):
        assert Appointment.objects.count() == before

    def search_refused(params: dict) -> set:
        response = bob_api.get("/api/v1/appointments/slots", {"type": a.type.pk, **params})
        assert response.status_code == HTTPStatus.BAD_REQUEST, (params, response.content[:300])
        return fields(response)

    assert search_refused({"type": 999_999}) == {"type"}
    assert search_refused({"count": 0}) == {"count"}
    assert search_refused({"count": 51}) == {"count"}
    assert search_refused({"after": "tomorrow"}) == {"after"}
    assert search_refused({"after": "2026-06-02T09:00:00"}) == {"after"}
    assert search_refused({"calendar": other.pk}) == {"calendar"}
    with schema_context("bobsplumbing"):
        a.type.active = False
        a.type.save()
    assert search_refused({}) == {"type"}


@pytest.mark.django_db
def test_scopes(bobs, world, key_for):
    a, _ = bobs
    reader = key_for(world.bobs, scopes=["appointments:read"])
    assert reader.get("/api/v1/appointments").status_code == HTTPStatus.OK
    for path, payload in (("/api/v1/appointments", {"type": a.type.pk}),
                          (f"/api/v1/appointments/{a.appointment.pk}/cancel", {"reason": "x"}),
                          (f"/api/v1/appointments/{a.appointment.pk}/reschedule", {"start": "2030-01-01T10:00:00Z"})):
        response = reader.post(path, payload)
        assert response.status_code == HTTPStatus.FORBIDDEN, path
        assert "appointments:write" in problem(response)["detail"]
    other = key_for(world.bobs, scopes=["messages:read"])
    for path in ("/api/v1/appointments", "/api/v1/calendars", "/api/v1/appointment-types",
                 f"/api/v1/appointments/{a.appointment.pk}", f"/api/v1/appointments/slots?type={a.type.pk}"):
        response = other.get(path)
        assert response.status_code == HTTPStatus.FORBIDDEN and "appointments:read" in problem(response)["detail"]
    with schema_context("bobsplumbing"):
        assert Appointment.objects.get(pk=a.appointment.pk).status == "booked"


@pytest.mark.django_db
def test_over_the_spending_cap_nothing_is_booked(bobs, bob_api, world):
    a, _ = bobs
    slot = body(bob_api.get("/api/v1/appointments/slots", {"type": a.type.pk, "count": 1}))[0]
    with override_settings(API_SPEND_TEXTS_PER_HOUR=0):
        response = bob_api.post("/api/v1/appointments", {
            "type": a.type.pk, "calendar": slot["calendar"], "start": slot["start"], "name": "Pumped",
            "phone": "2125550143", "answers": {"reason": "x"}})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS and problem(response)["type"].endswith(":spend-cap")
    assert int(response["Retry-After"]) > 0
    with schema_context("bobsplumbing"):
        assert not Appointment.objects.filter(name="Pumped").exists()
        assert not AppointmentNotice.objects.filter(address="+12125550143").exists()
        assert not Consent.objects.filter(number="+12125550143").exists()
        assert not WebhookMessage.objects.filter(type="appointment.booked").exists()
    # Without a number nothing is texted, so nothing is taken: it books under the same cap.
    with override_settings(API_SPEND_TEXTS_PER_HOUR=0):
        assert bob_api.post("/api/v1/appointments", {
            "type": a.type.pk, "calendar": slot["calendar"], "start": slot["start"], "name": "No number",
            "answers": {"reason": "x"}}).status_code == HTTPStatus.CREATED
    assert spend_used(world.bobs, "texts") == 0


# --- Races, with committed data and a connection per thread -------------------------------------

SLUG = "apiappt"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """A client of this module's own: a calendar open around the clock, a type, a key."""
    with django_db_blocker.unblock():
        client = services.client_provision(name="Appointed Inc", slug=SLUG, time_zone="America/New_York",
                                           domain=HOST)
        _, plain = api_key_create(client=client, name="booking system", scopes=ALL_SCOPES, expires_at=None, by="t")
        with schema_context(SLUG):
            from tests.api.conftest import make_appointment_data

            made = make_appointment_data(name="Race")
    try:
        yield plain, made
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApiKey.objects.filter(client__schema_name=SLUG).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


def _together(n: int, request) -> list:
    """``request(i)`` on ``n`` threads released at once; their (status, body)."""
    answers: list = []
    start = threading.Barrier(n)

    def run(i: int):
        try:
            start.wait()
            response = request(i)
            answers.append((response.status_code, json.loads(response.content)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _next_slot(api: Api, made) -> dict:
    return body(api.get("/api/v1/appointments/slots", {"type": made.type.pk, "count": 1}))[0]


def test_concurrent_retries_with_one_key_book_once(committed, django_db_blocker):
    plain, made = committed
    key = str(uuid.uuid4())
    with django_db_blocker.unblock():
        slot = _next_slot(Api(HOST, plain), made)
        payload = {"type": made.type.pk, "calendar": slot["calendar"], "start": slot["start"], "name": "Retry Rita",
                   "answers": {"reason": "Retried"}}
        answers = _together(8, lambda i: Api(HOST, plain).post("/api/v1/appointments", payload,
                                                               HTTP_IDEMPOTENCY_KEY=key))
        assert len(answers) == 8
        assert {status for status, _ in answers} == {HTTPStatus.CREATED}, answers
        assert len({json.dumps(b, sort_keys=True) for _, b in answers}) == 1
        with schema_context(SLUG):
            assert Appointment.objects.filter(name="Retry Rita").count() == 1


def test_systems_racing_for_one_slot_book_it_once(committed, django_db_blocker):
    plain, made = committed
    with django_db_blocker.unblock():
        slot = _next_slot(Api(HOST, plain), made)
        answers = _together(6, lambda i: Api(HOST, plain).post("/api/v1/appointments", {
            "type": made.type.pk, "calendar": slot["calendar"], "start": slot["start"], "name": f"Racer {i}",
            "answers": {"reason": "Race"}}))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [HTTPStatus.CREATED] + [HTTPStatus.CONFLICT] * 5, answers
        assert all(b["alternatives"] for status, b in answers if status == HTTPStatus.CONFLICT)
        with schema_context(SLUG):
            assert Appointment.objects.filter(name__startswith="Racer", status="booked").count() == 1
