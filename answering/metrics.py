"""The wallboard's figures, each defined once, here. Reads only (selectors).

Every figure is over the calls that reached the queue (``queued_at`` set) and ended, on
the client's local day:

- **offered** = answered + abandoned + voicemail-from-queue (a caller the queue gave up on
  still waited for us);
- **service level** = answered within the client's threshold (``service_level_seconds``,
  default 20 s) ÷ offered;
- **average speed of answer (ASA)** = mean wait of the answered calls;
- **abandonment rate** = abandoned ÷ offered;
- **average handle time (AHT)** = mean talk + wrap-up of the answered calls.
A figure with nothing to measure is None (shown as "—"), never 0 or 100 %.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession, SupervisorAlert
from answering.models import AnsweringSettings, CallRecord
from tenants.models import Client


@dataclass(frozen=True)
class DayFigures:
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    average_speed_of_answer: float | None
    abandonment_rate: float | None
    average_handle_time: float | None


def day_figures(client: Client, day: date | None = None) -> DayFigures:
    """Today's (or ``day``'s) figures for one client, in its own time zone."""
    tz = zoneinfo.ZoneInfo(client.time_zone)
    day = day or timezone.now().astimezone(tz).date()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = start + timedelta(days=1)
    with schema_context(client.schema_name):
        threshold = (AnsweringSettings.objects.values_list("service_level_seconds", flat=True).first() or 20)
        calls = list(CallRecord.objects.filter(
            arrived_at__gte=start, arrived_at__lt=end, queued_at__isnull=False,
            outcome__in=["answered", "abandoned", "voicemail"],
        ).values("outcome", "wait_seconds", "talk_seconds", "wrap_up_seconds"))
    answered = [c for c in calls if c["outcome"] == "answered"]
    abandoned = sum(1 for c in calls if c["outcome"] == "abandoned")
    offered = len(calls)
    within = sum(1 for c in answered if (c["wait_seconds"] or 0) <= threshold)
    waits = [c["wait_seconds"] or 0 for c in answered]
    handles = [(c["talk_seconds"] or 0) + (c["wrap_up_seconds"] or 0) for c in answered]
    return DayFigures(
        offered=offered, answered=len(answered), abandoned=abandoned,
        service_level=within / offered if offered else None,
        average_speed_of_answer=sum(waits) / len(waits) if waits else None,
        abandonment_rate=abandoned / offered if offered else None,
        average_handle_time=sum(handles) / len(handles) if handles else None,
    )


def wallboard_snapshot() -> dict:
    """Live and today's figures for every client, and agents by state."""
    now = timezone.now()
    waiting = {row["client"]: row for row in CallSession.objects.filter(
        state__in=[CallSession.State.QUEUED, CallSession.State.OFFERED]).values("client").annotate(
        count=Count("id"))}
    oldest = {}
    for session in CallSession.objects.filter(state__in=[CallSession.State.QUEUED, CallSession.State.OFFERED]):
        oldest[session.client_id] = max(oldest.get(session.client_id, 0), session.wait_seconds(now))
    clients = []
    for client in Client.objects.exclude(schema_name="public").order_by("name"):
        clients.append({"client": client.schema_name, "name": client.name,
                        "waiting": waiting.get(client.pk, {}).get("count", 0),
                        "longest_wait": round(oldest.get(client.pk, 0)),
                        **asdict(day_figures(client))})
    agents = dict(AgentPresence.objects.values_list("status").annotate(n=Count("agent")).filter(~Q(n=0)))
    return {"clients": clients, "agents": agents, "alerts": open_alerts(), "at": now.isoformat()}


def open_alerts(limit: int = 20) -> list[dict]:
    """What supervisors must act on: unacknowledged messages, deliveries failed for good."""
    return [{"id": a.pk, "client": a.client.schema_name, "kind": a.kind, "text": a.text, "at": a.created.isoformat()}
            for a in SupervisorAlert.objects.filter(resolved_at__isnull=True).select_related("client")[:limit]]
