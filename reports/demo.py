"""The demo's history: a few weeks of call records, messages and (for clients with calendars)
appointments before today, so `make run` opens on reports with something in them and the
billing statement has calls to bill. Drawn from a seeded random generator (the same history
on every machine), written with ``bulk_create``: a few thousand rows in well under a second.

Idempotent: a client whose history exists (call SIDs ``CAhist…``) is left alone. Nothing is
delivered, nothing rings: the messages are acknowledged and filed (out of the inbox), the
appointments are in the past (done, no-shows, cancelled), so the live demo is as before.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

from django.db import transaction
from django_tenants.utils import schema_context

from answering.acd.models import PresenceInterval
from answering.models import CallRecord, Message
from calendars.models import Appointment, AppointmentEvent, AppointmentType, Calendar
from tenants.models import Client, Role, User

PREFIX = "CAhist"
# Calls on a weekday and on a weekend day, and the share of each hour (local) on weekdays:
# a morning peak, a smaller one after lunch, a trickle after hours (emergencies, the clinic's nurse line).
VOLUME = {"northside": (70, 22), "bayview": (95, 8), "harpercole": (45, 4)}
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 11, 8, 10, 11, 10, 8, 6, 4, 3, 3, 2, 2, 1]
AGENTS = {"northside": ("ana@switchboard.example", "ben@switchboard.example"),
          "bayview": ("ana@switchboard.example",),
          "harpercole": ("ana@switchboard.example", "ben@switchboard.example")}
NAMES = ("Pat Lee", "Rosa Delgado", "Tom Becker", "Gail Turner", "Sam Ortiz", "Lena Park", "Omar Haddad",
         "Ivy Chen", "Noah Brooks", "Mia Santos", "Eli Fischer", "Ada Nwosu")
CATEGORIES = {"northside": (("Emergency", "dispatch", 0.18), ("Service request", "message", 1.0)),
              "bayview": (("Nurse call-back", "dispatch", 0.08), ("Appointment request", "message", 1.0)),
              "harpercole": (("Urgent matter", "dispatch", 0.05), ("New client intake", "message", 1.0))}


def history_demo_seed(slug: str, weeks: int = 4, *, today: dt.date | None = None) -> int:
    """``weeks`` weeks of history before ``today`` (the client's local date) for client ``slug``:
    returns the calls written (0 when its history exists already)."""
    client = Client.objects.filter(schema_name=slug).first()
    if client is None:
        return 0
    tz = zoneinfo.ZoneInfo(client.time_zone)
    today = today or dt.datetime.now(tz).date()
    agents = [u.pk for u in User.objects.filter(email__in=AGENTS.get(slug, ()))] or [
        u.pk for u in User.objects.filter(role=Role.AGENT, agent_profile__clients=client)]
    with schema_context(slug):
        if CallRecord.objects.filter(call_sid__startswith=PREFIX).exists():
            return 0
        rng = random.Random(f"history-{slug}")
        with transaction.atomic():
            calls = _calls(slug, client, tz, today, weeks, agents, rng)
            _messages(slug, calls, rng)
            _appointments(tz, today, weeks, rng)
        return len(calls)


DEMO_AGENTS = tuple(sorted({email for emails in AGENTS.values() for email in emails}))
# How the demo's agents work around their calls (presence_demo_seed): they log in a little before
# a call after a long gap, take a break in a middling one, log out in a long one.
LOGIN_BEFORE, LOGOUT_AFTER = dt.timedelta(minutes=20), dt.timedelta(minutes=15)
BREAK_GAP, LOGOUT_GAP = dt.timedelta(minutes=50), dt.timedelta(hours=2)


def presence_demo_seed(weeks: int = 4, *, today: dt.date | None = None, emails: tuple[str, ...] = DEMO_AGENTS) -> int:
    """The demo agents' presence log over the seeded history (``history_demo_seed`` of every
    client first: an agent's presence spans the clients they serve), so occupancy means
    something: on a call and in wrap-up exactly when the call records say, available between
    calls, a break in a gap of 50 minutes, logged out in one of two hours. Returns the
    intervals written. Idempotent: an agent with any closed interval before the history's end
    is left alone; an open one begun earlier (the current status) now begins where the
    seeded history ends."""
    today = today or dt.date.today()
    since = dt.datetime.combine(today - dt.timedelta(days=weeks * 7 + 1), dt.time(0), tzinfo=dt.UTC)
    agents = {u.pk: [] for u in User.objects.filter(email__in=emails)}
    for client in Client.objects.exclude(schema_name="public"):
        with schema_context(client.schema_name):
            agents_calls = (CallRecord.objects.filter(call_sid__startswith=PREFIX, agent_id__in=agents,
                                                      answered_at__gte=since, ended_at__isnull=False)
                            .values_list("agent_id", "answered_at", "ended_at", "wrap_up_seconds"))
            for agent_id, answered, ended, wrap in agents_calls:
                agents[agent_id].append((answered, ended, ended + dt.timedelta(seconds=wrap or 0)))
    rows = []
    with transaction.atomic():
        for agent_id, calls in agents.items():
            if not calls:
                continue
            stretches = _presence_stretches(sorted(calls))
            history_end = stretches[-1][2]
            if PresenceInterval.objects.filter(agent_id=agent_id, started__lt=history_end,
                                               ended__isnull=False).exists():
                continue
            PresenceInterval.objects.filter(agent_id=agent_id, ended__isnull=True, started__lt=history_end).update(
                started=history_end)
            rows += [PresenceInterval(agent_id=agent_id, status=status, started=start, ended=end)
                     for status, start, end in stretches]
        PresenceInterval.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _presence_stretches(calls: list[tuple[dt.datetime, dt.datetime, dt.datetime]]) -> list[tuple]:
    """``(status, start, end)`` back to back around one agent's calls (answered, ended, wrap-up
    end) in order; a call answered before the last one's wrap-up ended (the seeded history
    draws agents at random) starts when the agent was free."""
    out: list[tuple] = []

    def add(status: str, start: dt.datetime, end: dt.datetime) -> None:
        if end > start:
            out.append((status, start, end))

    free = None
    for answered, ended, wrapped in calls:
        if free is not None and answered < free:
            answered, ended, wrapped = free, max(ended, free), max(wrapped, free)
        if free is None:
            add("available", answered - LOGIN_BEFORE, answered)
        elif answered - free > LOGOUT_GAP:
            add("available", free, free + LOGOUT_AFTER)
            add("offline", free + LOGOUT_AFTER, answered - LOGIN_BEFORE)
            add("available", answered - LOGIN_BEFORE, answered)
        elif answered - free > BREAK_GAP:
            add("available", free, free + dt.timedelta(minutes=10))
            add("break", free + dt.timedelta(minutes=10), answered - dt.timedelta(minutes=10))
            add("available", answered - dt.timedelta(minutes=10), answered)
        else:
            add("available", free, answered)
        add("on_call", answered, ended)
        add("wrap_up", ended, wrapped)
        free = max(wrapped, ended)
    add("available", free, free + LOGOUT_AFTER)
    return out


def _number(rng: random.Random, area: str) -> str:
    return f"+1{area}555{rng.randint(2000, 9999):04d}"


def _calls(slug: str, client: Client, tz, today: dt.date, weeks: int, agents: list[int],
           rng: random.Random) -> list[CallRecord]:
    dialed = str(client.phone_numbers.order_by("pk").values_list("number", flat=True).first() or "+12125550000")
    area = dialed[2:5]
    weekday_volume, weekend_volume = VOLUME.get(slug, (40, 5))
    has_hold = any(f.name == "hold_seconds" for f in CallRecord._meta.get_fields())
    records, n = [], 0
    for offset in range(weeks * 7, 0, -1):
        day = today - dt.timedelta(days=offset)
        volume = weekend_volume if day.weekday() >= 5 else weekday_volume
        volume = max(0, round(rng.gauss(volume, volume * 0.15)))
        for _ in range(volume):
            hour = rng.choices(range(24), weights=HOURS)[0]
            local = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=tz)
            arrived = local.astimezone(dt.UTC)
            n += 1
            kind = rng.random()
            fields = {"call_sid": f"{PREFIX}{n:08d}", "caller": _number(rng, area), "number_dialed": dialed,
                      "arrived_at": arrived, "language": "es" if slug == "bayview" and rng.random() < 0.35 else "en"}
            ivr = dt.timedelta(seconds=rng.randint(8, 30))  # greeting and menu
            if kind < 0.04:  # information only (hours, address)
                fields.update(outcome="information", menu_choice="open:3", ended_at=arrived + ivr)
            elif kind < 0.07:  # voicemail chosen in the menu
                fields.update(outcome="voicemail", menu_choice="after_hours:2", ended_at=arrived + ivr * 3)
            else:
                queued = arrived + ivr
                fields.update(queued_at=queued, menu_choice="open:1" if rng.random() < 0.6 else "open:2")
                busy = HOURS[hour] / max(HOURS)  # the peaks wait longer
                wait = int(rng.expovariate(1 / (4 + 14 * busy)))
                roll = rng.random()
                if roll < 0.07 + 0.05 * busy:  # hung up in the queue (some within seconds)
                    wait = min(wait, rng.choice([2, 3, 8, 15, 30, 60, 90]))
                    fields.update(outcome="abandoned", wait_seconds=wait, ended_at=queued + dt.timedelta(seconds=wait))
                elif wait > 170 or roll > 0.985:  # the queue's longest wait: to voicemail
                    wait = 180
                    fields.update(outcome="voicemail", wait_seconds=wait, ended_at=queued + dt.timedelta(seconds=wait))
                else:
                    talk = max(20, int(rng.lognormvariate(5.0, 0.5)))  # about 2½ minutes
                    wrap = rng.randint(10, 60)
                    answered = queued + dt.timedelta(seconds=wait)
                    fields.update(outcome="answered", wait_seconds=wait, talk_seconds=talk, wrap_up_seconds=wrap,
                                  offered_at=answered - dt.timedelta(seconds=2), answered_at=answered,
                                  ended_at=answered + dt.timedelta(seconds=talk),
                                  agent_id=rng.choice(agents) if agents else None,
                                  disposition="message")
                    if has_hold:
                        fields["hold_seconds"] = rng.randint(10, 90) if rng.random() < 0.2 else 0
            records.append(CallRecord(**fields))
    return CallRecord.objects.bulk_create(records, batch_size=1000)


def _messages(slug: str, calls: list[CallRecord], rng: random.Random) -> None:
    """A message on about half the answered calls, acknowledged and filed; a few dispatches."""
    categories = CATEGORIES.get(slug, CATEGORIES["harpercole"])
    messages, taken = [], []
    for record in calls:
        if record.outcome != "answered" or rng.random() > 0.5:
            continue
        category, action, _ = next(c for c in categories if rng.random() < c[2])
        at = record.ended_at + dt.timedelta(seconds=record.wrap_up_seconds or 0)
        acked = at + dt.timedelta(seconds=int(rng.expovariate(1 / (300 if action == "dispatch" else 1500))) + 30)
        name = rng.choice(NAMES)
        messages.append(Message(
            caller=record.caller, callback_number=record.caller, caller_name=name,
            fields={"caller_name": name, "callback_number": record.caller, "problem": category},
            urgency="urgent" if action == "dispatch" else "normal", category=category, end_action=action,
            language=record.language, call_sid=record.call_sid, call=record, agent_id=record.agent_id,
            escalation="acknowledged", acknowledged_at=acked, acknowledged_by="Demo history", acknowledged_via="portal",
            filed_at=acked + dt.timedelta(hours=12)))
        taken.append(at)
    made = Message.objects.bulk_create(messages, batch_size=1000)
    # ``created`` is auto_now_add: bulk_create stamped now; the history's own time goes back.
    for message, at in zip(made, taken, strict=True):
        message.created = at
    Message.objects.bulk_update(made, ["created"], batch_size=1000)


def _appointments(tz, today: dt.date, weeks: int, rng: random.Random) -> None:
    """Past appointments on each calendar's weekdays: done, some no-shows, some cancelled;
    booked days before, most confirmed. Past and not booked now: no live slot is taken."""
    calendars = list(Calendar.objects.all())
    types = list(AppointmentType.objects.prefetch_related("calendars"))
    if not calendars or not types:
        return
    rows, history = [], []
    for offset in range(weeks * 7, 0, -1):
        day = today - dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for calendar in calendars:
            fitting = [t for t in types if calendar in t.calendars.all()]
            if not fitting:
                continue
            for hour in sorted(rng.sample(range(8, 17), rng.randint(2, 5))):
                type_ = rng.choice(fitting)
                start = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.UTC)
                end = start + dt.timedelta(minutes=type_.duration_minutes)
                roll = rng.random()
                status = "cancelled" if roll < 0.1 else "no_show" if roll < 0.17 else "done"
                booked = start - dt.timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
                confirmed = start - dt.timedelta(hours=rng.randint(12, 30)) if status != "cancelled" and \
                    rng.random() < 0.7 else None
                rows.append(Appointment(calendar=calendar, type=type_, start=start, end=end, blocked=(start, end),
                                        status=status, name=rng.choice(NAMES), booked_by="Demo history",
                                        confirmed_at=confirmed))
                history.append((booked, status, start))
    made = Appointment.objects.bulk_create(rows, batch_size=1000)
    events, times = [], []
    for appointment, (booked, status, start) in zip(made, history, strict=True):
        events.append(AppointmentEvent(appointment=appointment, kind="booked", by="Demo history"))
        times.append(booked)
        if status != "done":
            kind = "cancelled" if status == "cancelled" else "no_show"
            events.append(AppointmentEvent(appointment=appointment, kind=kind, by="Demo history"))
            times.append(start - dt.timedelta(hours=20) if kind == "cancelled" else start + dt.timedelta(minutes=20))
    made_events = AppointmentEvent.objects.bulk_create(events, batch_size=1000)
    for event, at in zip(made_events, times, strict=True):  # ``at`` is auto_now_add, like ``created``
        event.at = at
    AppointmentEvent.objects.bulk_update(made_events, ["at"], batch_size=1000)
