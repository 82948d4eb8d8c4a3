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

Each client's service level is judged against its own target (``service_level_target``,
default 80 %, in its answering settings): **below** under the target, **near** within
``NEAR_TARGET`` (5 points) above it, else **ok** — red, amber, plain on the wallboard.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from answering import wallboard
from answering.acd.models import SupervisorAlert
from answering.models import AnsweringSettings, CallRecord
from tenants.models import Client

NEAR_TARGET = 0.05


@dataclass(frozen=True)
class DayFigures:
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    average_speed_of_answer: float | None
    abandonment_rate: float | None
    average_handle_time: float | None
    service_level_seconds: int = 20
    service_level_target: float = 0.8


def day_figures(client: Client, day: date | None = None) -> DayFigures:
    """Today's (or ``day``'s) figures for one client, in its own time zone."""
    tz = zoneinfo.ZoneInfo(client.time_zone)
    day = day or timezone.now().astimezone(tz).date()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = start + timedelta(days=1)
    with schema_context(client.schema_name):
        goal = AnsweringSettings.objects.values_list("service_level_seconds", "service_level_target").first()
        threshold, target = goal or (20, 80)
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
        service_level_seconds=threshold, service_level_target=target / 100,
    )


def service_level_risk(level: float | None, target: float) -> str | None:
    """``below`` the target, ``near`` it (within NEAR_TARGET above), ``ok``; None with nothing offered."""
    if level is None:
        return None
    if level < target - 1e-9:
        return "below"
    return "near" if level < target + NEAR_TARGET - 1e-9 else "ok"


def wallboard_snapshot() -> dict:
    """Everything the wallboard shows, whole: agents by name and state, per client the calls
    waiting and today's figures against its target, the alerts (most severe first), and the
    running campaigns as the dialer's last tick left them.
    ``at`` is the server's clock: the browser counts every "since" from it."""
    now = timezone.now()
    waiting = wallboard.waiting_calls()
    client_rows = list(Client.objects.exclude(schema_name="public").order_by("name"))
    clients = []
    for client in client_rows:
        calls = waiting.get(client.pk, [])
        oldest = min((c["queued_at"] for c in calls), default=None)
        figures = day_figures(client)
        clients.append({"client": client.schema_name, "name": client.name, "waiting": len(calls),
                        "longest_wait": max(0, round((now - datetime.fromisoformat(oldest)).total_seconds())) if oldest else 0,
                        "oldest_queued_at": oldest, "calls": calls, **asdict(figures),
                        "risk": service_level_risk(figures.service_level, figures.service_level_target)})
    agents = wallboard.agent_board()
    return {"clients": clients, "agents": agents, "agent_counts": wallboard.agent_counts(agents),
            "attention": wallboard.alert_list(client_rows, now=now), "alerts": open_alerts(),
            "campaigns": wallboard.campaign_board(), "at": now.isoformat()}


def open_alerts(limit: int = 20) -> list[dict]:
    """What supervisors must act on: unacknowledged messages, deliveries failed for good."""
    return [{"id": a.pk, "client": a.client.schema_name, "kind": a.kind, "text": a.text, "at": a.created.isoformat()}
            for a in SupervisorAlert.objects.filter(resolved_at__isnull=True).select_related("client")[:limit]]
