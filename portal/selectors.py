"""Reads for the portal's pages (run inside the client's schema, i.e. on its host)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from answering.models import CallRecord, Message, Override, Person, Team
from answering.oncall.selectors import on_call_at
from tenants.models import User


def day_bounds(*, since: date | None, until: date | None, time_zone: str) -> tuple[datetime | None, datetime | None]:
    """The instants a local date range covers: from ``since`` 00:00 to the end of ``until``.
    A bound that is no instant (before year 1 or after 9999 in UTC: the calendar's first day
    east of UTC, the day after its last) is no bound: nothing lies beyond it."""
    tz = zoneinfo.ZoneInfo(time_zone)
    start = _local_midnight(since, tz) if since else None
    end = _local_midnight(until + timedelta(days=1), tz) if until and until < date.max else None
    return start, end


def _local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime | None:
    at = datetime.combine(day, time.min, tzinfo=tz)
    try:
        at.astimezone(UTC)  # what the database is given
    except OverflowError:
        return None
    return at


def message_search(*, time_zone: str, q: str = "", urgency: str = "", category: str = "", since: date | None = None,
                   until: date | None = None, state: str = "", box: str = "inbox") -> QuerySet[Message]:
    """Messages newest first. ``state``: "open" (not acknowledged) or "acknowledged"; ``box``:
    "inbox" (not filed), "filed" or "all". ``q`` looks in the caller's number and name, the
    callback number and every captured answer; a phone number matches however it is typed."""
    messages = Message.objects.order_by("-created", "-pk")
    if box == "inbox":
        messages = messages.filter(filed_at__isnull=True)
    elif box == "filed":
        messages = messages.filter(filed_at__isnull=False)
    if state == "open":
        messages = messages.filter(acknowledged_at__isnull=True)
    elif state == "acknowledged":
        messages = messages.filter(acknowledged_at__isnull=False)
    if urgency:
        messages = messages.filter(urgency=urgency)
    if category:
        messages = messages.filter(category__iexact=category)
    start, end = day_bounds(since=since, until=until, time_zone=time_zone)
    if start:
        messages = messages.filter(created__gte=start)
    if end:
        messages = messages.filter(created__lt=end)
    q = q.strip()
    if q:
        match = (Q(caller__icontains=q) | Q(callback_number__icontains=q) | Q(caller_name__icontains=q)
                 | Q(category__icontains=q) | Q(fields_text__icontains=q))
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 4:  # "(212) 555-0147" finds +12125550147
            match |= Q(caller__contains=digits) | Q(callback_number__contains=digits)
        messages = messages.annotate(fields_text=Cast("fields", TextField())).filter(match)
    return messages


def message_categories() -> list[str]:
    return sorted(set(Message.objects.exclude(category="").values_list("category", flat=True)), key=str.lower)


def unacknowledged_count() -> int:
    """Messages in the inbox nobody has acknowledged yet (the number in the navigation)."""
    return Message.objects.filter(acknowledged_at__isnull=True, filed_at__isnull=True).count()


def call_search(*, time_zone: str, outcome: str = "", since: date | None = None, until: date | None = None,
                q: str = "", call: int | None = None) -> QuerySet[CallRecord]:
    """Calls newest first, each with its messages (a call links to what was taken on it)."""
    calls = CallRecord.objects.order_by("-arrived_at", "-pk").prefetch_related(
        Prefetch("messages", queryset=Message.objects.only("pk", "call_id", "source", "caller_name").order_by("pk")))
    if call:
        calls = calls.filter(pk=call)
    if outcome:
        calls = calls.filter(outcome=outcome)
    start, end = day_bounds(since=since, until=until, time_zone=time_zone)
    if start:
        calls = calls.filter(arrived_at__gte=start)
    if end:
        calls = calls.filter(arrived_at__lt=end)
    digits = re.sub(r"\D", "", q)
    if digits:
        calls = calls.filter(caller__contains=digits)
    return calls


def agent_names(ids) -> dict[int, str]:
    """Agents' first names by id (users live in the public schema: no join from the client's tables)."""
    ids = {i for i in ids if i}
    return {u.pk: u.first_name for u in User.objects.filter(pk__in=ids)} if ids else {}


@dataclass(frozen=True)
class TeamOnCall:
    team: Team
    now: Person | None
    now_source: str
    until: datetime | None
    next: Person | None
    overrides: list[Override]


def teams_on_call(*, time_zone: str, at: datetime | None = None) -> list[TeamOnCall]:
    """Each team with who is on call now, until when, and who takes over then."""
    at = at or timezone.now()
    result = []
    for team in Team.objects.select_related("rotation").prefetch_related("rotation__members__person"):
        now = on_call_at(team=team, at=at, time_zone=time_zone)
        following = on_call_at(team=team, at=now.until, time_zone=time_zone) if now.until else None
        overrides = list(Override.objects.filter(team=team, ends__gt=at).select_related("person").order_by("starts"))
        result.append(TeamOnCall(team=team, now=now.person, now_source=now.source, until=now.until,
                                 next=following.person if following else None, overrides=overrides))
    return result
