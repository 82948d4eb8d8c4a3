"""Each change announces its event, committed with it: a message taken (by script or by a
simulated call's voicemail), acknowledged; a call completed; an appointment booked, rescheduled,
cancelled; a number opted out; a campaign completed or stopped. And a delivery rule's webhook
step is that message's ``message.created`` event, sent by the same signed sender."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
import time_machine
from django.db import transaction

from answering.messages import acknowledge, delivery
from answering.models import Delivery, DeliveryEvent, DeliveryRule, EscalationPolicy, EscalationStep, Message, Person
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")


def _types(receiver, secret: str) -> list[str]:
    return [r.verify(secret)["type"] for r in receiver.received]


def _take(bobs, **fields) -> Message:
    with bobs.commit(), transaction.atomic():
        message = Message.objects.create(caller="+12125559876", callback_number="+12125559876", caller_name="Pat Lee",
                                         urgency="urgent", fields={"problem": "No heat", **fields})
        delivery.message_deliver(message=message, client=bobs.client)
    return message


def test_a_message_taken_from_a_script_reaches_the_receiver_as_message_created(bobs, receiver):
    from answering.messages.services import message_take
    from answering.scripts.services import script_import_json
    from tests.answering.conftest import emergency

    endpoint = bobs.endpoint(receiver.url, event_types=["message.created"])
    version = script_import_json(data=emergency()).current_version
    with bobs.commit():
        message = message_take(version=version, answers={"in_danger": "yes", "address": "1 Main St"},
                               caller="+12125559876")
    [request] = receiver.received
    payload = request.verify(endpoint.secret)
    assert payload["type"] == "message.created"
    assert payload["data"]["id"] == message.pk and payload["data"]["urgency"] == "urgent"
    assert payload["data"]["fields"]["address"] == "1 Main St"
    # The message's timeline says the webhook got it.
    assert DeliveryEvent.objects.filter(message=message, status="delivered", detail__contains=receiver.url).exists()


def test_an_acknowledgement_is_message_acknowledged_once(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url, event_types=["message.acknowledged"])
    message = _take(bobs)
    with bobs.commit():
        assert acknowledge.message_acknowledge(message=message, by="Bob", via="portal", client=bobs.client)
    with bobs.commit():
        assert not acknowledge.message_acknowledge(message=message, by="Bob again", via="portal", client=bobs.client)
    [request] = receiver.received
    data = request.verify(endpoint.secret)["data"]
    assert data["id"] == message.pk and data["acknowledged_by"] == "Bob" and data["acknowledged_at"]


def test_a_simulated_voicemail_call_is_call_completed_and_message_created(bobs, receiver, simulate):
    from answering.flow.services import call_flow_replace
    from tests.answering.conftest import BOB_NUMBER

    endpoint = bobs.endpoint(receiver.url)
    call_flow_replace(hours=[], options=[{"flow": "after_hours", "digit": "2", "label": "Message",
                                          "action": "voicemail"}], prompts=[])
    call = simulate(BOB_NUMBER, digits=["2"])
    call.run()
    events = {r.verify(endpoint.secret)["type"]: r.verify(endpoint.secret)["data"] for r in receiver.received}
    assert set(events) >= {"call.completed", "message.created"}
    assert events["call.completed"]["call_sid"] == call.call_sid
    assert events["call.completed"]["outcome"] == "voicemail" and events["call.completed"]["ended_at"]
    assert events["message.created"]["call_sid"] == call.call_sid
    assert sum(1 for r in receiver.received if json.loads(r.body)["type"] == "call.completed") == 1


def test_appointments_booked_rescheduled_and_cancelled(bobs, receiver):
    from calendars.models import AppointmentType, Calendar, WorkingHours
    from calendars.services import booking

    endpoint = bobs.endpoint(receiver.url, event_types=["appointment.booked", "appointment.rescheduled",
                                                        "appointment.cancelled"])
    with time_machine.travel(dt.datetime(2026, 6, 2, 9, tzinfo=NY), tick=False):
        tom = Calendar.objects.create(name="Tom", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(8), end=dt.time(17))
                                          for d in range(7)])
        type_ = AppointmentType.objects.create(name="Repair visit", duration_minutes=60, step_minutes=60,
                                               min_notice_minutes=60, horizon_days=14)
        type_.calendars.add(tom)
        with bobs.commit():
            visit = booking.appointment_book(type_=type_, calendar=tom, start=dt.datetime(2026, 6, 2, 11, tzinfo=NY),
                                             by="ana", name="Pat", phone="+12125550199")
        with bobs.commit():
            booking.appointment_reschedule(appointment=visit, start=dt.datetime(2026, 6, 2, 14, tzinfo=NY), by="ana")
        with bobs.commit():
            booking.appointment_cancel(appointment=visit, by="ana", reason="Fixed it themselves")
        assert _types(receiver, endpoint.secret) == ["appointment.booked", "appointment.rescheduled",
                                                     "appointment.cancelled"]
        data = [r.verify(endpoint.secret)["data"] for r in receiver.received]
    assert data[0]["id"] == visit.pk and data[0]["start"] == "2026-06-02T15:00:00Z"
    assert data[1]["start"] == "2026-06-02T18:00:00Z" and data[2]["status"] == "cancelled"


def test_an_opt_out_is_contact_opted_out_once(bobs, receiver):
    from compliance.services.optout import opt_out_record

    endpoint = bobs.endpoint(receiver.url, event_types=["contact.opted_out"])
    for _ in range(2):  # a repeated STOP changes nothing, and announces nothing twice
        with bobs.commit():
            opt_out_record(client=bobs.client, number="+12125557777", source="sms_keyword", added_by="sms", reason="STOP")
    [request] = receiver.received
    assert request.verify(endpoint.secret)["data"] == {
        "number": "+12125557777", "source": "sms_keyword", "reason": "STOP",
        "at": request.verify(endpoint.secret)["data"]["at"]}


def test_a_stopped_campaign_is_campaign_completed(bobs, receiver):
    from campaigns.models import Campaign
    from campaigns.services import lifecycle

    endpoint = bobs.endpoint(receiver.url, event_types=["campaign.completed"])
    campaign = Campaign.objects.create(name="Tune-ups")
    with bobs.commit():
        lifecycle.campaign_stop(campaign=campaign, by="Bob")
    [request] = receiver.received
    data = request.verify(endpoint.secret)["data"]
    assert data["id"] == campaign.pk and data["state"] == "stopped"


# --- A delivery rule's webhook step ----------------------------------------------------------

@pytest.fixture
def webhook_rule(bobs, receiver):
    """Every message → a webhook step to the office's system (its URL on the person)."""
    office = Person.objects.create(name="Office system", webhook_url=receiver.url + "/office")
    policy = EscalationPolicy.objects.create(name="Webhook the office", needs_acknowledgement=False, repeat=1)
    EscalationStep.objects.create(policy=policy, position=1, channel="webhook", target="person", person=office)
    DeliveryRule.objects.create(position=0, policy=policy)
    return office


def test_a_rules_webhook_step_is_a_signed_message_created_event(bobs, receiver, webhook_rule):
    message = _take(bobs)
    [request] = receiver.received
    endpoint = WebhookEndpoint.objects.get(url=receiver.url + "/office")
    assert endpoint.rules_only  # made for the step, on first use; its secret is in the portal
    payload = request.verify(endpoint.secret)
    assert payload["type"] == "message.created" and payload["data"]["id"] == message.pk
    assert "x-switchboard-signature" not in request.headers  # the old scheme is gone
    attempt = Delivery.objects.get(message=message)
    assert (attempt.channel, attempt.status) == ("webhook", "delivered")
    assert {"queued", "sent", "delivered"} <= set(DeliveryEvent.objects.filter(delivery=attempt)
                                                   .values_list("status", flat=True))


def test_a_rules_endpoint_does_not_get_every_event(bobs, receiver, webhook_rule):
    _take(bobs)
    bobs.emit("call.completed", {"call_sid": "CA9"})
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["message.created"]


def test_a_subscribed_endpoint_at_the_same_url_gets_the_message_once(bobs, receiver, webhook_rule):
    bobs.endpoint(receiver.url + "/office")
    message = _take(bobs)
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.count() == 1
    assert Delivery.objects.get(message=message).status == "delivered"


def test_a_failing_rules_webhook_is_retried_and_shows_on_the_timeline(bobs, receiver, webhook_rule):
    receiver.answer(500)
    message = _take(bobs)
    attempt = Delivery.objects.get(message=message)
    assert attempt.status == "sent"  # handed to the webhook sender, which retries it
    assert DeliveryEvent.objects.filter(delivery=attempt, status="retry", detail__contains="500").exists()
    receiver.answer(410)
    second = _take(bobs)
    attempt = Delivery.objects.get(message=second)
    assert attempt.status == "failed"
    assert DeliveryEvent.objects.filter(delivery=attempt, status="failed", detail__contains="410").exists()
    # Now disabled: the next message's step fails at once, saying why.
    third = _take(bobs)
    attempt = Delivery.objects.get(message=third)
    assert attempt.status == "failed" and "disabled" in attempt.error


def test_a_rules_webhook_to_a_private_address_fails_in_production(bobs, receiver, webhook_rule, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    message = _take(bobs)
    attempt = Delivery.objects.get(message=message)
    assert attempt.status == "failed" and "public addresses only" in attempt.error
    assert receiver.received == [] and not WebhookEndpoint.objects.exists()
