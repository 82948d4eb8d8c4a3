"""Message delivery: rules, the outbox, escalation until acknowledged, each channel, Twilio's errors.

Runs inside Bob's plumbing's schema with the simulated gateway: texts and call-outs land
in the simulator's outbox in Redis, where the tests count them.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer, SupervisorAlert
from answering.flow.services import call_flow_replace
from answering.messages import acknowledge, delivery, outbox, texts
from answering.models import (
    Delivery,
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Message,
    Person,
    Rotation,
    RotationMember,
    Team,
)
from answering.twilio import simulator
from answering.twilio.gateway import SIM_FAIL, SIM_HOLD, SIM_OUTBOX
from tests.answering.conftest import BOB_NUMBER, emergency
from tests.conftest import PLATFORM_HOST

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = [(d, "09:00", "17:00") for d in range(5)]
DANA_MOBILE, DANA_PHONE = "+12125550201", "+12125550202"
EVAN_MOBILE, EVAN_PHONE = "+12125550211", "+12125550212"


@pytest.fixture
def sim():
    """The simulator's outbox, emptied before and after."""
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = [SIM_OUTBOX.format(kind="sms"), SIM_OUTBOX.format(kind="call"), SIM_FAIL, SIM_HOLD]
    r.delete(*keys)

    def sent(kind: str, to: str | None = None) -> list[dict]:
        items = [json.loads(raw) for raw in r.lrange(SIM_OUTBOX.format(kind=kind), 0, -1)]
        return [i for i in items if to is None or i["to"] == to]

    yield SimpleNamespace(redis=r, sent=sent, fail=lambda number, code: r.hset(SIM_FAIL, number, code),
                          clear=lambda number: r.hdel(SIM_FAIL, number))
    r.delete(*keys)


@pytest.fixture
def bobs(world, sim, eager_celery, settings):
    """Bob's plumbing: Dana and Evan rotate on call (weekly, 08:00); the office reads email.

    Urgent → "Emergency": text + call-out to whoever is on call, 5 minutes, then text
    everyone in the team, 10 minutes; twice; then the supervisors. Normal in hours → email
    the office once. Normal after hours → text whoever is on call once, no acknowledgement.
    """
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with schema_context("bobsplumbing"):
        call_flow_replace(hours=WEEKDAYS_9_TO_5, options=[], prompts=[])
        dana = Person.objects.create(name="Dana Tech", email="dana@bobs.test", mobile=DANA_MOBILE, phone=DANA_PHONE)
        evan = Person.objects.create(name="Evan Tech", email="evan@bobs.test", mobile=EVAN_MOBILE, phone=EVAN_PHONE)
        office = Person.objects.create(name="Office", email="office@bobs.test")
        techs = Team.objects.create(name="Technicians")
        rota = Rotation.objects.create(team=techs, period="weekly", handover_time=time(8), starts_on=date(2026, 1, 5))
        RotationMember.objects.create(rotation=rota, person=dana, position=1)
        RotationMember.objects.create(rotation=rota, person=evan, position=2)
        emergency = EscalationPolicy.objects.create(name="Emergency", repeat=2)
        EscalationStep.objects.create(policy=emergency, position=1, channel="sms", target="on_call", team=techs)
        EscalationStep.objects.create(policy=emergency, position=2, channel="call", target="on_call", team=techs,
                                      wait_minutes=5)
        EscalationStep.objects.create(policy=emergency, position=3, channel="sms", target="team", team=techs,
                                      wait_minutes=10)
        office_email = EscalationPolicy.objects.create(name="Office email", needs_acknowledgement=False, repeat=1)
        EscalationStep.objects.create(policy=office_email, position=1, channel="email", target="person", person=office)
        night = EscalationPolicy.objects.create(name="Night text", needs_acknowledgement=False, repeat=1)
        EscalationStep.objects.create(policy=night, position=1, channel="sms", target="on_call", team=techs)
        DeliveryRule.objects.create(position=1, urgency="urgent", policy=emergency)
        DeliveryRule.objects.create(position=2, urgency="normal", when="open", policy=office_email)
        DeliveryRule.objects.create(position=3, urgency="normal", when="closed", policy=night)
    yield SimpleNamespace(client=world.bobs, dana=dana, evan=evan, office=office, techs=techs, emergency=emergency,
                          office_email=office_email, night=night)


# A Tuesday: Dana's week (rota from Monday 2026-01-05, Dana first, hand-over Mondays 08:00).
TUESDAY_NOON = datetime(2026, 1, 6, 12, 0, tzinfo=NY)
TUESDAY_NIGHT = datetime(2026, 1, 6, 23, 0, tzinfo=NY)


def take(on_commit, *, urgency="urgent", category="", at=TUESDAY_NIGHT, caller="+12125559876", client=None) -> Message:
    """Commit a message and start its delivery, as message_take does; run its on-commit hooks."""
    with schema_context("bobsplumbing"), on_commit():
        from django.db import transaction

        with transaction.atomic():
            message = Message.objects.create(caller=caller, callback_number=caller, caller_name="Pat Caller",
                                             urgency=urgency, category=category,
                                             fields={"problem": "Burst pipe in the basement"})
            delivery.message_deliver(message=message, client=client, at=at)
    return message


def wait_is_over(message: Message, on_commit) -> datetime:
    """Let the message's escalation timer fire when it is due (in the test's clock)."""
    with schema_context("bobsplumbing"):
        due = OutboxTimer.objects.get(kind="escalation", object_id=message.pk).due_at
        with on_commit():
            assert delivery.escalation_advance(message_id=message.pk, at=due)
    return due


def on_call_now(bobs) -> Person:
    from answering.oncall.selectors import on_call_at

    with schema_context("bobsplumbing"):
        return on_call_at(team=bobs.techs, at=timezone.now(), time_zone="America/New_York").person


def deliveries(message: Message) -> list[tuple]:
    with schema_context("bobsplumbing"):
        return list(Delivery.objects.filter(message=message).order_by("pk")
                    .values_list("round", "position", "channel", "person__name", "status"))


# --- Rules ---------------------------------------------------------------------------------

def test_rules_choose_the_policy_by_urgency_and_business_hours(bobs):
    with schema_context("bobsplumbing"):
        assert delivery.rule_for(urgency="urgent", category="", open_now=True).policy == bobs.emergency
        assert delivery.rule_for(urgency="urgent", category="", open_now=False).policy == bobs.emergency
        assert delivery.rule_for(urgency="normal", category="", open_now=True).policy == bobs.office_email
        assert delivery.rule_for(urgency="normal", category="", open_now=False).policy == bobs.night


def test_a_category_rule_comes_before_the_general_one_when_ordered_first(bobs):
    with schema_context("bobsplumbing"):
        DeliveryRule.objects.create(position=0, category="Billing", policy=bobs.office_email)
        assert delivery.rule_for(urgency="urgent", category="billing", open_now=False).policy == bobs.office_email
        assert delivery.rule_for(urgency="urgent", category="leak", open_now=False).policy == bobs.emergency


def test_a_normal_message_in_hours_is_emailed_to_the_office_once_and_needs_no_acknowledgement(bobs, sim, on_commit):
    message = take(on_commit, urgency="normal", at=TUESDAY_NOON)
    assert deliveries(message) == [(1, 1, "email", "Office", "sent")]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["office@bobs.test"] and "Bob's Plumbing" in email.subject
    assert "Burst pipe in the basement" in email.body and f"/messages/{message.pk}/" in email.body
    assert sim.sent("sms") == []
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
        assert message.escalation == "done" and message.short_code == ""
        assert not OutboxTimer.objects.filter(client=bobs.client).exists()


def test_a_normal_message_after_hours_texts_whoever_is_on_call(bobs, sim, on_commit):
    message = take(on_commit, urgency="normal", at=TUESDAY_NIGHT)
    assert deliveries(message) == [(1, 1, "sms", "Dana Tech", "sent")]
    assert len(sim.sent("sms", DANA_MOBILE)) == 1 and mail.outbox == []


def test_an_on_call_override_receives_the_message_instead_of_the_rota(bobs, sim, on_commit):
    from answering.models import Override

    with schema_context("bobsplumbing"):
        Override.objects.create(team=bobs.techs, person=bobs.evan, starts=TUESDAY_NIGHT - timedelta(hours=1),
                                ends=TUESDAY_NIGHT + timedelta(hours=8))
    message = take(on_commit, urgency="normal", at=TUESDAY_NIGHT)
    assert deliveries(message) == [(1, 1, "sms", "Evan Tech", "sent")]


# --- The outbox and escalation --------------------------------------------------------------

def test_an_urgent_message_texts_and_calls_the_on_call_tech_at_once(bobs, sim, on_commit):
    message = take(on_commit)
    assert deliveries(message) == [(1, 1, "sms", "Dana Tech", "sent"), (1, 2, "call", "Dana Tech", "sent")]
    [text] = sim.sent("sms", DANA_MOBILE)
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
    assert text["from"] == BOB_NUMBER and "URGENT" in text["body"] and f"OK {message.short_code}" in text["body"]
    assert "Burst pipe" in text["body"] and text["status_callback"].endswith("/twilio/messaging/status?client=bobsplumbing")
    [call] = sim.sent("call", DANA_PHONE)
    assert "/twilio/callout/bobsplumbing/" in call["url"]
    with schema_context("bobsplumbing"):
        timer = OutboxTimer.objects.get(client=bobs.client, kind="escalation", object_id=message.pk)
        assert timer.due_at == TUESDAY_NIGHT + timedelta(minutes=5)
        statuses = list(message.events.values_list("status", flat=True))
    assert statuses[:3] == ["received", "escalation", "queued"] and statuses.count("sent") == 2


def test_a_subaccount_clients_texts_and_call_outs_go_from_its_own_account(bobs, sim, on_commit):
    """The client's number lives on its own Twilio subaccount: Twilio would refuse it as the
    From of a request made on the platform's account (the contract test checks the paths)."""
    from tenants.models import PhoneNumber

    sub = "AC" + "7" * 32
    PhoneNumber.objects.filter(client=bobs.client).update(twilio_account_sid=sub)
    take(on_commit)
    [text] = sim.sent("sms", DANA_MOBILE)
    [call] = sim.sent("call", DANA_PHONE)
    assert text["from"] == BOB_NUMBER and text["account_sid"] == sub and call["account_sid"] == sub


def test_nobody_acknowledging_escalates_through_the_chain_twice_then_alerts_the_supervisors(bobs, sim, on_commit):
    message = take(on_commit)
    at = wait_is_over(message, on_commit)  # after 5 minutes: text everyone in the team
    assert at == TUESDAY_NIGHT + timedelta(minutes=5)
    assert deliveries(message)[2:] == [(1, 3, "sms", "Dana Tech", "sent"), (1, 3, "sms", "Evan Tech", "sent")]
    at = wait_is_over(message, on_commit)  # after 10 more: the second pass begins
    assert at == TUESDAY_NIGHT + timedelta(minutes=15)
    assert deliveries(message)[4:] == [(2, 1, "sms", "Dana Tech", "sent"), (2, 2, "call", "Dana Tech", "sent")]
    wait_is_over(message, on_commit)
    assert len(deliveries(message)) == 8
    assert not SupervisorAlert.objects.filter(client=bobs.client).exists()
    wait_is_over(message, on_commit)  # the end of the second pass: nobody
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
        assert message.escalation == "exhausted"
        assert not OutboxTimer.objects.filter(client=bobs.client, kind="escalation").exists()
    [alert] = SupervisorAlert.objects.filter(client=bobs.client, resolved_at__isnull=True)
    assert alert.message_id == message.pk and "not acknowledged" in alert.text
    assert len(sim.sent("sms", DANA_MOBILE)) == 4 and len(sim.sent("sms", EVAN_MOBILE)) == 2
    from answering.metrics import wallboard_snapshot

    assert [a["text"] for a in wallboard_snapshot()["alerts"]] == [alert.text]


def test_the_sweep_runs_a_due_escalation_step(bobs, sim, on_commit):
    message = take(on_commit, at=timezone.now() - timedelta(minutes=6))
    assert len(deliveries(message)) == 2
    with on_commit():
        assert outbox.outbox_sweep() == 1  # the escalation timer, five minutes after the message
    assert [d[1:3] for d in deliveries(message)][2:] == [(3, "sms"), (3, "sms")]
    with schema_context("bobsplumbing"):
        timer = OutboxTimer.objects.get(client=bobs.client, kind="escalation", object_id=message.pk)
        message.refresh_from_db()
    assert timer.due_at == message.next_step_at > timezone.now()


def test_a_policy_edited_mid_escalation_goes_on_with_the_steps_it_has_now(bobs, sim, on_commit):
    message = take(on_commit)
    with schema_context("bobsplumbing"):
        EscalationStep.objects.filter(policy=bobs.emergency, position=3).delete()
    wait_is_over(message, on_commit)  # step 3 is gone: the second pass starts
    assert [d[:3] for d in deliveries(message)][2:] == [(2, 1, "sms"), (2, 2, "call")]
    with schema_context("bobsplumbing"):
        EscalationStep.objects.filter(policy=bobs.emergency).delete()
    wait_is_over(message, on_commit)  # no steps at all: the chain ends, supervisors alerted
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
    assert message.escalation == "exhausted"
    assert SupervisorAlert.objects.filter(client=bobs.client, message_id=message.pk).exists()


def test_a_timer_that_is_not_due_does_nothing(bobs, sim, on_commit):
    message = take(on_commit)
    with schema_context("bobsplumbing"):
        assert delivery.escalation_advance(message_id=message.pk, at=TUESDAY_NIGHT + timedelta(minutes=4)) is False
    assert len(deliveries(message)) == 2


def test_the_sweep_hands_due_timers_to_workers_and_a_lost_task_is_sent_anyway(bobs, sim, on_commit):
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125559876", urgency="urgent")
        # As if the process died right after the commit: rows and timers, no task queued.
        from django.db import transaction

        with transaction.atomic():
            delivery.message_deliver(message=message, client=bobs.client)
    assert sim.sent("sms") == []
    with on_commit():
        assert outbox.outbox_sweep() == 2
    assert [d[-1] for d in deliveries(message)] == ["sent", "sent"]
    assert len(sim.sent("sms", on_call_now(bobs).mobile)) == 1
    with on_commit():
        assert outbox.outbox_sweep() == 0  # the escalation timer is minutes away


# --- Acknowledgement -----------------------------------------------------------------------

def test_acknowledging_in_the_portal_stops_the_escalation(bobs, sim, on_commit):
    message = take(on_commit)
    with schema_context("bobsplumbing"):
        assert acknowledge.message_acknowledge(message=message, by="Bob Builder", via="portal", client=bobs.client)
        assert not acknowledge.message_acknowledge(message=message, by="Bea Clerk", via="portal", client=bobs.client)
        message.refresh_from_db()
        assert message.escalation == "acknowledged" and message.acknowledged_by == "Bob Builder"
        assert not OutboxTimer.objects.filter(client=bobs.client).exists()
        assert delivery.escalation_advance(message_id=message.pk) is False
        assert message.events.filter(status="acknowledged").count() == 1
    assert len(deliveries(message)) == 2


def test_an_acknowledgement_cancels_attempts_not_yet_sent(bobs, sim, on_commit):
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125559876", urgency="urgent")
        delivery.message_deliver(message=message, client=bobs.client, at=TUESDAY_NIGHT)  # no commit hooks: unsent
        acknowledge.message_acknowledge(message=message, by="Bob", via="portal", client=bobs.client)
        assert set(Delivery.objects.filter(message=message).values_list("status", flat=True)) == {"cancelled"}
        assert delivery.delivery_send(delivery_id=Delivery.objects.filter(message=message).first().pk).status \
            == "cancelled"
    assert sim.sent("sms") == []


def _text(body: str, from_: str, to: str = BOB_NUMBER):
    from django.test import Client as HttpClient

    return simulator.send_sms(transport=simulator.test_client_transport(HttpClient(), PLATFORM_HOST), to=to, from_=from_, body=body)


def _twilio(url: str, params: dict, *, signature: str | None = None):
    """POST ``params`` to ``url`` (absolute, as Twilio calls it) on the platform host, signed
    like Twilio unless a ``signature`` is given."""
    from django.test import Client as HttpClient

    return HttpClient(HTTP_HOST=PLATFORM_HOST).post(
        url.removeprefix(settings.PUBLIC_BASE_URL), params,
        HTTP_X_TWILIO_SIGNATURE=signature if signature is not None else simulator.signature(url, params))


def test_an_ok_text_from_the_on_call_tech_acknowledges(bobs, sim, on_commit):
    message = take(on_commit)
    with on_commit():
        reply = _text("ok", DANA_MOBILE)
    assert "Pat Caller is acknowledged" in reply.body
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
        assert message.acknowledged_via == "sms" and message.acknowledged_by == "Dana Tech"
        assert Delivery.objects.filter(message=message, channel="sms").get().status == "acknowledged"
        callout = Delivery.objects.get(message=message, channel="call")
    # The call-out still ringing on Dana's phone is hung up.
    assert json.loads(sim.redis.lpop(f"sim:call:{callout.provider_sid}")) == {"verb": "hangup"}


def test_with_several_open_messages_a_text_needs_the_short_code(bobs, sim, on_commit):
    first = take(on_commit)
    second = take(on_commit, caller="+12125559877")
    with on_commit():
        reply = _text("OK", DANA_MOBILE)
    with schema_context("bobsplumbing"):
        first.refresh_from_db(), second.refresh_from_db()
    assert "2 messages are open" in reply.body and f"OK {first.short_code}" in reply.body
    assert first.acknowledged_at is None and second.acknowledged_at is None
    with on_commit():
        _text(f"Ok {second.short_code}", DANA_MOBILE)
    with schema_context("bobsplumbing"):
        first.refresh_from_db(), second.refresh_from_db()
    assert second.acknowledged_at is not None and first.acknowledged_at is None


def test_a_text_from_someone_we_never_texted_acknowledges_nothing(bobs, sim, on_commit):
    message = take(on_commit)
    reply = _text("OK", "+12125550999")
    assert "acknowledged" not in reply.body and "<Message" not in reply.body
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
    assert message.acknowledged_at is None


def test_an_ok_sent_to_another_clients_number_does_not_acknowledge_this_clients_message(bobs, sim, on_commit):
    message = take(on_commit)
    _text("OK", DANA_MOBILE, to="+13125550113")  # Charlie's clinic's number
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
    assert message.acknowledged_at is None


def test_pressing_1_on_the_call_out_acknowledges(bobs, sim, on_commit):
    message = take(on_commit)
    with schema_context("bobsplumbing"):
        callout = Delivery.objects.get(message=message, channel="call")
    [call] = sim.sent("call", DANA_PHONE)
    params = {"CallSid": call["sid"], "AccountSid": settings.TWILIO_ACCOUNT_SID, "From": BOB_NUMBER,
              "To": DANA_PHONE, "CallStatus": "in-progress", "Direction": "outbound-api"}
    twiml = _twilio(call["url"], params).content.decode()
    assert "<Gather" in twiml and "Burst pipe in the basement" in twiml and "Press 1 to acknowledge" in twiml
    gather = f"{settings.PUBLIC_BASE_URL}/twilio/callout/bobsplumbing/{callout.pk}/gather"
    pressed = {**params, "Digits": "1"}
    with on_commit():
        answer = _twilio(gather, pressed).content.decode()
    assert "acknowledged" in answer
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
        callout.refresh_from_db()
    assert message.acknowledged_via == "call" and callout.status == "acknowledged"


def test_another_key_on_the_call_out_reads_the_message_again(bobs, sim, on_commit):
    message = take(on_commit)
    with schema_context("bobsplumbing"):
        callout = Delivery.objects.get(message=message, channel="call")
    gather = f"{settings.PUBLIC_BASE_URL}/twilio/callout/bobsplumbing/{callout.pk}/gather"
    params = {"CallSid": "CA" + "7" * 32, "AccountSid": settings.TWILIO_ACCOUNT_SID, "Digits": "2"}
    answer = _twilio(gather, params).content.decode()
    assert "<Redirect" in answer and f"/twilio/callout/bobsplumbing/{callout.pk}<" in answer
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
    assert message.acknowledged_at is None


def test_a_forged_call_out_keypress_is_refused(bobs, sim, on_commit):
    message = take(on_commit)
    with schema_context("bobsplumbing"):
        callout = Delivery.objects.get(message=message, channel="call")
    response = _twilio(f"{settings.PUBLIC_BASE_URL}/twilio/callout/bobsplumbing/{callout.pk}/gather", {"Digits": "1"},
                       signature="forged")
    assert response.status_code == 403
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
    assert message.acknowledged_at is None


# --- Twilio's answers: status callbacks, permanent and transient errors ------------------------

def _status(sid: str, status: str, to: str, error: str = "") -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": settings.TWILIO_ACCOUNT_SID, "To": to,
              "From": BOB_NUMBER, **({"ErrorCode": error} if error else {})}
    return _twilio(f"{settings.PUBLIC_BASE_URL}/twilio/messaging/status?client=bobsplumbing", params).status_code


def test_status_callbacks_move_an_attempt_forward_only(bobs, sim, on_commit):
    message = take(on_commit, urgency="normal")
    [text] = sim.sent("sms", DANA_MOBILE)
    assert _status(text["sid"], "delivered", DANA_MOBILE) == 204
    assert _status(text["sid"], "sent", DANA_MOBILE) == 204  # late, out of order
    assert _status(text["sid"], "delivered", DANA_MOBILE) == 204  # twice
    with schema_context("bobsplumbing"):
        attempt = Delivery.objects.get(message=message)
        assert attempt.status == "delivered" and attempt.delivered_at is not None
        assert message.events.filter(status="delivered").count() == 1


def test_an_undelivered_text_is_marked_failed_with_twilios_code(bobs, sim, on_commit):
    message = take(on_commit, urgency="normal")
    [text] = sim.sent("sms", DANA_MOBILE)
    _status(text["sid"], "undelivered", DANA_MOBILE, error="30003")
    with schema_context("bobsplumbing"):
        attempt = Delivery.objects.get(message=message)
    assert attempt.status == "failed" and attempt.error_code == "30003"


@pytest.mark.parametrize("code", [21211, 21610, 21635])
def test_a_permanent_twilio_error_fails_at_once_and_alerts_instead_of_retrying(bobs, sim, on_commit, code):
    sim.fail(DANA_MOBILE, code)
    message = take(on_commit, urgency="normal")
    with schema_context("bobsplumbing"):
        attempt = Delivery.objects.get(message=message)
        assert attempt.status == "failed" and attempt.error_code == str(code) and attempt.tries == 1
        assert not OutboxTimer.objects.filter(client=bobs.client, kind="delivery").exists()
    assert sim.sent("sms") == []
    [alert] = SupervisorAlert.objects.filter(client=bobs.client, kind="delivery_failed")
    assert "Dana Tech" in alert.text


def test_21610_records_the_techs_opt_out_and_the_gate_refuses_the_next_text(bobs, sim, on_commit):
    sim.fail(DANA_MOBILE, 21610)
    take(on_commit, urgency="normal")
    sim.clear(DANA_MOBILE)
    message = take(on_commit, urgency="normal")
    with schema_context("bobsplumbing"):
        attempt = Delivery.objects.get(message=message)
    assert attempt.status == "failed" and "opted out of texts" in attempt.error
    assert sim.sent("sms") == []


@pytest.mark.parametrize("code, status", [(20429, 429), (None, 503)])
def test_a_transient_error_is_retried_later_and_then_sent_once(bobs, sim, on_commit, code, status, monkeypatch):
    from answering.twilio import gateway

    real = gateway.SimulatedGateway.sms_send
    failures = []

    def flaky(self, **kwargs):
        if not failures:
            failures.append(1)
            raise gateway.GatewayError("Twilio is having a moment", code=code, status=status)
        return real(self, **kwargs)

    monkeypatch.setattr(gateway.SimulatedGateway, "sms_send", flaky)
    message = take(on_commit, urgency="normal")
    with schema_context("bobsplumbing"):
        attempt = Delivery.objects.get(message=message)
        assert attempt.status == "queued" and attempt.tries == 1
        assert timedelta(seconds=5) < attempt.due_at - timezone.now() <= timedelta(seconds=10)
        assert message.events.filter(status="retry").exists()
        # Not due yet: running it early sends nothing.
        assert delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client).status == "busy"
        Delivery.objects.filter(pk=attempt.pk).update(due_at=timezone.now())
        with on_commit():
            assert delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client).status == "sent"
        assert delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client).status == "sent"  # final
    assert len(sim.sent("sms", DANA_MOBILE)) == 1


def test_a_timeout_talking_to_twilio_is_transient(bobs):
    import requests

    from answering.twilio.gateway import GatewayError, LiveGateway

    gateway = LiveGateway("AC" + "a" * 32, "token", base_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(GatewayError) as failed:
        gateway.sms_send(to=DANA_MOBILE, from_=BOB_NUMBER, body="x", status_callback="https://x/s")
    assert not failed.value.permanent and isinstance(failed.value.__cause__, requests.RequestException)


def test_running_a_send_twice_sends_once(bobs, sim, on_commit):
    message = take(on_commit, urgency="normal")
    with schema_context("bobsplumbing"):
        attempt = Delivery.objects.get(message=message)
        for _ in range(3):
            delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client)
    assert len(sim.sent("sms", DANA_MOBILE)) == 1


def test_a_send_interrupted_after_twilio_took_it_is_not_sent_again(bobs, sim, on_commit):
    """The worker died between Twilio's accepting the text and our recording its SID."""
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125559876", urgency="normal", callback_number="+12125559876")
        delivery.message_deliver(message=message, client=bobs.client, at=TUESDAY_NIGHT)
        attempt = Delivery.objects.get(message=message)
        body = texts.sms_body(message, client=bobs.client)
        from answering.twilio import gateway

        sent = gateway.get().sms_send(to=DANA_MOBILE, from_=BOB_NUMBER, body=body, status_callback="x")
        Delivery.objects.filter(pk=attempt.pk).update(status="sending", tries=1,
                                                      lease_until=timezone.now() - timedelta(seconds=1))
        assert delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client).status == "sent"
        attempt.refresh_from_db()
    assert attempt.provider_sid == sent.sid and len(sim.sent("sms", DANA_MOBILE)) == 1


def test_an_interrupted_send_of_a_message_acknowledged_meanwhile_is_cancelled_not_sent(bobs, sim, on_commit):
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125559876", urgency="normal")
        delivery.message_deliver(message=message, client=bobs.client, at=TUESDAY_NIGHT)
        attempt = Delivery.objects.get(message=message)
        # Its worker died mid-send (lease run out); someone acknowledged in the portal since.
        Delivery.objects.filter(pk=attempt.pk).update(status="sending", lease_until=timezone.now() - timedelta(seconds=1))
        acknowledge.message_acknowledge(message=message, by="Bob", via="portal", client=bobs.client)
        assert delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client).status == "cancelled"
        attempt.refresh_from_db()
        assert attempt.status == "cancelled"
        assert not OutboxTimer.objects.filter(client=bobs.client, kind="delivery", object_id=attempt.pk).exists()
    assert sim.sent("sms") == []


def test_a_send_held_by_a_live_lease_is_left_to_its_worker(bobs, sim, on_commit):
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125559876", urgency="normal")
        delivery.message_deliver(message=message, client=bobs.client, at=TUESDAY_NIGHT)
        attempt = Delivery.objects.get(message=message)
        Delivery.objects.filter(pk=attempt.pk).update(status="sending", lease_until=timezone.now() + timedelta(minutes=1))
        assert delivery.delivery_send(delivery_id=attempt.pk, client=bobs.client).status == "busy"
    assert sim.sent("sms") == []


# --- Signed webhooks ----------------------------------------------------------------------

class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(_Receiver.answer)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.answer = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/hooks/switchboard", received=_Receiver.received,
                          answer=lambda code: setattr(_Receiver, "answer", code))
    server.shutdown()


def test_a_signed_webhook_verifies_with_the_standardwebhooks_package(bobs, on_commit, receiver):
    # A rules' webhook step is the message's message.created event (webhooks/), signed the
    # Standard Webhooks way with the secret of the endpoint made for the step's URL.
    from standardwebhooks.webhooks import Webhook

    from webhooks.models import WebhookEndpoint

    with schema_context("bobsplumbing"):
        Person.objects.filter(pk=bobs.office.pk).update(webhook_url=receiver.url)
        EscalationStep.objects.filter(policy=bobs.office_email).update(channel="webhook")
    message = take(on_commit, urgency="normal", at=TUESDAY_NOON)
    [(headers, body)] = receiver.received
    with schema_context("bobsplumbing"):
        secret = WebhookEndpoint.objects.get(url=receiver.url).secret
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "message.created"
    assert payload["data"]["id"] == message.pk and payload["data"]["fields"]["problem"].startswith("Burst")
    assert "X-Switchboard-Signature" not in headers
    assert deliveries(message) == [(1, 1, "webhook", "Office", "delivered")]


def test_a_webhook_answering_500_is_retried_and_a_410_is_not(bobs, on_commit, receiver):
    with schema_context("bobsplumbing"):
        Person.objects.filter(pk=bobs.office.pk).update(webhook_url=receiver.url)
        EscalationStep.objects.filter(policy=bobs.office_email).update(channel="webhook")
    receiver.answer(500)
    first = take(on_commit, urgency="normal", at=TUESDAY_NOON)
    receiver.answer(410)
    second = take(on_commit, urgency="normal", at=TUESDAY_NOON)
    # The first is with the webhook sender, retrying; 410 Gone fails the second for good.
    assert deliveries(first)[0][-1] == "sent" and deliveries(second)[0][-1] == "failed"


# --- Where messages come from --------------------------------------------------------------

def test_a_voicemail_becomes_a_message_that_is_delivered(bobs, sim, simulate, on_commit):
    with schema_context("bobsplumbing"):
        call_flow_replace(hours=[], options=[{"flow": "after_hours", "digit": "2", "label": "Message",
                                              "action": "voicemail"}], prompts=[])
    call = simulate(BOB_NUMBER, digits=["2"])
    call.run()
    with schema_context("bobsplumbing"):
        message = Message.objects.get(call_sid=call.call_sid)
        assert message.source == "voicemail" and message.urgency == "normal"
        assert Delivery.objects.filter(message=message, channel="sms", person=on_call_now(bobs)).exists()


def test_a_message_taken_by_an_agent_is_delivered_after_its_commit(bobs, sim, on_commit):
    from answering.messages.services import message_take
    from answering.scripts.services import script_import_json

    with schema_context("bobsplumbing"):
        version = script_import_json(data=emergency()).current_version
        with on_commit():
            message = message_take(version=version, answers={"in_danger": "yes", "address": "1 Main St"},
                                   caller="+12125559876")
    assert message.urgency == "urgent"
    tech = on_call_now(bobs).name
    assert [d[2:] for d in deliveries(message)] == [("sms", tech, "sent"), ("call", tech, "sent")]


# --- The simulator plays the on-call person -------------------------------------------------

def test_the_simulator_answers_a_call_out_and_presses_1(bobs, sim, on_commit):
    from django.test import Client as HttpClient

    message = take(on_commit)
    [record] = sim.sent("call", DANA_PHONE)
    heard = []
    with on_commit():
        outcome = simulator.answer_callout(record=record, press="1", say=heard.append,
                                           transport=simulator.test_client_transport(HttpClient(), PLATFORM_HOST))
    assert outcome == "acknowledged" and any("Burst pipe" in line for line in heard)
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
        callout = Delivery.objects.get(message=message, channel="call")
    assert message.acknowledged_via == "call" and callout.status == "acknowledged"
    assert callout.delivered_at is not None  # answered (in-progress) before the key


def test_a_call_out_nobody_answers_fails_and_the_escalation_goes_on(bobs, sim, on_commit):
    from django.test import Client as HttpClient

    message = take(on_commit)
    [record] = sim.sent("call", DANA_PHONE)
    outcome = simulator.answer_callout(record=record, press=None, answer=False, say=lambda line: None,
                                       transport=simulator.test_client_transport(HttpClient(), PLATFORM_HOST))
    assert outcome == "no answer"
    with schema_context("bobsplumbing"):
        callout = Delivery.objects.get(message=message, channel="call")
        message.refresh_from_db()
    assert callout.status == "failed" and message.escalation == "active"
    wait_is_over(message, on_commit)
    assert len(deliveries(message)) == 4


def test_a_call_out_heard_to_the_end_without_a_key_is_not_an_acknowledgement(bobs, sim, on_commit):
    from django.test import Client as HttpClient

    message = take(on_commit)
    [record] = sim.sent("call", DANA_PHONE)
    outcome = simulator.answer_callout(record=record, press=None, say=lambda line: None,
                                       transport=simulator.test_client_transport(HttpClient(), PLATFORM_HOST))
    assert outcome == "not acknowledged"
    with schema_context("bobsplumbing"):
        message.refresh_from_db()
        callout = Delivery.objects.get(message=message, channel="call")
    assert message.acknowledged_at is None and callout.status == "delivered"
