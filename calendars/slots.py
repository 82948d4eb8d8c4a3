"""Slot search: the next free appointment slots across calendars, exact across DST.

Pure Python (stdlib and zoneinfo): the booking service loads the rows, builds these specs and
calls ``next_free_slots``; nothing here touches the database, so it is tested without one.

The rules it keeps (the booking service and the exclusion constraint must agree with them):

- Working hours are local wall-clock times in the calendar's IANA zone. Each local date is
  walked and its wall times are converted with zoneinfo; hours are never stored as UTC. A
  working interval's ``end`` of 23:59:59 means midnight, and an ``end`` at or before its
  ``start`` crosses midnight into the next day (a night shift: 22:00–06:00).
- Exceptions, local to the calendar: a whole day off (no times, not available), time off in
  part of a day, or extra hours (available). Extra hours are added first, then time off is
  cut out, so time off wins where they overlap.
- Step: candidate starts are wall-clock multiples of ``step`` from the start of each working
  interval *after* merging and exceptions (9:00–12:00 and 12:00–17:00 are one interval).
- DST: a wall time in a spring-forward gap does not exist and is never offered; a wall time
  in a fall-back repeat is two real instants and each is offered once. A slot's end is its
  start plus ``duration`` in real (UTC) time, so an appointment across a change lasts exactly
  its duration; "inside working hours" means every instant of it has a local wall time inside
  working hours.
- Held time: ``[start, start + duration]``, or for an arrival window ("between 8 and 10")
  ``[start, start + arrival_window + duration]`` — the technician may arrive at the window's
  end and still has to do the job. ``Slot.end`` is the end of the held time.
- Buffers: the held time itself must lie inside working hours; the buffers may fall outside
  them (prep before opening is fine) but ``[start - buffer_before, end + buffer_after]`` must
  not overlap any busy interval. Busy intervals are expected to include the buffers of the
  bookings they come from (the same range the exclusion constraint guards).
- Capacity: a type of capacity 1 is offered only where no busy interval overlaps its buffered
  range. A group session (capacity > 1) is offered while fewer than ``capacity`` seats are taken
  and everything overlapping it is a seat of that same session (same type, same start): another
  session or a booking in the way makes the slot unavailable, as the booking service requires.
- Notice and horizon: ``now + min_notice <= start <= now + horizon``, and ``start >= after``
  when given (inclusive: the same instant on another calendar is still offered).
- Intervals are half-open: a booking ending at 10:00 does not block one starting at 10:00.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "Busy",
    "CalendarSpec",
    "DayException",
    "Slot",
    "TypeSpec",
    "WeeklyHours",
    "next_free_slots",
]

# Everything inside is integer microseconds: UTC instants since the epoch, and local wall
# times as if the naive wall clock were UTC ("wall microseconds"). instant = wall - offset.
_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY = 86_400_000_000
_SAMPLE = 6 * 3_600_000_000  # zone offsets are sampled every 6 h to find transitions
_FAR = 1 << 62
_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class WeeklyHours:
    weekday: int  # 0 = Monday
    start: time
    end: time  # 23:59:59 = midnight; at or before start = crosses midnight


@dataclass(frozen=True)
class DayException:
    date: date
    start: time | None  # None with end None: the whole day
    end: time | None
    available: bool  # False: time off; True: extra hours


@dataclass(frozen=True)
class Busy:
    start: datetime  # aware, UTC
    end: datetime
    session: tuple[int, datetime] | None = None  # a group seat: (its type's id, its start)


@dataclass(frozen=True)
class CalendarSpec:
    id: int
    zone: str  # IANA
    hours: list[WeeklyHours]
    exceptions: list[DayException] = field(default_factory=list)
    busy: list[Busy] = field(default_factory=list)


@dataclass(frozen=True)
class TypeSpec:
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    step: timedelta
    min_notice: timedelta
    horizon: timedelta
    capacity: int = 1
    arrival_window: timedelta | None = None
    id: int | None = None  # the type's id: which busy seats are this type's sessions


@dataclass(frozen=True)
class Slot:
    calendar_id: int
    start: datetime  # UTC
    end: datetime  # UTC, end of the held time (after the arrival window's duration)
    local_start: datetime  # aware, in the calendar's zone (fold set in a repeated hour)
    window_end: datetime | None  # UTC, arrival windows only


def _to_us(d: timedelta) -> int:
    return d // _US


def _instant_us(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError(f"aware datetime expected, got {dt!r}")
    return (dt - _EPOCH_UTC) // _US


def _wall_us(d: date, t: time) -> int:
    return (datetime.combine(d, t) - _EPOCH) // _US


def _offset_us(zi: ZoneInfo, instant: int) -> int:
    return (_EPOCH_UTC + timedelta(microseconds=instant)).astimezone(zi).utcoffset() // _US


@lru_cache(maxsize=4096)
def _year_transitions(zone: str, year: int) -> tuple[tuple[int, int], ...]:
    """(instant, offset from then on) for each UTC-offset change in a UTC year."""
    zi = ZoneInfo(zone)
    t = _instant_us(datetime(year, 1, 1, tzinfo=UTC))
    end = _instant_us(datetime(year + 1, 1, 1, tzinfo=UTC))
    out = []
    prev = _offset_us(zi, t)
    while t < end:
        nxt = min(t + _SAMPLE, end)
        off = _offset_us(zi, nxt)
        if off != prev:
            lo, hi = t // 1_000_000, nxt // 1_000_000  # seconds: transitions are whole
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_us(zi, mid * 1_000_000) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append((hi * 1_000_000, off))
            prev = off
        t = nxt
    return tuple(out)


def _segments(zone: str, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Constant-offset pieces (start, end, offset) of the UTC timeline covering [lo, hi]."""
    zi = ZoneInfo(zone)
    first = (_EPOCH_UTC + timedelta(microseconds=lo)).year
    last = (_EPOCH_UTC + timedelta(microseconds=hi)).year
    segs = []
    start, off = -_FAR, _offset_us(zi, lo)
    for year in range(first, last + 1):
        for t, new in _year_transitions(zone, year):
            if lo < t <= hi:
                segs.append((start, t, off))
                start, off = t, new
    segs.append((start, _FAR, off))
    return segs


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _subtract(spans: list[tuple[int, int]], cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Both merged and sorted."""
    out = []
    j = 0
    for a, b in spans:
        while j < len(cuts) and cuts[j][1] <= a:
            j += 1
        k = j
        while a < b and k < len(cuts) and cuts[k][0] < b:
            ca, cb = cuts[k]
            if ca > a:
                out.append((a, ca))
            a = max(a, cb)
            k += 1
        if a < b:
            out.append((a, b))
    return out


def _wall_span(d: date, start: time | None, end: time | None) -> tuple[int, int]:
    a = _wall_us(d, start or time(0))
    if end is None or end >= _END_OF_DAY or (start is not None and end <= start):
        # To midnight, or across it: the end is on the next day.
        b = _wall_us(d + timedelta(days=1), time(0) if end is None or end >= _END_OF_DAY else end)
    else:
        b = _wall_us(d, end)
    return a, b


def _working_wall(cal: CalendarSpec, first: date, last: date) -> list[tuple[int, int]]:
    """The calendar's merged working intervals, in wall microseconds, for local dates
    first..last (a night shift from the day before first is included)."""
    by_weekday: dict[int, list[WeeklyHours]] = {}
    for h in cal.hours:
        by_weekday.setdefault(h.weekday, []).append(h)
    spans = []
    d = first - timedelta(days=1)
    while d <= last:
        for h in by_weekday.get(d.weekday(), ()):
            spans.append(_wall_span(d, h.start, h.end))
        d += timedelta(days=1)
    cuts = []
    for ex in cal.exceptions:
        if first - timedelta(days=1) <= ex.date <= last:
            (spans if ex.available else cuts).append(_wall_span(ex.date, ex.start, ex.end))
    return _subtract(_merge(spans), _merge(cuts))


def working_instants(cal: CalendarSpec, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """The calendar's working time over its local dates ``first`` … ``last`` as real instants
    (UTC), by the rules the search uses: merged hours, exceptions, night shifts, DST. For
    pages that draw working time exactly where the search offers slots."""
    zi = ZoneInfo(cal.zone)
    lo = _instant_us(datetime.combine(first, time(0), tzinfo=zi)) - 2 * _DAY
    hi = _instant_us(datetime.combine(last + timedelta(days=1), time(0), tzinfo=zi)) + 2 * _DAY
    segs = _segments(cal.zone, lo, hi)
    pieces = _merge([(max(a - o, t0), min(b - o, t1)) for a, b in _working_wall(cal, first, last) for t0, t1, o in segs])
    return [(_EPOCH_UTC + timedelta(microseconds=a), _EPOCH_UTC + timedelta(microseconds=b)) for a, b in pieces]


def _calendar_candidates(
    index: int, cal: CalendarSpec, type_: TypeSpec, lo: int, hi: int
) -> Iterator[tuple[int, int, int]]:
    """(start instant, calendar id, index) of each free slot of one calendar, in order."""
    step = _to_us(type_.step)
    held = _to_us(type_.duration) + _to_us(type_.arrival_window or timedelta(0))
    before, after = _to_us(type_.buffer_before), _to_us(type_.buffer_after)
    capacity = type_.capacity

    zi = ZoneInfo(cal.zone)
    margin = 2 * _DAY  # covers any UTC offset and a night shift either side
    segs = _segments(cal.zone, lo - margin, hi + held + margin)
    offsets = [o for _, _, o in segs]
    min_off, max_off = min(offsets), max(offsets)
    first = (_EPOCH_UTC + timedelta(microseconds=lo)).astimezone(zi).date()
    last = (_EPOCH_UTC + timedelta(microseconds=hi + held)).astimezone(zi).date()
    walls = _working_wall(cal, first, last)

    # Working time as real instants: each wall interval, piece by constant-offset piece.
    pieces = _merge([
        (max(a - o, t0), min(b - o, t1))
        for a, b in walls
        for t0, t1, o in segs
    ])
    piece_starts = [p[0] for p in pieces]
    piece_ends = [p[1] for p in pieces]

    busy = [(_instant_us(b.start), _instant_us(b.end)) for b in cal.busy]
    busy_starts = sorted(s for s, e in busy if s < e)
    busy_ends = sorted(e for s, e in busy if s < e)
    # Seats taken in this type's own sessions, by start: the only overlaps a group slot allows.
    own_seats: dict[int, int] = {}
    for b in cal.busy:
        if capacity > 1 and b.session is not None and b.session[0] == type_.id and b.start < b.end:
            key = _instant_us(b.session[1])
            own_seats[key] = own_seats.get(key, 0) + 1

    heap: list[tuple[int, int, int]] = []
    for a, b in walls:
        if b - min_off <= lo:  # every instant of it is before lo
            continue
        k = max(0, -(-(lo + min_off - a) // step))
        s = a + k * step
        while s < b:
            # Instants are wall - offset, so anything from wall s on is at or after s - max_off:
            # what is already found before that is final and comes out in order.
            bound = s - max_off
            while heap and heap[0][0] < bound:
                yield heapq.heappop(heap)
            if bound > hi:
                break
            for t0, t1, o in segs:
                u = s - o
                # A wall time in a gap has no instant here; in a repeat it has two.
                if not (t0 <= u < t1) or u < lo or u > hi:
                    continue
                end = u + held
                i = bisect_right(piece_starts, u) - 1
                if i < 0 or piece_ends[i] < end:
                    continue  # not all inside working hours
                taken = bisect_left(busy_starts, end + after) - bisect_right(busy_ends, u - before)
                if taken == 0 or (taken < capacity and taken == own_seats.get(u, 0)):
                    heapq.heappush(heap, (u, cal.id, index))
            s += step
        else:
            continue
        break
    while heap:
        yield heapq.heappop(heap)


def next_free_slots(
    type_: TypeSpec,
    calendars: list[CalendarSpec],
    *,
    now: datetime,
    count: int,
    after: datetime | None = None,
) -> list[Slot]:
    """The next ``count`` free slots of a type across calendars, ordered by start then
    calendar id. Reads only what it is given; each calendar's candidates are generated
    lazily and merged, so it stops as soon as ``count`` slots are found."""
    if type_.duration <= timedelta(0) or type_.step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    if type_.capacity < 1:
        raise ValueError("capacity must be at least 1")
    if count <= 0 or not calendars:
        return []
    lo = _instant_us(now + type_.min_notice)
    if after is not None:
        lo = max(lo, _instant_us(after))
    hi = _instant_us(now + type_.horizon)
    if lo > hi:
        return []

    streams = [_calendar_candidates(i, cal, type_, lo, hi) for i, cal in enumerate(calendars)]
    window = type_.arrival_window
    held = type_.duration + (window or timedelta(0))
    slots = []
    for u, _, index in itertools.islice(heapq.merge(*streams), count):
        start = _EPOCH_UTC + timedelta(microseconds=u)
        cal = calendars[index]
        slots.append(Slot(
            calendar_id=cal.id,
            start=start,
            end=start + held,
            local_start=start.astimezone(ZoneInfo(cal.zone)),
            window_end=start + window if window is not None else None,
        ))
    return slots
