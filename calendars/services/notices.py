"""Confirmations and reminders of appointments, and the replies to them (C confirms, R asks
to reschedule). Inside the client's schema.

1. ``notices_plan`` runs inside every booking transaction (``changes.appointment_changed``):
   a booking queues one ``AppointmentNotice`` per active rule that applies, each with its
   ``OutboxTimer`` — the same durable outbox as message delivery. A reschedule cancels the
   queued ones and queues the new start's; a cancellation cancels them.
2. ``notice_send`` (a Celery task; the timer's sweep is the safety net) claims the row with a
   lease, asks the compliance gate (informational purpose) immediately before the send, sends
   outside any transaction, and records the provider's SID. A try cut short by a crash asks
   the gateway (``sent_find``) before sending again: a text or call goes out once.
3. ``notice_status_record`` takes Twilio's status callbacks; ``notice_reply`` the replies.

Everything a person should see is an ``AppointmentEvent`` on the appointment's timeline.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer
from answering.messages.delivery import BACKOFF_SECONDS, MAX_TRIES, Outcome, sender_number
from answering.messages.outbox import LEASE, timer_clear, timer_set
from answering.messages.texts import twilio_url
from answering.twilio import gateway
from calendars.models import Appointment, AppointmentEvent, AppointmentNotice, Channel, ReminderRule
from calendars.selectors import calendar_zone
from compliance import location
from compliance.models import Consent
from compliance.rules import Channel as GateChannel
from compliance.rules import Purpose, sms_text_normalize
from compliance.services import consent_record, contact_decide, twilio_send_error_record
from tenants.models import Client
from tenants.selectors import client_current

logger = logging.getLogger(__name__)

N = AppointmentNotice.Status
Kind = ReminderRule.Kind

# A reminder due sooner than this after the booking is not worth sending (the confirmation
# just said the same).
MIN_LEAD = dt.timedelta(minutes=5)

# Denials that only say "not now": the notice waits for the calling window instead of failing.
HOURS_CODES = frozenset({"outside_federal_hours", "outside_state_hours", "outside_client_hours",
                         "state_sunday_ban", "state_holiday_ban"})
WINDOW_OPENS = dt.time(8, 0)  # the federal window's start (47 CFR 64.1200(c)(1)), where most waits end
LOOK_AGAIN = dt.timedelta(minutes=30)  # a stricter window (the client's, a state's) is tried again this often

CONFIRM_WORDS = frozenset({"c", "confirm", "confirmed"})  # not YES: an opt-in keyword of the gate's
RESCHEDULE_WORDS = frozenset({"r", "reschedule"})


# --- Planning, inside the booking's transaction ----------------------------------------------

def notices_plan(appointment: Appointment, kind: str) -> None:
    """Queue or cancel the appointment's notices for the change ``kind`` (booked, rescheduled,
    cancelled; others change nothing), inside its transaction: nothing is sent before the
    booking commits, and nothing planned is lost after."""
    if kind not in ("booked", "rescheduled", "cancelled"):
        return
    client = client_current()
    if kind != "booked":
        _queued_cancel(appointment, client=client)
    if kind == "cancelled":
        return
    if kind == "booked" and appointment.phone:
        _consent_record(appointment, client=client)
    now = timezone.now()
    rules = (ReminderRule.objects.filter(active=True)
             .filter(Q(types__isnull=True) | Q(types=appointment.type_id)).distinct())
    for rule in rules:
        address = appointment.email if rule.channel == Channel.EMAIL else appointment.phone
        if not address:
            continue
        if rule.kind == Kind.CONFIRMATION:
            due = now
        else:
            due = appointment.start - dt.timedelta(minutes=rule.minutes_before)
            if due < now + MIN_LEAD:
                continue
        notice = _queue(appointment, rule=rule, address=str(address), due=due)
        if notice is None:
            continue
        timer_set(client, OutboxTimer.Kind.NOTICE, notice.pk, due)
        if due <= now:
            transaction.on_commit(lambda pk=notice.pk, schema=client.schema_name: notice_send_soon(schema, pk))


def _queue(appointment: Appointment, *, rule: ReminderRule, address: str, due: dt.datetime) -> AppointmentNotice | None:
    """One notice of this rule for the appointment's start; None when it already has one (a
    move back to a start that was reminded already reminds nothing twice). A cancelled one
    (the appointment moved away and back) is queued again."""
    key = {"appointment": appointment, "kind": rule.kind, "channel": rule.channel, "for_start": appointment.start,
           "rule": rule}
    existing = AppointmentNotice.objects.filter(**key).first()
    if existing is None:
        return AppointmentNotice.objects.create(**key, address=address, due_at=due)
    if existing.status != N.CANCELLED:
        return None
    AppointmentNotice.objects.filter(pk=existing.pk).update(status=N.QUEUED, address=address, due_at=due, tries=0,
                                                            body="", error="", error_code="", lease_until=None)
    return existing


def _queued_cancel(appointment: Appointment, *, client: Client) -> int:
    """The queued notices of the appointment are void (it moved or was cancelled); one already
    being sent is left to its worker, which checks the appointment again after a crash."""
    pending = list(AppointmentNotice.objects.filter(appointment=appointment, status=N.QUEUED)
                   .values_list("pk", flat=True))
    AppointmentNotice.objects.filter(pk__in=pending).update(status=N.CANCELLED, lease_until=None)
    OutboxTimer.objects.filter(client=client, kind=OutboxTimer.Kind.NOTICE, object_id__in=pending).delete()
    return len(pending)


def _consent_record(appointment: Appointment, *, client: Client) -> None:
    """Giving a number to book an appointment is prior express consent to informational calls
    and texts about it (FCC, 7 FCC Rcd 8752 ¶31): recorded, with the booking as evidence, so
    the gate can allow its confirmation and reminders. An opt-out still wins (the gate checks
    the DNC list first)."""
    try:
        consent_record(client=client, number=str(appointment.phone), kind=Consent.Kind.EXPRESS,
                       source=Consent.Source.CALL if appointment.call_sid else Consent.Source.OTHER,
                       obtained_at=timezone.now(), recorded_by=f"appointment {appointment.pk}"[:200],
                       evidence=f"Gave this number booking {appointment.type} with {appointment.calendar}"
                                + (f" on call {appointment.call_sid}" if appointment.call_sid else "")
                                + (f" (booked by {appointment.booked_by})" if appointment.booked_by else "") + ".")
    except ValidationError:
        logger.info("no consent recorded for appointment %s: %r is not a number", appointment.pk, appointment.phone)


def notice_send_soon(schema: str, notice_id: int, countdown: int = 0) -> None:
    """Hand the notice to a worker now (the fast path; its timer is the safety net)."""
    from calendars.tasks import notice_send_task  # the task calls this module

    try:
        with schema_context(schema):
            notice_send_task.apply_async(args=[notice_id], countdown=countdown or None)
    except Exception:  # the broker is down: the sweep sends it when it can
        logger.exception("could not queue notice %s of %s; the sweep will", notice_id, schema)


# --- What a notice says ------------------------------------------------------------------

def _when(appointment: Appointment) -> str:
    """“Tue 2 Jun at 11:00” or, for field service, “Tue 2 Jun, arriving 8:00–10:00”, in the
    calendar's zone (the client's when it has none)."""
    zone = zoneinfo.ZoneInfo(calendar_zone(appointment.calendar))
    start = appointment.start.astimezone(zone)
    day = f"{start:%a} {start.day} {start:%b}"
    if appointment.window_end:
        end = appointment.window_end.astimezone(zone)
        return f"{day}, arriving {start.hour}:{start:%M}–{end.hour}:{end:%M}"
    return f"{day} at {start.hour}:{start:%M}"


def _what(appointment: Appointment) -> str:
    return f"your {appointment.type.name} with {appointment.calendar.name}"


def notice_body(notice: AppointmentNotice, *, client: Client) -> str:
    """The text (or the words spoken, or the email's body) of one notice, in local time."""
    appointment = notice.appointment
    what, when = _what(appointment), _when(appointment)
    moved = notice.kind == Kind.CONFIRMATION and appointment.events.filter(kind="rescheduled").exists()
    if notice.channel == Channel.CALL:
        return (f"Hello, this is {client.name} with a reminder: {what} is on {when}. "
                "To change it, please call us back at this number. Goodbye.")
    if notice.kind == Kind.REMINDER:
        lead = f"{client.name} reminder: {what} is {when}."
    elif moved:
        lead = f"{client.name}: {what} has moved to {when}."
    else:
        lead = f"{client.name}: {what} is booked for {when}."
    if notice.channel == Channel.EMAIL:
        return f"{lead}\n\nTo change it, call us or reply to this email."
    return f"{lead} Reply C to confirm, R to reschedule, STOP to opt out."


# --- Sending, exactly once -----------------------------------------------------------------

@dataclass
class _Result:
    sid: str = ""
    detail: str = ""


def notice_send(*, notice_id: int, client: Client | None = None) -> Outcome:
    """Send one notice, exactly once. Safe to run any number of times, at once or after a crash:
    claimed with a lease, asked of the gate first, looked up at Twilio before a retry."""
    client = client or client_current()
    now = timezone.now()
    with transaction.atomic():
        notice = (AppointmentNotice.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("appointment__type", "appointment__calendar").filter(pk=notice_id).first())
        if notice is None:
            return Outcome("busy", "locked by another worker, or gone")
        if notice.status in AppointmentNotice.FINAL:
            timer_clear(client, OutboxTimer.Kind.NOTICE, notice.pk)
            return Outcome(notice.status, "already final")
        interrupted = notice.status == N.SENDING
        if interrupted and notice.lease_until and notice.lease_until > now:
            return Outcome("busy", "another worker is sending it")
        if notice.status == N.QUEUED and notice.due_at > now:
            return Outcome("busy", "not due yet")
        appointment = notice.appointment
        if appointment.status != Appointment.Status.BOOKED or appointment.start != notice.for_start \
                or appointment.start <= now:
            # Moved, cancelled or begun since it was queued (or since an interrupted try).
            _finish(notice, client, N.CANCELLED, error="The appointment moved, was cancelled or has begun.")
            return Outcome("cancelled")
        # The last claim's time: an interrupted try asks Twilio about texts from then on.
        since = (notice.lease_until - LEASE if notice.lease_until else notice.created) - dt.timedelta(seconds=5)
        if not interrupted or not notice.body:
            # Fixed at the first try: a retry after a crash looks for this very text.
            notice.body = notice_body(notice, client=client)
        notice.status = N.SENDING
        notice.tries += 1
        notice.lease_until = now + LEASE
        notice.save(update_fields=["status", "tries", "lease_until", "body"])
        # If this worker dies from here on, the timer brings the row back after the lease.
        timer_set(client, OutboxTimer.Kind.NOTICE, notice.pk, notice.lease_until)
        # The gate's answer (and its ledger entry) commits with the claim.
        refused = _gate(notice, client=client, now=now)
        if refused is not None:
            return refused
    try:
        result = _send(notice, client=client, interrupted=interrupted, since=since)
    except gateway.GatewayError as exc:
        return _failed(notice, client, exc)
    with transaction.atomic():
        fields = {"provider_sid": result.sid, "sent_at": timezone.now(), "lease_until": None}
        # Conditional: a status callback may have overtaken us (delivered already).
        if not AppointmentNotice.objects.filter(pk=notice.pk, status=N.SENDING).update(status=N.SENT, **fields):
            AppointmentNotice.objects.filter(pk=notice.pk).update(**fields)
        _event(appointment, f"{notice.kind}_sent",
               result.detail or f"{notice.get_channel_display()} to {notice.address}"
               + (f" ({result.sid})." if result.sid else "."), notice=notice.pk, sid=result.sid)
        timer_clear(client, OutboxTimer.Kind.NOTICE, notice.pk)
    return Outcome(N.SENT)


def _gate(notice: AppointmentNotice, *, client: Client, now: dt.datetime) -> Outcome | None:
    """Ask the compliance gate, immediately before the send, whether this text or call may go
    (inside the claim's transaction). Outside the calling hours it waits for them, unless they
    open only after the appointment; any other denial refuses it for good."""
    if notice.channel == Channel.EMAIL:
        return None
    decision = contact_decide(client=client, number=notice.address, purpose=Purpose.INFORMATIONAL,
                              channel=GateChannel.SMS if notice.channel == Channel.SMS else GateChannel.PRERECORDED,
                              asked_by=f"appointment notice {notice.pk}")
    if decision.allowed:
        return None
    reasons = "; ".join(r.text for r in decision.denials)
    if decision.codes <= HOURS_CODES:
        later = _window_next(notice.address, now, client=client)
        if later < notice.appointment.start:
            AppointmentNotice.objects.filter(pk=notice.pk).update(
                status=N.QUEUED, due_at=later, tries=max(notice.tries - 1, 0), lease_until=None,
                error_code="hours", error=reasons[:300])
            if notice.error_code != "hours":  # once on the timeline, not at every look
                local = later.astimezone(client.tz)
                _event(notice.appointment, "notice_deferred", f"{notice.get_kind_display()}: outside calling hours; "
                       f"waits until {local:%a %H:%M} ({reasons})", notice=notice.pk)
            timer_set(client, OutboxTimer.Kind.NOTICE, notice.pk, later)
            return Outcome("deferred", reasons)
        reasons = f"{reasons} — the hours open again only after the appointment"
    _finish(notice, client, N.REFUSED, error=reasons, code=",".join(sorted(decision.codes))[:16])
    _event(notice.appointment, "notice_refused", f"{notice.get_kind_display()} by "
           f"{notice.get_channel_display().lower()} not sent: {reasons}", notice=notice.pk,
           reasons=[r.as_dict() for r in decision.denials], ledger=decision.ledger_id)
    return Outcome(N.REFUSED, reasons)


def _window_next(number: str, now: dt.datetime, *, client: Client) -> dt.datetime:
    """When to ask the gate again: the next 08:00 in every zone the number may ring in (the
    latest of them), or, when that is not later (a stricter window, a day's ban), a little later."""
    zones = location.number_time_zones(number) or (client.time_zone,)
    openings = []
    for name in zones:
        zone = zoneinfo.ZoneInfo(name)
        local = now.astimezone(zone)
        day = local.date() if local.time() < WINDOW_OPENS else local.date() + dt.timedelta(days=1)
        openings.append(dt.datetime.combine(day, WINDOW_OPENS, zone))
    later = max(openings) + dt.timedelta(minutes=1)
    return later if later - now > dt.timedelta(minutes=1) else now + LOOK_AGAIN


def _send(notice: AppointmentNotice, *, client: Client, interrupted: bool, since: dt.datetime) -> _Result:
    if notice.channel == Channel.EMAIL:
        return _email_send(notice, client=client)
    sender, account = sender_number(client)
    twilio = gateway.get()
    body = notice.body if notice.channel == Channel.SMS else ""
    if interrupted:
        # The last try may have reached Twilio before its worker died: ask before sending.
        sid = twilio.sent_find(channel=notice.channel, to=notice.address, from_=sender, body=body, since=since,
                               account_sid=account)
        if sid:
            return _Result(sid=sid, detail=f"Found already sent ({sid}) after an interrupted try.")
    status_url = twilio_url("twilio_notice_status", client.schema_name, notice.pk)
    if notice.channel == Channel.SMS:
        sent = twilio.sms_send(to=notice.address, from_=sender, body=body, account_sid=account,
                               status_callback=status_url)
    else:
        sent = twilio.call_create(to=notice.address, from_=sender, account_sid=account, status_callback=status_url,
                                  url=twilio_url("twilio_notice_call", client.schema_name, notice.pk))
    return _Result(sid=sent.sid)


def _email_send(notice: AppointmentNotice, *, client: Client) -> _Result:
    appointment = notice.appointment
    subject = f"{client.name}: {appointment.type.name} {_when(appointment)}"
    email = EmailMessage(subject=subject, body=notice.body, to=[notice.address],
                         headers={"X-Switchboard-Notice": str(notice.pk)})
    try:
        email.send()
    except OSError as exc:  # SMTP refused or unreachable: retried like any transient failure
        raise gateway.GatewayError(f"The mail server did not take it: {exc}") from exc
    return _Result(detail=f"Email accepted by the mail server for {notice.address}.")


def _failed(notice: AppointmentNotice, client: Client, exc: gateway.GatewayError) -> Outcome:
    """A permanent error (or too many tries) fails it, on the timeline; a transient one is
    tried again after a back-off, like a message's delivery."""
    permanent = exc.permanent or notice.tries >= MAX_TRIES
    code = str(exc.code or exc.status or "")
    with transaction.atomic():
        if permanent:
            _finish(notice, client, N.FAILED, error=str(exc), code=code)
            _event(notice.appointment, "notice_failed", f"{notice.get_kind_display()} to {notice.address}: {exc}",
                   notice=notice.pk, code=code)
            # Twilio's 21610: the person texted STOP to our number — an opt-out, effective at once.
            twilio_send_error_record(client=client, number=notice.address, error_code=exc.code or "",
                                     added_by=f"appointment notice {notice.pk}")
        else:
            wait = BACKOFF_SECONDS[min(notice.tries, len(BACKOFF_SECONDS)) - 1]
            due = timezone.now() + dt.timedelta(seconds=wait)
            AppointmentNotice.objects.filter(pk=notice.pk).update(status=N.QUEUED, due_at=due, error_code=code[:16],
                                                                  error=str(exc)[:300], lease_until=None)
            timer_set(client, OutboxTimer.Kind.NOTICE, notice.pk, due)
            transaction.on_commit(lambda: notice_send_soon(client.schema_name, notice.pk, countdown=wait))
    return Outcome("failed" if permanent else "retry", str(exc))


def _finish(notice: AppointmentNotice, client: Client, status: str, *, error: str = "", code: str = "") -> None:
    AppointmentNotice.objects.filter(pk=notice.pk).update(status=status, error=error[:300], error_code=code[:16],
                                                          lease_until=None)
    timer_clear(client, OutboxTimer.Kind.NOTICE, notice.pk)


def _event(appointment: Appointment, kind: str, detail: str, by: str = "notices", **data) -> None:
    """On the appointment's timeline, and the portal's live pages told after the commit."""
    from calendars.services.changes import appointment_changed

    AppointmentEvent.objects.create(appointment=appointment, kind=kind[:20], by=by[:200], detail=detail[:300],
                                    data=data)
    appointment_changed(appointment, kind)


# --- Twilio's status callbacks ---------------------------------------------------------------

_TWILIO_STATUS = {"delivered": N.DELIVERED, "read": N.DELIVERED, "undelivered": N.FAILED, "failed": N.FAILED,
                  "canceled": N.FAILED, "in-progress": N.DELIVERED, "answered": N.DELIVERED, "busy": N.FAILED,
                  "no-answer": N.FAILED}


def notice_status_record(*, notice: AppointmentNotice, provider_status: str, error_code: str = "", sid: str = "",
                         client: Client | None = None) -> bool:
    """A Twilio status callback for a notice's text or call: delivered or failed, once, never
    backwards (a late "sent" after "delivered" changes nothing). True if it changed."""
    client = client or client_current()
    status = _TWILIO_STATUS.get(provider_status)
    if provider_status == "completed":  # a call: answered (in-progress came first) or not
        status = None if notice.delivered_at else N.FAILED
    if status is None:
        return False
    with transaction.atomic():
        notice = AppointmentNotice.objects.select_for_update().select_related("appointment").get(pk=notice.pk)
        if sid and not notice.provider_sid:
            AppointmentNotice.objects.filter(pk=notice.pk).update(provider_sid=sid[:64])
        if notice.status not in (N.SENDING, N.SENT):
            return False
        what = f"{notice.get_kind_display()} by {notice.get_channel_display().lower()}"
        if status == N.DELIVERED:
            AppointmentNotice.objects.filter(pk=notice.pk).update(status=status, delivered_at=timezone.now())
            _event(notice.appointment, "notice_delivered", f"{what}: {provider_status} (Twilio).", notice=notice.pk)
        else:
            AppointmentNotice.objects.filter(pk=notice.pk).update(status=status, error_code=str(error_code)[:16],
                                                                  error=f"Twilio: {provider_status}")
            _event(notice.appointment, "notice_failed", f"{what}: {provider_status} (Twilio)"
                   + (f", error {error_code}." if error_code else "."), notice=notice.pk, code=error_code)
            twilio_send_error_record(client=client, number=notice.address, error_code=error_code,
                                     added_by=f"appointment notice {notice.pk}")  # 21610: an opt-out
    return True


# --- Replies: C confirms, R asks for a call to reschedule -------------------------------------

def notice_reply(*, client: Client, from_number: str, body: str) -> str | None:
    """A text to the client's number answering one of its notices: "C" (or CONFIRM) confirms the
    person's latest upcoming appointment that was texted to that number, "R" (or RESCHEDULE)
    asks for a call back to find a new time (a follow-up in the callbacks campaign). The reply
    to send, or None when it is neither or no notice went to that number (then the text is
    someone else's business). Runs in the client's schema, after the gate's keywords; only this
    client's notices are looked at."""
    word = sms_text_normalize(body)
    if word not in CONFIRM_WORDS | RESCHEDULE_WORDS:
        return None
    number = location.normalize(from_number or "")
    if number is None:
        return None
    now = timezone.now()
    notice = (AppointmentNotice.objects.filter(address=number, channel=Channel.SMS, status__in=[N.SENT, N.DELIVERED],
                                               appointment__status=Appointment.Status.BOOKED,
                                               appointment__start__gt=now)
              .select_related("appointment__type", "appointment__calendar").order_by("-sent_at", "-pk").first())
    if notice is None:
        return None
    appointment = notice.appointment
    said = f"{_what(appointment)}, {_when(appointment)}"
    with transaction.atomic():
        if word in CONFIRM_WORDS:
            if Appointment.objects.filter(pk=appointment.pk, confirmed_at__isnull=True).update(confirmed_at=now):
                _event(appointment, "confirmed", f"Confirmed by a text from {number}.", by=f"text from {number}",
                       notice=notice.pk)
            return f"{client.name}: thanks, confirmed: {said}."
        from campaigns.services.followups import followup_create

        followup_create(number=number, first_name=appointment.name,
                        reason=f"Asked to reschedule {appointment.type.name} with {appointment.calendar.name}, "
                               f"{_when(appointment)} (appointment {appointment.pk}).")
        _event(appointment, "reschedule_requested", f"Asked by a text from {number} to reschedule; "
               "a call back is queued.", by=f"text from {number}", notice=notice.pk)
    return f"{client.name}: we will call you to find a new time for {said}."
