"""Acknowledging a message — a portal click, an SMS reply, 1 pressed on a call-out — stops
its escalation in one transaction: queued attempts cancelled, timers deleted, call-outs
still ringing hung up."""

from __future__ import annotations

import logging
import re

from django.db import transaction
from django.utils import timezone

from answering import live
from answering.acd.models import OutboxTimer, SupervisorAlert
from answering.messages.delivery import sender_number
from answering.messages.outbox import event_record, portal_push, timer_clear
from answering.messages.texts import caller_label
from answering.models import (
    Channel,
    Delivery,
    Message,
)
from answering.twilio import gateway
from tenants.models import Client
from tenants.selectors import client_current

logger = logging.getLogger(__name__)


def message_acknowledge(*, message: Message, by: str, via: str, delivery: Delivery | None = None,
                        client: Client | None = None) -> bool:
    """Someone has it: stop the escalation. Exactly once — True only for the first acknowledgement."""
    client = client or client_current()
    now = timezone.now()
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=by[:160], acknowledged_via=via, updated=now,
            escalation=_after_ack(message))
        if not changed:
            return False
        pending = list(Delivery.objects.filter(message=message, status__in=[Delivery.Status.QUEUED])
                       .values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=pending).update(status=Delivery.Status.CANCELLED)
        if delivery is not None:
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.ACKNOWLEDGED, acknowledged_at=now)
        OutboxTimer.objects.filter(client=client, kind=OutboxTimer.Kind.DELIVERY, object_id__in=pending).delete()
        timer_clear(client, OutboxTimer.Kind.ESCALATION, message.pk)
        event_record(message, "acknowledged", f"By {by} ({ACK_VIA.get(via, via)})" +
               (f"; {len(pending)} pending attempt{'s' if len(pending) != 1 else ''} cancelled." if pending else "."),
               delivery)
        alerts = SupervisorAlert.objects.filter(client=client, message_id=message.pk, resolved_at__isnull=True)
        alerts.update(resolved_at=now)
        from webhooks import events  # message.acknowledged, committed with the acknowledgement

        events.message_acknowledged(message, client=client)
        # Call-outs still ringing are hung up: nobody else need pick up for this message.
        ringing = list(Delivery.objects.filter(message=message, channel=Channel.CALL, status=Delivery.Status.SENT)
                       .exclude(provider_sid="").exclude(pk=getattr(delivery, "pk", None))
                       .values_list("provider_sid", flat=True))
        account = sender_number(client)[1] if ringing else ""  # the call-outs went from the client's number
        transaction.on_commit(lambda: _calls_end(ringing, account))
    message.refresh_from_db()
    portal_push(client, {"type": "message_changed", "message": message.pk, "acknowledged": True})
    # Always: the wallboard may show it as an alert, an urgent message or a failed delivery.
    transaction.on_commit(lambda: live.push(live.SUPERVISORS_GROUP, {"type": "alerts_changed"}))
    return True


def _calls_end(sids: list[str], account_sid: str) -> None:
    for sid in sids:
        try:
            gateway.get().call_end(sid, account_sid=account_sid)
        except gateway.GatewayError:  # already over, most likely: nothing to stop
            logger.info("call-out %s could not be ended (already over?)", sid)


ACK_VIA = {"portal": "in the portal", "sms": "by text", "call": "on the call-out", "admin": "by the answering service",
           "patch": "patched through to them by the agent"}


def _after_ack(message: Message) -> str:
    return Message.Escalation.ACKNOWLEDGED if message.escalation != Message.Escalation.NONE else message.escalation


def message_file(*, message: Message, filed: bool = True) -> None:
    """File a message away (out of the inbox) or back."""
    Message.objects.filter(pk=message.pk).update(filed_at=timezone.now() if filed else None, updated=timezone.now())


_ACK_WORDS = re.compile(r"^\s*(?:ok(?:ay)?|ack(?:nowledged?)?|got it|on it|roger)\b[\s.!,:#-]*(\d{4})?\s*[.!]*\s*$",
                        re.IGNORECASE)


_CODE_ONLY = re.compile(r"^\s*#?(\d{4})\s*$")


def sms_acknowledge(*, from_number: str, body: str, client: Client | None = None) -> str | None:
    """An SMS that may acknowledge a message ("OK", "OK 4821", "4821"). Returns the reply to send,
    or None when the text is not an acknowledgement (or not from someone we texted)."""
    client = client or client_current()
    match = _ACK_WORDS.match(body) or _CODE_ONLY.match(body)
    if match is None:
        return None
    code = match.group(1)
    sent_to_them = Delivery.objects.filter(channel=Channel.SMS, address=from_number)
    open_messages = Message.objects.filter(pk__in=sent_to_them.values("message"), acknowledged_at__isnull=True,
                                           escalation__in=[Message.Escalation.ACTIVE, Message.Escalation.EXHAUSTED])
    if code:
        open_messages = open_messages.filter(short_code=code)
    candidates = list(open_messages.order_by("-created")[:5])
    if not candidates:
        if not sent_to_them.exists():
            return None
        return f"No open message{' with code ' + code if code else ''} to acknowledge."
    if len(candidates) > 1:
        codes = ", ".join(f"OK {m.short_code}" for m in candidates)
        return f"{len(candidates)} messages are open. Reply with its code: {codes}."
    message = candidates[0]
    delivery = sent_to_them.filter(message=message).order_by("-pk").first()
    person = delivery.person if delivery else None
    message_acknowledge(message=message, by=str(person or from_number), via="sms", delivery=delivery, client=client)
    who = caller_label(message, unknown="the caller")
    return f"Thanks — the message from {who} is acknowledged; nobody else will be alerted."


def callout_pressed(*, delivery: Delivery, digits: str, client: Client | None = None) -> bool:
    """The person on the call-out pressed ``digits``: 1 acknowledges."""
    client = client or client_current()
    if digits.strip() != "1":
        return False
    message_acknowledge(message=delivery.message, by=str(delivery.person or delivery.address), via="call",
                        delivery=delivery, client=client)
    return True
