"""Isolation: with Bob's key on Bob's host, every operation asked for Charlie's objects (ids that
exist in Charlie's schema, never in Bob's) answers 404, and no list shows anything of Charlie's."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def test_every_operation_on_charlies_ids_is_404(bobs_data, charlies_data, bob_api):
    c = charlies_data
    asked = [
        ("get", f"/api/v1/messages/{c.message.pk}"),
        ("post", f"/api/v1/messages/{c.message.pk}/acknowledge"),
        ("get", f"/api/v1/calls/{c.call.pk}"),
        ("get", f"/api/v1/calls/{c.call.pk}/recording"),
        ("get", f"/api/v1/oncall/teams/{c.team.pk}"),
        ("post", f"/api/v1/oncall/teams/{c.team.pk}/overrides"),
        ("delete", f"/api/v1/oncall/overrides/{c.override.pk}"),
    ]
    for method, path in asked:
        response = getattr(bob_api, method)(path)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, path, response.content[:200])
        problem(response)
    # An override for Bob's team naming Charlie's person: refused by field, nothing made.
    response = bob_api.post(f"/api/v1/oncall/teams/{bobs_data.team.pk}/overrides", {
        "person": c.person.pk, "starts": "2030-01-01T10:00:00Z", "ends": "2030-01-01T12:00:00Z"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert problem(response)["errors"] == [{"field": "person", "message": "No such person."}]


def test_lists_show_only_bobs(bobs_data, charlies_data, bob_api):
    def ids(path):
        response = bob_api.get(path)
        assert response.status_code == HTTPStatus.OK, response.content[:300]
        body = json.loads(response.content)
        return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}

    b, c = bobs_data, charlies_data
    assert ids("/api/v1/messages") == {b.message.pk}
    assert ids("/api/v1/calls") == {b.call.pk}
    assert ids("/api/v1/oncall/teams") == {b.team.pk}
    assert ids("/api/v1/oncall/people") == {b.person.pk}
    assert ids("/api/v1/oncall/overrides") == {b.override.pk}
    assert ids("/api/v1/dnc") == {b.dnc.pk}
    assert ids("/api/v1/consents") == {b.consent.pk}
    assert c.message.pk not in ids("/api/v1/messages?q=Charlie")
    # Bob's dnc/remove acts on Bob's list only: Charlie's entry for the same number stays.
    assert bob_api.post("/api/v1/dnc/remove", {"number": "+12125557777"}).status_code == HTTPStatus.OK
    from django_tenants.utils import schema_context

    from compliance.models import DncEntry
    with schema_context("charlieclinic"):
        assert DncEntry.objects.get(pk=c.dnc.pk).removed_at is None


def test_charlies_key_on_bobs_host_sees_nothing(bobs_data, charlie_key):
    from tests.api.conftest import Api
    from tests.conftest import BOB_HOST

    api = Api(BOB_HOST, charlie_key[1])
    for path in ("/api/v1/messages", f"/api/v1/messages/{bobs_data.message.pk}", "/api/v1/calls", "/api/v1/dnc",
                 "/api/v1/oncall/teams"):
        response = api.get(path)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, path
        assert bobs_data.message.caller_name.encode() not in response.content


@pytest.fixture
def webhooks_of_both(world):
    """An endpoint with a delivery in each schema; Charlie's ids are beyond any Bob's schema has."""
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

    made = {}
    for schema in ("bobsplumbing", "charlieclinic"):
        with schema_context(schema):
            endpoint = WebhookEndpoint.objects.create(url=f"https://{schema}.example/hooks", description=schema)
            event = WebhookMessage.objects.create(type="message.created", payload={"id": 1})
            delivery = WebhookDelivery.objects.create(message=event, endpoint=endpoint, next_at=timezone.now(),
                                                      status=WebhookDelivery.Status.FAILED)
            made[schema] = (endpoint, delivery)
        if schema == "bobsplumbing":  # Charlie's next ids: far beyond Bob's
            with schema_context("charlieclinic"), connection.cursor() as cursor:
                for row in (endpoint, event, delivery):
                    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                                   [row._meta.db_table, row.pk + 100_000])
    with schema_context("bobsplumbing"):
        assert not WebhookEndpoint.objects.filter(pk=made["charlieclinic"][0].pk).exists()
        assert not WebhookDelivery.objects.filter(pk=made["charlieclinic"][1].pk).exists()
    return made


def test_webhook_operations_on_charlies_ids_are_404_and_change_nothing(webhooks_of_both, bob_api):
    from django_tenants.utils import schema_context

    from webhooks.models import WebhookDelivery, WebhookEndpoint

    endpoint, delivery = webhooks_of_both["charlieclinic"]
    e, d = f"/api/v1/webhook-endpoints/{endpoint.pk}", f"/api/v1/webhook-deliveries/{delivery.pk}"
    asked = [("get", e), ("delete", e), ("post", f"{e}/rotate-secret"), ("post", f"{e}/enable"),
             ("post", f"{e}/disable"), ("get", f"{e}/deliveries"), ("get", d), ("post", f"{d}/resend")]
    for method, path in asked:
        response = getattr(bob_api, method)(path)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, path, response.content[:200])
        assert endpoint.url.encode() not in response.content
        problem(response)
    patched = bob_api.http.patch(e, json.dumps({"description": "Bob's now"}), content_type="application/json",
                                 headers=bob_api.headers)
    assert patched.status_code == HTTPStatus.NOT_FOUND
    listed = json.loads(bob_api.get("/api/v1/webhook-endpoints").content)["results"]
    assert [row["id"] for row in listed] == [webhooks_of_both["bobsplumbing"][0].pk]
    with schema_context("charlieclinic"):
        kept = WebhookEndpoint.objects.get(pk=endpoint.pk)
        assert (kept.secret, kept.active, kept.description) == (endpoint.secret, True, "charlieclinic")
        assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.FAILED


def test_charlies_key_on_bobs_host_sees_no_webhooks(webhooks_of_both, charlie_key):
    from tests.api.conftest import Api
    from tests.conftest import BOB_HOST

    api = Api(BOB_HOST, charlie_key[1])
    bobs_endpoint, bobs_delivery = webhooks_of_both["bobsplumbing"]
    for path in ("/api/v1/webhook-endpoints", f"/api/v1/webhook-endpoints/{bobs_endpoint.pk}",
                 f"/api/v1/webhook-deliveries/{bobs_delivery.pk}"):
        response = api.get(path)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, path
        assert bobs_endpoint.url.encode() not in response.content


def test_appointment_operations_on_charlies_ids_are_404_and_change_nothing(bobs_data, charlies_data, bob_api):
    from django_tenants.utils import schema_context

    from calendars.models import Appointment

    b, c = bobs_data.appointments, charlies_data.appointments
    mine = {"name": "Bob's patient", "answers": {"reason": "x"}}
    start = c.appointment.start.isoformat()
    for method, path, payload in [
        ("get", f"/api/v1/appointments/{c.appointment.pk}", None),
        ("post", f"/api/v1/appointments/{c.appointment.pk}/reschedule", {"start": start}),
        ("post", f"/api/v1/appointments/{c.appointment.pk}/cancel", {"reason": "Bob says so"}),
    ]:
        response = getattr(bob_api, method)(path, payload) if payload else getattr(bob_api, method)(path)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, path, response.content[:200])
        assert c.appointment.name.encode() not in response.content
        problem(response)
    # Charlie's type or calendar named in Bob's booking or search: refused by field, nothing made.
    response = bob_api.post("/api/v1/appointments", {**mine, "type": c.type.pk, "calendar": b.calendar.pk,
                                                     "start": start})
    assert response.status_code == HTTPStatus.BAD_REQUEST and problem(response)["errors"][0]["field"] == "type"
    response = bob_api.post("/api/v1/appointments", {**mine, "type": b.type.pk, "calendar": c.calendar.pk,
                                                     "start": start})
    assert response.status_code == HTTPStatus.BAD_REQUEST and problem(response)["errors"][0]["field"] == "calendar"
    response = bob_api.get("/api/v1/appointments/slots", {"type": c.type.pk})
    assert response.status_code == HTTPStatus.BAD_REQUEST and problem(response)["errors"][0]["field"] == "type"
    response = bob_api.get("/api/v1/appointments/slots", {"type": b.type.pk, "calendar": c.calendar.pk})
    assert response.status_code == HTTPStatus.BAD_REQUEST and problem(response)["errors"][0]["field"] == "calendar"

    def ids(path):
        return {row["id"] for row in json.loads(bob_api.get(path).content)["results"]}

    assert ids("/api/v1/appointments") == {b.appointment.pk}
    assert ids(f"/api/v1/appointments?calendar={c.calendar.pk}") == set()
    assert ids("/api/v1/calendars") == {b.calendar.pk}
    assert ids("/api/v1/appointment-types") == {b.type.pk}
    with schema_context("charlieclinic"):
        assert Appointment.objects.get(pk=c.appointment.pk).status == "booked"
        assert list(Appointment.objects.values_list("pk", flat=True)) == [c.appointment.pk]


def test_charlies_key_on_bobs_host_sees_no_appointments(bobs_data, charlie_key):
    from tests.api.conftest import Api
    from tests.conftest import BOB_HOST

    api = Api(BOB_HOST, charlie_key[1])
    b = bobs_data.appointments
    for path in ("/api/v1/appointments", f"/api/v1/appointments/{b.appointment.pk}", "/api/v1/calendars",
                 f"/api/v1/appointments/slots?type={b.type.pk}"):
        response = api.get(path)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, path
        assert b.appointment.name.encode() not in response.content


def test_contacts_and_campaigns_of_charlie_are_404_and_unlisted(bobs_data, charlies_data, bob_api):
    from django_tenants.utils import schema_context

    from campaigns.models import Campaign, ContactImport

    c, b = charlies_data.campaign, bobs_data.campaign
    asked = [
        ("get", f"/api/v1/contact-lists/{c.contact_list.pk}"),
        ("post", f"/api/v1/contact-lists/{c.contact_list.pk}/imports"),
        ("get", f"/api/v1/imports/{c.contact_import.pk}"),
        ("get", f"/api/v1/contacts/{c.contact.pk}"),
        ("get", f"/api/v1/campaigns/{c.campaign.pk}"),
        ("post", f"/api/v1/campaigns/{c.campaign.pk}/start"),
        ("post", f"/api/v1/campaigns/{c.campaign.pk}/pause"),
        ("get", f"/api/v1/campaigns/{c.campaign.pk}/results"),
    ]
    for method, path in asked:
        response = getattr(bob_api, method)(path)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, path, response.content[:200])
        assert b"Charlie" not in response.content
        problem(response)
    # A list for Charlie's campaign id is refused by field, in Bob's schema: nothing made anywhere.
    response = bob_api.post("/api/v1/contact-lists", {"campaign": c.campaign.pk, "name": "Stolen"})
    assert problem(response)["errors"] == [{"field": "campaign", "message": "No such campaign."}]

    def ids(path, **params):
        response = bob_api.get(path, params)
        assert response.status_code == HTTPStatus.OK, response.content[:300]
        return {row["id"] for row in json.loads(response.content)["results"]}

    assert ids("/api/v1/contact-lists") == {b.contact_list.pk}
    assert ids("/api/v1/contacts") == {b.contact.pk}
    assert ids("/api/v1/contacts", campaign=c.campaign.pk) == set()
    assert ids("/api/v1/contacts", q="Charlie") == set()
    assert ids("/api/v1/campaigns") == {b.campaign.pk}
    with schema_context("charlieclinic"):
        assert Campaign.objects.get(pk=c.campaign.pk).state == "draft"
        assert ContactImport.objects.filter(list=c.contact_list).count() == 1


def test_charlies_key_on_bobs_host_sees_no_contacts_or_campaigns(bobs_data, charlie_key):
    from tests.api.conftest import Api
    from tests.conftest import BOB_HOST

    api = Api(BOB_HOST, charlie_key[1])
    b = bobs_data.campaign
    for path in ("/api/v1/contacts", f"/api/v1/contacts/{b.contact.pk}", "/api/v1/contact-lists",
                 f"/api/v1/imports/{b.contact_import.pk}", "/api/v1/campaigns", f"/api/v1/campaigns/{b.campaign.pk}",
                 f"/api/v1/campaigns/{b.campaign.pk}/results"):
        response = api.get(path)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, path
        assert b"Bob" not in response.content
