"""The wallboard's figures. Their definitions live once, in ``reports.figures`` (the reports
use the same ones); here the wallboard takes today's for each client. Reads only.

The wallboard shows, per client and local day: **offered** (answered + abandoned + sent to
voicemail by the queue, short abandons left out), the **service level** of offered calls
(answered within the client's threshold ÷ offered: ``figures.service_level_offered``), the
**average speed of answer**, the **abandonment rate** and the **average handle time**.
A figure with nothing to measure is None (shown as "—"), never 0 or 100 %.

Each client's service level is judged against its own target (``service_level_target``,
default 80 %, in its answering settings): **below** under the target, **near** within
``NEAR_TARGET`` (5 points) above it, else **ok** — red, amber, plain on the wallboard.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass
from datetime import date, datetime

from django.utils import timezone
from django_tenants.utils import schema_context

from answering import wallboard
from answering.acd.models import SupervisorAlert
from reports import figures
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
    """Today's (or ``day``'s) figures for one client, in its own time zone: one aggregate query
    (``reports.figures``), whatever the number of calls."""
    day = day or timezone.now().astimezone(zoneinfo.ZoneInfo(client.time_zone)).date()
    with schema_context(client.schema_name):
        counts, threshold, target = figures.day_counts(day, client.time_zone)
    return DayFigures(
        offered=figures.offered(counts), answered=int(counts["answered"]), abandoned=figures.abandoned(counts),
        service_level=figures.service_level_offered(counts),
        average_speed_of_answer=figures.average_speed_of_answer(counts),
        abandonment_rate=figures.abandonment_rate(counts),
        average_handle_time=figures.average_handle_time(counts),
        service_level_seconds=threshold, service_level_target=target,
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
