"""The reports' world: a day of calls written by hand in Bob's Plumbing (New York), on the
fall-back day 2026-11-01 (25 hours: 01:00–02:00 happens twice), with messages, outbound
attempts and appointments. The expected figures are computed by hand in the tests."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from answering.models import CallRecord, Message
from calendars.models import Appointment, AppointmentEvent, AppointmentType, Calendar
from campaigns.models import CallAttempt, Disposition
from campaigns.services.lifecycle import campaign_create
from compliance.rules import Channel, Purpose

NY = ZoneInfo("America/New_York")
DAY = dt.date(2026, 11, 1)  # fall back: 25 hours


def at(hour: int, minute: int = 0, *, day: dt.date = DAY, fold: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY, fold=fold)


def call(tag: str, n: int, arrived: dt.datetime, outcome: str, *, wait=None, talk=None, wrap=None, agent=None,
         queued=True) -> CallRecord:
    """One call record as the ACD writes it: answered after the wait, ended after the talk."""
    # In UTC, as the ACD stores it: adding seconds to a local time of the repeated hour would
    # drop its fold (01:30 EST + 5 s is not 01:30:05 EDT).
    arrived = arrived.astimezone(dt.UTC)
    answered = arrived + dt.timedelta(seconds=wait or 0) if outcome == "answered" else None
    ended = (answered + dt.timedelta(seconds=talk or 0)) if answered else arrived + dt.timedelta(seconds=wait or 0)
    return CallRecord.objects.create(
        call_sid=f"CA{tag}{n:04d}", caller="+12125550100", number_dialed="+12125550111", arrived_at=arrived,
        queued_at=arrived if queued else None, answered_at=answered, ended_at=ended, outcome=outcome,
        wait_seconds=wait, talk_seconds=talk, wrap_up_seconds=wrap, agent_id=agent.pk if agent else None)


def seed_day(world, tag: str = "") -> dict:
    """The hand-written day (call inside Bob's schema). Returns what was made, to remove it."""
    tag = tag or uuid.uuid4().hex[:6]
    ana, ben = world.ana, world.ben
    calls = [
        call(tag, 1, at(0, 10), "answered", wait=10, talk=100, wrap=20, agent=ana),
        call(tag, 2, at(1, 30), "answered", wait=25, talk=200, wrap=40, agent=ana),           # 01:30 EDT
        call(tag, 3, at(1, 30, fold=1), "answered", wait=5, talk=60, wrap=0, agent=ben),      # 01:30 EST
        call(tag, 4, at(1, 45, fold=1), "abandoned", wait=3),                                  # short abandon
        call(tag, 5, at(9, 0), "abandoned", wait=40),
        call(tag, 6, at(9, 5), "voicemail", wait=180),                                         # the queue gave up
        call(tag, 7, at(9, 10), "voicemail", queued=False),                                    # from the menu
        call(tag, 8, at(10, 0), "information", queued=False),
        call(tag, 9, at(12, 0), "answered", wait=20, talk=300, wrap=30, agent=ben),           # 20 s is within
        call(tag, 10, at(23, 58), "answered", wait=15, talk=400, wrap=10, agent=ana),         # ends after midnight
        call(tag, 11, at(23, 50, day=DAY - dt.timedelta(days=1)), "answered", wait=5, talk=700, wrap=0, agent=ben),
        call(tag, 12, at(0, 5, day=DAY + dt.timedelta(days=1)), "abandoned", wait=8),
        call(tag, 13, at(14, 0), "abandoned", wait=5),                                         # 5 s: not short
        call(tag, 14, at(15, 0), "answered", wait=60, talk=120, wrap=30, agent=ana),          # late
        call(tag, 15, at(16, 0), "in_progress", wait=2),                                       # not ended
    ]
    messages = []
    for n, (taken, acked, action) in enumerate([(at(9), at(9, 10), "message"), (at(12), at(12, 30), "message"),
                                                (at(13), None, "dispatch"),
                                                (at(12, day=DAY - dt.timedelta(days=1)), None, "message")]):
        message = Message.objects.create(caller="+12125550100", end_action=action, call_sid=f"CAmsg{tag}{n}",
                                         acknowledged_at=acked)
        Message.objects.filter(pk=message.pk).update(created=taken)  # created is auto_now_add
        messages.append(message)
    campaign = campaign_create(name=f"Reminders {tag}", purpose=Purpose.INFORMATIONAL)
    sale = Disposition.objects.get(campaign=campaign, code="sale")
    attempts = []
    for n, (started, outcome, agent, amount) in enumerate([
            (at(10), "live_answered", ana, Decimal("120.00")), (at(10, 10), "live_answered", ana, None),
            (at(10, 20), "abandoned", None, None), (at(10, 30), "machine", None, None),
            (at(10, 40), "no_answer", None, None), (at(11), "live_answered", ana, Decimal("80.00"))]):
        attempts.append(CallAttempt.objects.create(
            campaign=campaign, number=f"+1212555{n:04d}", channel=Channel.AUTODIALED, purpose=campaign.purpose,
            started_at=started, ended_at=started + dt.timedelta(minutes=5), outcome=outcome,
            agent_id=agent.pk if agent else None, amount=amount, disposition=sale if amount else None))
    calendar = Calendar.objects.create(name=f"Van {tag}")
    type_ = AppointmentType.objects.create(name=f"Visit {tag}", duration_minutes=60)
    appointments = []
    for n, (start, status, confirmed) in enumerate([(at(9, day=DAY + dt.timedelta(days=3)), "booked", at(15)),
                                                     (at(11), "no_show", None),
                                                     (at(9, day=DAY + dt.timedelta(days=5)), "cancelled", None)]):
        end = start + dt.timedelta(hours=1)
        appointment = Appointment.objects.create(calendar=calendar, type=type_, start=start, end=end,
                                                 blocked=(start, end), status=status, confirmed_at=confirmed)
        appointments.append(appointment)
    for appointment, kind, when in [(appointments[0], "booked", at(8)), (appointments[2], "booked", at(8, 30)),
                                    (appointments[2], "cancelled", at(17)),
                                    (appointments[1], "booked", at(9, day=DAY - dt.timedelta(days=7)))]:
        event = AppointmentEvent.objects.create(appointment=appointment, kind=kind)
        AppointmentEvent.objects.filter(pk=event.pk).update(at=when)
    return {"calls": calls, "messages": messages, "campaign": campaign, "attempts": attempts,
            "appointments": appointments, "calendar": calendar, "type": type_}


def unseed(made: dict) -> None:
    """Remove what ``seed_day`` made (tests that commit it for another process)."""
    CallAttempt.objects.filter(pk__in=[a.pk for a in made["attempts"]]).delete()
    made["campaign"].dispositions.all().delete()
    made["campaign"].delete()
    Message.objects.filter(pk__in=[m.pk for m in made["messages"]]).delete()
    CallRecord.objects.filter(pk__in=[c.pk for c in made["calls"]]).delete()
    Appointment.objects.filter(pk__in=[a.pk for a in made["appointments"]]).delete()
    made["type"].delete()
    made["calendar"].delete()
