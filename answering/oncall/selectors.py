"""Who is on call for a team at an instant (a selector; run inside the client's schema).

Hand-overs are wall-clock times in the client's time zone: a rota that hands over at 08:00
does so at 08:00 local on the day clocks change too. A hand-over time that does not exist
that day (inside the spring-forward gap) happens at the first local time after it; one that
happens twice (the autumn repeat) happens the first time.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from answering.models import Override, Person, Rotation, Team

UTC = zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class OnCall:
    person: Person | None
    source: str  # "override", "rotation" or "nobody"
    until: datetime | None  # when this answer next changes (the next hand-over or the override's end)


def on_call_at(*, team: Team, at: datetime, time_zone: str) -> OnCall:
    """The person on call for ``team`` at ``at`` (aware), and until when."""
    override = (Override.objects.filter(team=team, starts__lte=at, ends__gt=at)
                .select_related("person").order_by("-created").first())
    if override is not None:
        return OnCall(override.person, "override", override.ends)
    rotation = Rotation.objects.filter(team=team).first()
    members = list(rotation.members.select_related("person").filter(person__active=True)) if rotation else []
    if not members:
        return OnCall(None, "nobody", None)
    tz = zoneinfo.ZoneInfo(time_zone)
    turn, next_handover = _turn(rotation, at.astimezone(tz), tz)
    if turn < 0:
        return OnCall(None, "nobody", next_handover)  # the rota has not started yet
    return OnCall(members[turn % len(members)].person, "rotation", next_handover)


def _turn(rotation: Rotation, local: datetime, tz: zoneinfo.ZoneInfo) -> tuple[int, datetime]:
    """How many hand-overs have happened since the rota started, and the next one's instant."""
    days_per_turn = 7 if rotation.period == Rotation.Period.WEEKLY else 1
    # Compare instants, not wall times: in the autumn's repeated hour a wall-time
    # comparison would hand the pager back for the second pass.
    today_handover = _handover_instant(local.date(), rotation.handover_time, tz)
    # (In UTC: Python compares two times of one zone by their wall clocks, ignoring fold.)
    shift_day = local.date() if local.astimezone(UTC) >= today_handover.astimezone(UTC) else \
        local.date() - timedelta(days=1)
    turn = (shift_day - rotation.starts_on).days // days_per_turn
    next_day = rotation.starts_on + timedelta(days=(turn + 1) * days_per_turn)
    return turn, _handover_instant(next_day, rotation.handover_time, tz)


def _handover_instant(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The first instant of ``day`` whose local wall time is ``at`` or later."""
    naive = datetime.combine(day, at)
    # fold=0 and fold=1 differ only around a change: the two readings bracket the answer.
    first, second = (naive.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1))
    instant = min(first, second)
    while instant < max(first, second) and instant.astimezone(tz).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)  # inside a spring-forward gap: walk to its end
    return instant.astimezone(tz)
