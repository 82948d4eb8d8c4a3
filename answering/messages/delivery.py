"""Message delivery and escalation: the verbs (run inside the message's client schema).

The life of a message after it is committed:

1. ``message_deliver`` (same transaction as the message) picks the first matching
   ``DeliveryRule``; its ``EscalationPolicy`` is the chain. The first step's attempts are
   written as ``Delivery`` rows (the outbox) with a timer each in ``acd.OutboxTimer``;
   after the commit a task is sent per attempt — that is only the fast path.
2. ``delivery_send`` (a Celery task) claims the row with a lease, asks the compliance gate
   (staff purpose: exempt from DNC and hours, not from a text opt-out), sends through the
   gateway, and records the provider's SID. A send cut short by a crash is found again by
   its timer when the lease runs out; before sending again it asks the gateway whether the
   first try reached Twilio (``sent_find``), so a text or call goes out once.
3. ``escalation_advance`` runs when the message's own timer is due: the next step of the
   chain, round after round, and at the end an alert on the supervisors' wallboard.
4. ``message_acknowledge`` (portal click, SMS reply, 1 on a call-out) stops all of it in
   one transaction: queued attempts are cancelled and the timers deleted.

The outbox's timers and the sweep are in ``outbox``; the texts sent in ``texts``;
acknowledgement in ``acknowledge``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from answering.acd.models import OutboxTimer, SupervisorAlert
from answering.flow import cache as flow_cache
from answering.flow.selectors import call_flow_get
from answering.messages.outbox import (
    LEASE,
    alert_raise,
    event_record,
    portal_push,
    send_soon,
    supervisors_push,
    timer_clear,
    timer_set,
)
from answering.messages.texts import (
    email_context,
    sms_body,
    twilio_url,
)
from answering.models import (
    Channel,
    Delivery,
    DeliveryRule,
    EscalationStep,
    Message,
    Person,
    RotationMember,
)
from answering.oncall.selectors import on_call_at
from answering.twilio import gateway
from compliance.rules import Channel as GateChannel
from compliance.rules import Purpose
from compliance.services import contact_decide, twilio_send_error_record
from tenants.models import Client
from tenants.selectors import client_current

logger = logging.getLogger(__name__)


MAX_TRIES = 6


# Backoff after a transient failure (Twilio 20429, 5xx, a timeout): 10 s, 30 s, 90 s, ...
BACKOFF_SECONDS = (10, 30, 90, 270, 810)


# Escalation timers wake the sweep; a long wait is a row, never a broker countdown (Redis
# would redeliver an unacked countdown after its visibility timeout, or lose it with Redis).
FINAL = {Delivery.Status.SENT, Delivery.Status.DELIVERED, Delivery.Status.FAILED, Delivery.Status.ACKNOWLEDGED,
         Delivery.Status.CANCELLED}


# Status order: a late or repeated callback never moves an attempt backwards.
RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "acknowledged": 4, "cancelled": 4}


def rule_for(*, urgency: str, category: str, open_now: bool) -> DeliveryRule | None:
    """The first rule, in order, that matches a message (a selector)."""
    for rule in DeliveryRule.objects.select_related("policy"):
        if rule.matches(urgency=urgency, category=category, open_now=open_now):
            return rule
    return None


def message_deliver(*, message: Message, client: Client | None = None, at: datetime | None = None) -> None:
    """Start delivering a message that is being committed (call inside its transaction).

    The portal always gets it (pushed after the commit). The matching rule's policy starts
    at once: its first step's attempts are written now and sent right after the commit.
    """
    client = client or client_current()
    at = at or timezone.now()
    open_now = flow_cache.flow_get(client.schema_name, lambda: call_flow_get(client)).is_open(at)
    rule = rule_for(urgency=message.urgency, category=message.category, open_now=open_now)
    event_record(message, "received", f"Taken {'during business hours' if open_now else 'after hours'}; in the portal.")
    if rule is None or not rule.policy.steps.exists():
        message.escalation = Message.Escalation.NONE
        message.save(update_fields=["escalation", "updated"])
    else:
        message.policy = rule.policy
        message.escalation = Message.Escalation.ACTIVE
        message.next_round = message.next_position = 1
        if rule.policy.needs_acknowledgement:
            message.short_code = _short_code()
        message.save(update_fields=["policy", "escalation", "next_round", "next_position", "short_code", "updated"])
        event_record(message, "escalation", f"Following “{rule.policy}” ({rule}).")
        _advance(message, client=client, at=at)
    portal_push(client, {"type": "message", "message": message.pk, "urgency": message.urgency})
    if message.urgency == Message.Urgency.URGENT:
        supervisors_push()  # on the wallboard until someone acknowledges it
    from webhooks import events  # the client's event webhooks: message.created, committed with the message

    events.message_created(message, client=client)


def _short_code() -> str:
    """Four digits no other message awaiting an acknowledgement uses."""
    taken = set(Message.objects.filter(acknowledged_at__isnull=True, escalation__in=[
        Message.Escalation.ACTIVE, Message.Escalation.EXHAUSTED]).exclude(short_code="")
        .values_list("short_code", flat=True))
    while True:
        code = f"{random.randint(1000, 9999)}"
        if code not in taken:
            return code


def _advance(message: Message, *, client: Client, at: datetime) -> None:
    """Run the chain from (next_round, next_position) until a step asks to wait."""
    policy = message.policy
    steps = list(policy.steps.select_related("person", "team"))
    rounds = policy.repeat if policy.needs_acknowledgement else 1
    while True:
        if message.next_position > len(steps):  # the policy lost steps since: on to the next pass
            message.next_round, message.next_position = message.next_round + 1, 1
        if message.next_round > rounds or not steps:
            _chain_end(message, client=client)
            return
        step = steps[message.next_position - 1]
        for delivery in _step_run(message, step, client=client, at=at):
            timer_set(client, OutboxTimer.Kind.DELIVERY, delivery.pk, delivery.due_at)
            transaction.on_commit(lambda pk=delivery.pk, schema=client.schema_name: send_soon(schema, pk))
        if message.next_position < len(steps):
            message.next_position += 1
        else:
            message.next_round, message.next_position = message.next_round + 1, 1
        message.save(update_fields=["next_round", "next_position", "updated"])
        last = message.next_round > rounds
        if step.wait_minutes:
            if last and not policy.needs_acknowledgement:
                break  # for information only: nothing left to wait for
            message.next_step_at = at + timedelta(minutes=step.wait_minutes)
            message.save(update_fields=["next_step_at", "updated"])
            timer_set(client, OutboxTimer.Kind.ESCALATION, message.pk, message.next_step_at)
            return
    _chain_end(message, client=client)


def _chain_end(message: Message, *, client: Client) -> None:
    timer_clear(client, OutboxTimer.Kind.ESCALATION, message.pk)
    if not message.policy.needs_acknowledgement:
        message.escalation = Message.Escalation.DONE
        message.save(update_fields=["escalation", "updated"])
        return
    message.escalation = Message.Escalation.EXHAUSTED
    message.save(update_fields=["escalation", "updated"])
    text = f"{client.name}: {message.get_urgency_display().lower()} message from " \
           f"{message.callback_number or message.caller or 'unknown'} not acknowledged by anyone."
    event_record(message, "exhausted", "Nobody acknowledged; the answering service's supervisors were alerted."
           if message.policy.alert_supervisors else "Nobody acknowledged.")
    if message.policy.alert_supervisors:
        alert_raise(client, message, SupervisorAlert.Kind.UNACKNOWLEDGED, text)
    portal_push(client, {"type": "message_changed", "message": message.pk})


def _step_run(message: Message, step: EscalationStep, *, client: Client, at: datetime) -> list[Delivery]:
    """Write the attempts of one step: one per person it reaches (none is an event, not an error)."""
    people, whom = _step_people(step, client=client, at=at)
    if not people:
        event_record(message, "nobody", f"Step {step.position}: {whom} — nobody to reach.")
        return []
    made = []
    for person in people:
        address = _address(person, step.channel)
        if not address:
            event_record(message, "skipped", f"Step {step.position}: {person} has no {Channel(step.channel).label.lower()} address.")
            continue
        delivery, created = Delivery.objects.get_or_create(
            message=message, round=message.next_round, position=step.position, channel=step.channel, person=person,
            defaults={"step": step, "address": address, "due_at": at})
        if created:
            event_record(message, "queued", f"{delivery.get_channel_display()} to {person} ({address}) — {whom}.", delivery)
            made.append(delivery)
    return made


def _step_people(step: EscalationStep, *, client: Client, at: datetime) -> tuple[list[Person], str]:
    if step.target == EscalationStep.Target.PERSON:
        return ([step.person] if step.person.active else []), str(step.person)
    if step.target == EscalationStep.Target.ON_CALL:
        on_call = on_call_at(team=step.team, at=at, time_zone=client.time_zone)
        return ([on_call.person] if on_call.person else []), f"on call for {step.team}"
    members = RotationMember.objects.filter(rotation__team=step.team, person__active=True).select_related("person")
    return [m.person for m in members], f"everyone in {step.team}"


def _address(person: Person, channel: str) -> str:
    return {Channel.EMAIL: person.email, Channel.SMS: person.mobile, Channel.CALL: person.phone,
            Channel.WEBHOOK: person.webhook_url}[channel] or ""


def escalation_advance(*, message_id: int, client: Client | None = None, at: datetime | None = None) -> bool:
    """The message's escalation timer is due: run the next step. False if there is nothing to do
    (acknowledged meanwhile, or not due yet — a second worker got there first)."""
    client = client or client_current()
    now = at or timezone.now()
    with transaction.atomic():
        message = Message.objects.select_for_update(of=("self",)).select_related("policy").filter(pk=message_id).first()
        if message is None or message.escalation != Message.Escalation.ACTIVE or message.policy is None:
            timer_clear(client, OutboxTimer.Kind.ESCALATION, message_id)
            return False
        # The message says when its next step is due (the timer row is leased forward by the
        # sweep while a worker has it, so it cannot say).
        if message.next_step_at is not None and message.next_step_at > now:
            return False
        timer_clear(client, OutboxTimer.Kind.ESCALATION, message_id)
        _advance(message, client=client, at=now)
    return True


@dataclass
class Outcome:
    status: str  # sent, delivered, retry, failed, cancelled, busy
    detail: str = ""


def delivery_send(*, delivery_id: int, client: Client | None = None) -> Outcome:
    """Send one attempt, exactly once. Safe to run any number of times, at once or after a crash."""
    client = client or client_current()
    now = timezone.now()
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related("message", "person")
                    .filter(pk=delivery_id).first())
        if delivery is None:
            return Outcome("busy", "locked by another worker, or gone")
        if delivery.status in FINAL:
            timer_clear(client, OutboxTimer.Kind.DELIVERY, delivery.pk)
            return Outcome(delivery.status, "already final")
        interrupted = delivery.status == Delivery.Status.SENDING
        if interrupted and delivery.lease_until and delivery.lease_until > now:
            return Outcome("busy", "another worker is sending it")
        if delivery.status == Delivery.Status.QUEUED and delivery.due_at > now:
            return Outcome("busy", "not due yet")
        if delivery.message.acknowledged_at is not None:
            # An interrupted send of a message acknowledged meanwhile: nothing more to send.
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.CANCELLED, lease_until=None)
            event_record(delivery.message, "cancelled", "The message was acknowledged before this was sent.", delivery)
            timer_clear(client, OutboxTimer.Kind.DELIVERY, delivery.pk)
            return Outcome("cancelled")
        delivery.status = Delivery.Status.SENDING
        delivery.tries += 1
        delivery.lease_until = now + LEASE
        delivery.save(update_fields=["status", "tries", "lease_until"])
        # If this worker dies from here on, the timer brings the row back after the lease.
        timer_set(client, OutboxTimer.Kind.DELIVERY, delivery.pk, delivery.lease_until)
        # The gate's answer (and its ledger entry) commits with the claim: one commit, not two.
        refused = _gate(delivery, client=client)
    if refused is not None:
        return _failed(delivery, client, refused)
    # The send itself runs outside any transaction: a slow Twilio must not hold row locks.
    try:
        result = _send(delivery, client=client, interrupted=interrupted)
    except gateway.GatewayError as exc:
        return _failed(delivery, client, exc)
    with transaction.atomic():
        status = Delivery.Status.DELIVERED if result.status == "delivered" else Delivery.Status.SENT
        fields = {"provider_sid": result.sid or "", "sent_at": timezone.now(), "lease_until": None}
        if status == Delivery.Status.DELIVERED:
            fields["delivered_at"] = fields["sent_at"]
        # Conditional: a status callback may have overtaken us (delivered already).
        if not Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(status=status, **fields):
            Delivery.objects.filter(pk=delivery.pk).update(provider_sid=fields["provider_sid"],
                                                           sent_at=fields["sent_at"], lease_until=None)
        event_record(delivery.message, "sent", result.detail or f"{delivery.get_channel_display()} handed over"
               + (f" ({result.sid})" if result.sid else "") + ".", delivery)
        if status == Delivery.Status.DELIVERED:
            event_record(delivery.message, "delivered", "", delivery)
        timer_clear(client, OutboxTimer.Kind.DELIVERY, delivery.pk)
    portal_push(client, {"type": "message_changed", "message": delivery.message_id})
    return Outcome(status)


@dataclass
class _Result:
    sid: str = ""
    status: str = "sent"
    detail: str = ""


def _gate(delivery: Delivery, *, client: Client) -> gateway.GatewayError | None:
    """Ask the compliance gate, immediately before the send, whether this text or call may go."""
    if delivery.channel not in (Channel.SMS, Channel.CALL):
        return None
    decision = contact_decide(client=client, number=delivery.address, purpose=Purpose.STAFF,
                              channel=GateChannel.SMS if delivery.channel == Channel.SMS else GateChannel.PRERECORDED,
                              asked_by=f"delivery {delivery.pk}")
    if decision.allowed:
        return None
    reasons = "; ".join(r.text for r in decision.denials)
    return gateway.GatewayError(f"The compliance gate refused: {reasons}", code=None, status=451)


def _send(delivery: Delivery, *, client: Client, interrupted: bool) -> _Result:
    message = delivery.message
    if delivery.channel in (Channel.SMS, Channel.CALL):
        sender, account = sender_number(client)
        body = sms_body(message, client=client) if delivery.channel == Channel.SMS else ""
        twilio = gateway.get()
        if interrupted:
            # The last try may have reached Twilio before its worker died: ask before sending.
            sid = twilio.sent_find(channel=delivery.channel, to=delivery.address, from_=sender, body=body,
                                   since=delivery.created - timedelta(seconds=5), account_sid=account)
            if sid:
                return _Result(sid=sid, detail=f"Found already sent ({sid}) after an interrupted try.")
        if delivery.channel == Channel.SMS:
            sent = twilio.sms_send(to=delivery.address, from_=sender, body=body, account_sid=account,
                                   status_callback=twilio_url("twilio_messaging_status") + f"?client={client.schema_name}")
        else:
            sent = twilio.call_create(to=delivery.address, from_=sender, account_sid=account,
                                      url=twilio_url("twilio_callout", client.schema_name, delivery.pk),
                                      status_callback=twilio_url("twilio_callout_status", client.schema_name, delivery.pk))
        return _Result(sid=sent.sid)
    if delivery.channel == Channel.EMAIL:
        return _email_send(delivery, client=client)
    return _webhook_send(delivery, client=client)


def _failed(delivery: Delivery, client: Client, exc: gateway.GatewayError) -> Outcome:
    permanent = exc.permanent or delivery.tries >= MAX_TRIES
    with transaction.atomic():
        code = str(exc.code or exc.status or "")
        if permanent:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED, failed_at=timezone.now(), error_code=code, error=str(exc)[:300],
                lease_until=None)
            event_record(delivery.message, "failed", str(exc)[:300], delivery)
            timer_clear(client, OutboxTimer.Kind.DELIVERY, delivery.pk)
            # Twilio's 21610: the person texted STOP to our number — an opt-out, effective at once.
            twilio_send_error_record(client=client, number=delivery.address, error_code=exc.code or "",
                                     added_by=f"delivery {delivery.pk}")
            alert_raise(client, delivery.message, SupervisorAlert.Kind.DELIVERY_FAILED,
                   f"{client.name}: {delivery.get_channel_display().lower()} to {delivery.person or delivery.address} "
                   f"failed for good — {str(exc)[:200]}")
        else:
            wait = BACKOFF_SECONDS[min(delivery.tries, len(BACKOFF_SECONDS)) - 1]
            due = timezone.now() + timedelta(seconds=wait)
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.QUEUED, due_at=due, error_code=code, error=str(exc)[:300], lease_until=None)
            event_record(delivery.message, "retry", f"{exc} — trying again in {wait} s.", delivery)
            timer_set(client, OutboxTimer.Kind.DELIVERY, delivery.pk, due)
            transaction.on_commit(lambda: send_soon(client.schema_name, delivery.pk, countdown=wait))
    portal_push(client, {"type": "message_changed", "message": delivery.message_id})
    return Outcome("failed" if permanent else "retry", str(exc))


def sender_number(client: Client) -> tuple[str, str]:
    """The client's number that texts and call-outs go from, and the Twilio (sub)account
    that owns it ("" for the platform's own account)."""
    found = client.phone_numbers.order_by("pk").values_list("number", "twilio_account_sid").first()
    if not found:
        raise gateway.GatewayError(f"{client.name} has no phone number to send from.", status=400)
    return found


def _email_send(delivery: Delivery, *, client: Client) -> _Result:
    message = delivery.message
    context = email_context(message, client=client)
    email = EmailMessage(subject=context["subject"], body=render_to_string("portal/email/message.txt", context),
                         to=[delivery.address], headers={"X-Switchboard-Message": str(message.pk)})
    try:
        email.send()
    except OSError as exc:  # SMTP refused or unreachable: retried like any transient failure
        raise gateway.GatewayError(f"The mail server did not take it: {exc}") from exc
    return _Result(detail=f"Email accepted by the mail server for {delivery.address}.")


def _webhook_send(delivery: Delivery, *, client: Client) -> _Result:
    """A rules' webhook step is the message's ``message.created`` event to the endpoint with the
    step's URL, sent (signed, retried) by ``webhooks.sending``; this attempt then follows it."""
    from webhooks import events, services

    try:
        status, detail = services.rule_delivery_hand_over(delivery=delivery, payload=events.message_data(delivery.message),
                                                          client=client)
    except services.WebhookRefused as refused:
        raise gateway.GatewayError(str(refused), status=400) from refused
    return _Result(status=status, detail=detail)


_TWILIO_STATUS = {"queued": "sent", "accepted": "sent", "sending": "sent", "sent": "sent", "delivered": "delivered",
                  "read": "delivered", "undelivered": "failed", "failed": "failed", "canceled": "failed",
                  # calls
                  "initiated": "sent", "ringing": "sent", "in-progress": "delivered", "answered": "delivered",
                  "busy": "failed", "no-answer": "failed"}


_SAID = {"in-progress": "Picked up the call-out.", "answered": "Picked up the call-out.",
         "delivered": "Delivered to the phone (Twilio).", "read": "Read (Twilio)."}


def delivery_status_record(*, delivery: Delivery, provider_status: str, error_code: str = "", sid: str = "",
                           client: Client | None = None) -> bool:
    """A Twilio status callback for an attempt; never moves it backwards. True if it changed."""
    client = client or client_current()
    status = _TWILIO_STATUS.get(provider_status)
    if provider_status == "completed":  # a call: answered (in-progress came first) or not
        status = "delivered" if delivery.delivered_at else "failed"
    if status is None:
        return False
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if sid and not delivery.provider_sid:
            Delivery.objects.filter(pk=delivery.pk).update(provider_sid=sid)
        if RANK[status] <= RANK[delivery.status] and not (status == "failed" and delivery.status == "sent"):
            return False
        now = timezone.now()
        if status == "delivered":
            Delivery.objects.filter(pk=delivery.pk).update(status=status, delivered_at=now)
            event_record(delivery.message, "delivered", _SAID.get(provider_status, f"Twilio: {provider_status}."), delivery)
        elif status == "failed":
            Delivery.objects.filter(pk=delivery.pk).update(status=status, failed_at=now, error_code=error_code or "",
                                                           error=f"Twilio: {provider_status}")
            event_record(delivery.message, "failed", f"Twilio: {provider_status}" + (f" (error {error_code})" if error_code
                                                                                 else "") + ".", delivery)
            twilio_send_error_record(client=client, number=delivery.address, error_code=error_code,
                                     added_by=f"delivery {delivery.pk}")  # 21610: an opt-out, as above
            supervisors_push()  # a failed delivery is on the wallboard
        else:
            return False
    portal_push(client, {"type": "message_changed", "message": delivery.message_id})
    return True
