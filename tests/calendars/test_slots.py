"""Slot search (calendars/slots.py): pure functions, no database.

The property tests check the engine against ``naive_free_slots``, a reference that walks
every wall-clock grid time of every local day, converts it with zoneinfo in both folds, and
checks every candidate against every busy interval and every 15 minutes of its held time
against the working hours. It is exact for what the strategies generate: working hours and
exceptions on whole hours, durations, buffers and busy times on 15 minutes, steps dividing an
hour, and zones whose transitions fall on whole hours.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendars.slots import (
    Busy,
    CalendarSpec,
    DayException,
    Slot,
    TypeSpec,
    WeeklyHours,
    next_free_slots,
)

NY = "America/New_York"
ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "Europe/London", "Europe/Berlin", "Europe/Paris", "Australia/Sydney",
]
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
QUARTER = 15 * M


def kind(minutes: int = 60, **overrides) -> TypeSpec:
    plain = TypeSpec(duration=minutes * M, buffer_before=timedelta(0), buffer_after=timedelta(0),
                     step=30 * M, min_notice=timedelta(0), horizon=14 * D)
    return dataclasses.replace(plain, **overrides)


def weekdays(start: time, end: time) -> list[WeeklyHours]:
    return [WeeklyHours(wd, start, end) for wd in range(5)]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


# ---------------------------------------------------------------------------------------------
# The naive reference


def _covers(d: date, start: time | None, end: time | None, wall: datetime) -> bool:
    a = datetime.combine(d, start or time(0))
    if end is None or end >= time(23, 59, 59):
        b = datetime.combine(d + D, time(0))
    elif start is not None and end <= start:
        b = datetime.combine(d + D, end)
    else:
        b = datetime.combine(d, end)
    return a <= wall < b


def _is_working(cal: CalendarSpec, wall: datetime) -> bool:
    days = (wall.date(), wall.date() - D)
    if any(not ex.available and ex.date == d and _covers(d, ex.start, ex.end, wall)
           for ex in cal.exceptions for d in days):
        return False
    if any(d.weekday() == h.weekday and _covers(d, h.start, h.end, wall)
           for h in cal.hours for d in days):
        return True
    return any(ex.available and ex.date == d and _covers(d, ex.start, ex.end, wall)
               for ex in cal.exceptions for d in days)


def naive_free_slots(type_: TypeSpec, calendars: list[CalendarSpec], *, now: datetime,
                     count: int, after: datetime | None = None) -> list[Slot]:
    lo = now + type_.min_notice
    if after is not None:
        lo = max(lo, after)
    hi = now + type_.horizon
    window = type_.arrival_window or timedelta(0)
    held = type_.duration + window
    found = []
    for cal in calendars:
        zone = ZoneInfo(cal.zone)
        seen = set()
        d = lo.astimezone(zone).date() - D
        while d <= hi.astimezone(zone).date() + D:
            wall = datetime.combine(d, time(0))
            while wall < datetime.combine(d + D, time(0)):
                for fold in (0, 1):
                    start = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
                    if start.astimezone(zone).replace(tzinfo=None) != wall or start in seen:
                        continue  # a wall time in a gap, or the same instant in both folds
                    seen.add(start)
                    if not lo <= start <= hi:
                        continue
                    n = held // QUARTER
                    if not all(_is_working(cal, (start + k * QUARTER).astimezone(zone).replace(tzinfo=None))
                               for k in range(n)):
                        continue
                    taken = sum(1 for b in cal.busy
                                if b.start < start + held + type_.buffer_after
                                and b.end > start - type_.buffer_before)
                    own = sum(1 for b in cal.busy if type_.capacity > 1 and b.session == (type_.id, start))
                    if taken == 0 or (taken < type_.capacity and taken == own):
                        found.append(Slot(cal.id, start, start + held, start.astimezone(zone),
                                          start + window if type_.arrival_window else None))
                wall += type_.step
            d += D
    found.sort(key=lambda s: (s.start, s.calendar_id))
    return found[:count]


# ---------------------------------------------------------------------------------------------
# Properties across DST nights


def _transitions(zone: str, year: int) -> list[date]:
    """Local dates whose UTC offset at noon differs from the day before's."""
    zi = ZoneInfo(zone)
    out = []
    d = date(year, 1, 1)
    prev = datetime.combine(d, time(12), zi).utcoffset()
    while d.year == year:
        d += D
        off = datetime.combine(d, time(12), zi).utcoffset()
        if off != prev:
            out.append(d)
        prev = off
    return out or [date(year, 3, 9), date(year, 11, 2)]  # Phoenix: the US nights anyway


_hour = st.integers(0, 23)


@st.composite
def _weekly(draw) -> list[WeeklyHours]:
    hours = []
    for wd in range(7):
        for _ in range(draw(st.integers(0, 2))):
            start = draw(_hour)
            end = draw(st.integers(0, 24))
            # 24 is "to midnight"; an end at or before start crosses midnight (night shift)
            hours.append(WeeklyHours(wd, time(start), time(23, 59, 59) if end == 24 else time(end)))
    return hours


@st.composite
def scenario(draw):
    zone = draw(st.sampled_from(ZONES))
    year = draw(st.integers(2025, 2027))
    night = draw(st.sampled_from(_transitions(zone, year)))
    now = datetime.combine(night, time(0), UTC) - draw(st.integers(0, 8 * 48)) * QUARTER
    type_ = TypeSpec(
        duration=draw(st.sampled_from([15, 30, 45, 60, 90, 120, 180])) * M,
        buffer_before=draw(st.sampled_from([0, 15, 30])) * M,
        buffer_after=draw(st.sampled_from([0, 15, 30])) * M,
        step=draw(st.sampled_from([15, 30, 60])) * M,
        min_notice=draw(st.integers(0, 24)) * QUARTER,
        horizon=draw(st.integers(1, 4)) * D,
        capacity=draw(st.integers(1, 3)),
        arrival_window=draw(st.sampled_from([None, None, None, 60 * M, 120 * M])),
        id=1,
    )
    calendars = []
    for cal_id in draw(st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True)):
        exceptions = []
        for _ in range(draw(st.integers(0, 2))):
            day = night + draw(st.integers(-1, 1)) * D
            if draw(st.booleans()):
                exceptions.append(DayException(day, None, None, draw(st.booleans())))
            else:
                a = draw(st.integers(0, 22))
                b = draw(st.integers(a + 1, 23))
                exceptions.append(DayException(day, time(a), time(b), draw(st.booleans())))
        busy = []
        for _ in range(draw(st.integers(0, 8))):
            start = now + draw(st.integers(0, 4 * 24 * 4)) * QUARTER
            # Some are seats of a group session: of this type (id 1) or another (id 2).
            session = draw(st.sampled_from([None, None, (1, start), (2, start)]))
            busy.append(Busy(start, start + draw(st.integers(1, 12)) * QUARTER, session=session))
        calendars.append(CalendarSpec(cal_id, zone, draw(_weekly()), exceptions, busy))
    count = draw(st.sampled_from([1, 5, 20, 10_000]))
    return type_, calendars, now, count


def _wall(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_slots_are_exact_across_dst_nights(case):
    type_, calendars, now, count = case
    slots = next_free_slots(type_, calendars, now=now, count=count)

    assert slots == naive_free_slots(type_, calendars, now=now, count=count)
    assert len(slots) <= count
    assert [(s.start, s.calendar_id) for s in slots] == sorted((s.start, s.calendar_id) for s in slots)
    assert len({(s.calendar_id, s.start) for s in slots}) == len(slots)  # no instant twice
    held = type_.duration + (type_.arrival_window or timedelta(0))
    by_id = {c.id: c for c in calendars}
    for s in slots:
        cal = by_id[s.calendar_id]
        zone = ZoneInfo(cal.zone)
        assert s.start.utcoffset() == timedelta(0)
        assert s.end - s.start == held  # real duration, whatever the clocks do
        assert now + type_.min_notice <= s.start <= now + type_.horizon
        # The start's wall time exists: it round-trips in its fold (nothing in a gap).
        wall = _wall(s.local_start)
        back = wall.replace(tzinfo=zone, fold=s.local_start.fold).astimezone(UTC)
        assert back == s.start and _wall(back.astimezone(zone)) == wall
        # Every instant of the held time is inside working hours in local time.
        for k in range(held // QUARTER):
            assert _is_working(cal, _wall((s.start + k * QUARTER).astimezone(zone)))


@settings(max_examples=60, deadline=None)
@given(scenario(), st.sampled_from(ZONES), st.integers(0, 40))
def test_calendars_in_different_zones_interleave_like_the_reference(case, other_zone, after_q):
    type_, calendars, now, count = case
    calendars = [CalendarSpec(c.id, other_zone if i % 2 else c.zone, c.hours, c.exceptions, c.busy)
                 for i, c in enumerate(calendars)]
    after = now + after_q * QUARTER
    assert (next_free_slots(type_, calendars, now=now, count=count, after=after)
            == naive_free_slots(type_, calendars, now=now, count=count, after=after))


# ---------------------------------------------------------------------------------------------
# DST by example


def _starts(slots: list[Slot]) -> list[tuple[str, int]]:
    return [(s.local_start.strftime("%H:%M%z"), s.local_start.fold) for s in slots]


def test_spring_forward_offers_nothing_in_the_missing_hour():
    cal = CalendarSpec(1, NY, [WeeklyHours(6, time(0), time(5))])  # Sunday 2025-03-09
    slots = next_free_slots(kind(30, horizon=2 * D), [cal], now=utc(2025, 3, 8), count=100)

    assert _starts(slots) == [
        ("00:00-0500", 0), ("00:30-0500", 0), ("01:00-0500", 0), ("01:30-0500", 0),
        ("03:00-0400", 0), ("03:30-0400", 0), ("04:00-0400", 0), ("04:30-0400", 0),
    ]


def test_fall_back_offers_each_repeated_instant_once():
    cal = CalendarSpec(1, NY, [WeeklyHours(6, time(1), time(2))])  # Sunday 2025-11-02
    slots = next_free_slots(kind(30, horizon=2 * D), [cal], now=utc(2025, 11, 1), count=100)

    # 01:00–02:00 happens twice: four real half hours, in real order.
    assert _starts(slots) == [("01:00-0400", 0), ("01:30-0400", 0), ("01:00-0500", 1), ("01:30-0500", 1)]
    assert [s.start for s in slots] == [utc(2025, 11, 2, 5), utc(2025, 11, 2, 5, 30),
                                        utc(2025, 11, 2, 6), utc(2025, 11, 2, 6, 30)]


def test_an_appointment_across_the_change_lasts_its_real_duration():
    cal = CalendarSpec(1, NY, [WeeklyHours(6, time(1), time(5))])
    [slot] = next_free_slots(kind(120), [cal], now=utc(2025, 3, 8), count=1)

    assert slot.local_start == local(NY, 2025, 3, 9, 1)
    assert slot.end - slot.start == 2 * H
    assert slot.end.astimezone(ZoneInfo(NY)) == local(NY, 2025, 3, 9, 4)  # 01:00 EST + 2 h


def test_sydney_falls_back_in_april():
    zone = "Australia/Sydney"
    cal = CalendarSpec(1, zone, [WeeklyHours(6, time(2), time(3))])  # Sunday 2025-04-06
    slots = next_free_slots(kind(60, step=60 * M, horizon=2 * D), [cal], now=utc(2025, 4, 5), count=10)

    assert [s.local_start for s in slots] == [local(zone, 2025, 4, 6, 2), local(zone, 2025, 4, 6, 2, fold=1)]
    assert slots[1].start - slots[0].start == H


def test_hours_stay_local_wall_time_across_the_change():
    """9:00 New York is 14:00 UTC in winter and 13:00 UTC in summer."""
    cal = CalendarSpec(1, NY, [WeeklyHours(wd, time(9), time(10)) for wd in range(7)])
    slots = next_free_slots(kind(60), [cal], now=utc(2025, 3, 8), count=2)

    assert [s.start for s in slots] == [utc(2025, 3, 8, 14), utc(2025, 3, 9, 13)]


# ---------------------------------------------------------------------------------------------
# Rules by example: a Monday, 2025-06-02, New York (UTC-4)

MONDAY = date(2025, 6, 2)
NOW = utc(2025, 6, 1, 12)  # Sunday noon UTC


def nine_to_five(cal_id: int = 1, **spec) -> CalendarSpec:
    return CalendarSpec(cal_id, NY, weekdays(time(9), time(17)), **spec)


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(NY)).astimezone(UTC)


def test_it_offers_working_hours_on_the_step():
    slots = next_free_slots(kind(60), [nine_to_five()], now=NOW, count=20)

    assert [s.start for s in slots][:3] == [at(9), at(9, 30), at(10)]
    assert slots[14].start == at(16)  # the last hour that ends by 17:00
    assert slots[15].start == at(9, day=MONDAY + D)
    assert slots[0].local_start.tzinfo == ZoneInfo(NY) and slots[0].window_end is None


def test_busy_time_blocks_overlapping_slots_but_not_adjacent_ones():
    cal = nine_to_five(busy=[Busy(at(10), at(11))])
    slots = next_free_slots(kind(60), [cal], now=NOW, count=4)

    assert [s.start for s in slots] == [at(9), at(11), at(11, 30), at(12)]


def test_buffers_must_not_overlap_busy_time():
    cal = nine_to_five(busy=[Busy(at(11), at(12))])
    slots = next_free_slots(kind(60, buffer_before=15 * M, buffer_after=30 * M), [cal], now=NOW, count=3)

    # 9:30 ends 10:30 and its buffer ends at 11:00, just touching the busy hour: free.
    # 10:00 would need until 11:30 free; 12:00 would need 11:45 free before it.
    assert [s.start for s in slots] == [at(9), at(9, 30), at(12, 30)]
    assert slots[0].end == at(10)  # the slot is the appointment; buffers are not in it


def test_buffers_may_fall_outside_working_hours():
    slots = next_free_slots(kind(60, buffer_before=30 * M, buffer_after=30 * M), [nine_to_five()],
                            now=NOW, count=20)

    assert slots[0].start == at(9) and slots[14].start == at(16)


def test_minimum_notice():
    now = at(10, 5)
    slots = next_free_slots(kind(30, min_notice=2 * H), [nine_to_five()], now=now, count=1)

    assert slots[0].start == at(12, 30)


def test_horizon():
    slots = next_free_slots(kind(60, horizon=1 * D), [nine_to_five()], now=at(9), count=100)

    assert slots[0].start == at(9) and slots[-1].start == at(9, day=MONDAY + D)
    assert len(slots) == 15 + 1


def test_after_is_inclusive_and_later_than_notice():
    cals = [nine_to_five(1), nine_to_five(2)]
    slots = next_free_slots(kind(60), cals, now=NOW, count=3, after=at(14))

    assert [(s.calendar_id, s.start) for s in slots] == [(1, at(14)), (2, at(14)), (1, at(14, 30))]


def test_a_group_session_is_offered_until_full():
    type_ = dataclasses.replace(kind(60, step=60 * M, capacity=3), id=7)
    seat = Busy(at(9), at(10), session=(7, at(9)))

    two = next_free_slots(type_, [nine_to_five(busy=[seat, seat])], now=NOW, count=1)
    full = next_free_slots(type_, [nine_to_five(busy=[seat] * 3)], now=NOW, count=1)

    assert two[0].start == at(9)
    assert full[0].start == at(10)


def test_a_group_session_is_not_offered_over_another_booking_or_session():
    type_ = dataclasses.replace(kind(60, step=30 * M, capacity=3), id=7)
    booking = Busy(at(9), at(10))  # an ordinary appointment: the room is taken
    other_session = Busy(at(11), at(12), session=(8, at(11)))  # another class in the room
    own_earlier = Busy(at(13), at(14), session=(7, at(13)))  # the same class, other start

    slots = next_free_slots(type_, [nine_to_five(busy=[booking, other_session, own_earlier])], now=NOW, count=4)

    assert [s.start for s in slots] == [at(10), at(12), at(13), at(14)]


def test_a_day_off():
    cal = nine_to_five(exceptions=[DayException(MONDAY, None, None, available=False)])
    slots = next_free_slots(kind(60), [cal], now=NOW, count=1)

    assert slots[0].start == at(9, day=MONDAY + D)


def test_time_off_in_part_of_a_day():
    cal = nine_to_five(exceptions=[DayException(MONDAY, time(10), time(16), available=False)])
    slots = next_free_slots(kind(60), [cal], now=NOW, count=3)

    assert [s.start for s in slots] == [at(9), at(16), at(9, day=MONDAY + D)]


def test_extra_hours_on_a_saturday_and_time_off_winning_over_them():
    saturday = date(2025, 5, 31)
    cal = nine_to_five(exceptions=[
        DayException(saturday, time(10), time(12), available=True),
        DayException(saturday, time(11), time(12), available=False),
    ])
    slots = next_free_slots(kind(30), [cal], now=utc(2025, 5, 30, 23), count=3)

    assert [s.start for s in slots] == [at(10, day=saturday), at(10, 30, day=saturday), at(9)]


def test_an_arrival_window_holds_the_window_and_the_job():
    type_ = kind(60, step=120 * M, arrival_window=2 * H)
    cal = CalendarSpec(1, NY, weekdays(time(8), time(17)), busy=[Busy(at(14), at(15))])
    slots = next_free_slots(type_, [cal], now=NOW, count=3)

    # 8–10 holds 8:00–11:00; 12–14 would hold until 15:00, over the busy hour.
    assert [(s.start, s.window_end, s.end) for s in slots] == [
        (at(8), at(10), at(11)), (at(10), at(12), at(13)), (at(8, day=MONDAY + D), at(10, day=MONDAY + D), at(11, day=MONDAY + D)),
    ]


def test_several_calendars_interleave_by_start_then_id():
    la = CalendarSpec(7, "America/Los_Angeles", weekdays(time(9), time(17)))  # 12:00 New York
    cals = [nine_to_five(9), nine_to_five(3, busy=[Busy(at(9), at(12))]), la]
    slots = next_free_slots(kind(60, step=60 * M), cals, now=NOW, count=8)

    assert [(s.calendar_id, s.start) for s in slots] == [
        (9, at(9)), (9, at(10)), (9, at(11)),
        (3, at(12)), (7, at(12)), (9, at(12)), (3, at(13)), (7, at(13)),
    ]


def test_a_night_shift_crosses_midnight():
    cal = CalendarSpec(1, NY, [WeeklyHours(0, time(22), time(6))])  # Monday night to Tuesday
    slots = next_free_slots(kind(60, step=60 * M), [cal], now=NOW, count=10)

    assert [s.start for s in slots] == [at(h, day=MONDAY) for h in (22, 23)] + [
        at(h, day=MONDAY + D) for h in range(6)] + [at(22, day=MONDAY + 7 * D), at(23, day=MONDAY + 7 * D)]


def test_a_night_shift_across_a_dst_change_counts_real_hours():
    # Saturday 22:00 to Sunday 06:00 over the fall-back night: 9 real hours, 9 one-hour slots.
    cal = CalendarSpec(1, NY, [WeeklyHours(5, time(22), time(6))])
    slots = next_free_slots(kind(60, step=60 * M, horizon=2 * D), [cal], now=utc(2025, 11, 1), count=20)

    assert len(slots) == 9
    assert slots[-1].end.astimezone(ZoneInfo(NY)) == local(NY, 2025, 11, 2, 6)


def test_to_midnight_and_touching_intervals_merge():
    cal = CalendarSpec(1, NY, [WeeklyHours(0, time(20), time(23, 59, 59)), WeeklyHours(1, time(0), time(2))])
    slots = next_free_slots(kind(120, step=60 * M), [cal], now=NOW, count=10)

    assert [s.start for s in slots][:5] == [at(20), at(21), at(22), at(23), at(0, day=MONDAY + D)]


def test_it_stops_at_count():
    assert len(next_free_slots(kind(15, step=15 * M), [nine_to_five()], now=NOW, count=7)) == 7
    assert next_free_slots(kind(15), [nine_to_five()], now=NOW, count=0) == []
    assert next_free_slots(kind(15), [], now=NOW, count=5) == []


def test_it_refuses_nonsense():
    with pytest.raises(ValueError):
        next_free_slots(kind(15, step=timedelta(0)), [nine_to_five()], now=NOW, count=1)
    with pytest.raises(ValueError):
        next_free_slots(kind(15, capacity=0), [nine_to_five()], now=NOW, count=1)
    with pytest.raises(ValueError):
        next_free_slots(kind(15), [nine_to_five()], now=datetime(2025, 6, 1), count=1)
