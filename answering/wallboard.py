"""What the supervisors' wallboard shows besides the day's figures (``answering.metrics``):
agents by name and state, calls waiting by client, and the alerts. Reads only (selectors).

Times go out as ISO timestamps (when a state began, when a caller was queued, when a
message was taken), never as ages: the browser counts from them, so every clock on the
wall ticks between pushes.

Alerts come from two places. ``SupervisorAlert`` rows (public schema) are the outbox's own
summary: a chain nobody acknowledged, a delivery that failed for good. Urgent messages not
yet acknowledged, and deliveries Twilio reported failed afterwards (an undelivered text),
live in each client's schema: they are read with one statement over every schema (a
``UNION ALL`` of one small indexed select per client), not one round trip per client.

Running campaigns come from the public ``DialerCampaign`` rows: the dialer's tick writes
their figures (``stats``), mode and reason there, then calls ``campaigns_push``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from answering import live
from answering.acd.models import AgentPresence, CallSession, DialerCampaign, SupervisorAlert
from answering.models import Delivery, Message, Person
from campaigns.selectors import campaign_configured_modes
from tenants.models import Client, User
from tenants.models.clients import LANGUAGES

State = CallSession.State
LANGUAGE_NAMES = dict(LANGUAGES)

# How far back the wall looks for urgent messages and failed deliveries still unacknowledged:
# a night shift. Older ones are the escalation's business (its alert stays until resolved).
ALERT_WINDOW = timedelta(hours=12)
# A call-out nobody picked up is the escalation going on to its next step, not a failure.
_UNANSWERED_CALLOUT = ["Twilio: busy", "Twilio: no-answer", "Twilio: completed", "Twilio: canceled"]
# Abandonment the wall warns about (amber) before the 3 % cap (red); the dialer eases off here too.
ABANDONMENT_NEAR = 0.025
ABANDONMENT_CAP = 0.03
# Most severe first; within a kind, oldest first.
_KIND_ORDER = {"unacknowledged": 0, "delivery_failed": 1, "urgent": 2}


def agent_board() -> list[dict]:
    """Every agent, by name: state, since when, and the client of the call they are on."""
    work = {}  # agent id -> client name of the call they are working
    connected = set()
    # Newest last, so it wins: an agent who went back to work during one call's wrap-up may
    # have that call still in wrap-up while they wrap up the next. A call on the line wins.
    for session in (CallSession.objects.filter(state__in=[State.OFFERED, State.CONNECTED, State.WRAP_UP])
                    .select_related("client").order_by("pk")):
        agent_id = session.offered_to_id if session.state == State.OFFERED else session.agent_id
        if agent_id and agent_id not in connected:
            work[agent_id] = session.client.name
            if session.state == State.CONNECTED:
                connected.add(agent_id)
    agents = []
    for user in (User.objects.filter(agent_profile__isnull=False, is_active=True)
                 .select_related("presence").order_by("full_name", "email")):
        presence = getattr(user, "presence", None)
        status = presence.status if presence else AgentPresence.Status.OFFLINE
        on_client = work.get(user.pk) if status in ("offered", "on_call", "wrap_up") else None
        agents.append({
            "agent": user.pk, "name": str(user), "status": status,
            "since": presence.since.isoformat() if presence else None,
            "client": on_client, "reason": presence.reason if presence else "",
        })
    return agents


def waiting_calls() -> dict[int, list[dict]]:
    """Calls waiting (queued, or being offered) by client id, in queue order."""
    offered_names = {}
    by_client: dict[int, list[dict]] = {}
    sessions = list(CallSession.objects.filter(state__in=[State.QUEUED, State.OFFERED])
                    .order_by("-priority", "queued_at", "pk"))
    offered_ids = {s.offered_to_id for s in sessions if s.offered_to_id}
    if offered_ids:
        offered_names = {u.pk: u.first_name for u in User.objects.filter(pk__in=offered_ids)}
    for s in sessions:
        by_client.setdefault(s.client_id, []).append({
            "call": s.pk, "queued_at": (s.queued_at or s.arrived_at).isoformat(),
            "priority": s.priority, "priority_label": s.get_priority_display(),
            "language": s.language, "language_label": LANGUAGE_NAMES.get(s.language, s.language),
            "state": s.state, "offered_to": offered_names.get(s.offered_to_id) if s.offered_to_id else None,
        })
    return by_client


def alert_list(clients: list[Client], *, now=None) -> list[dict]:
    """Everything a supervisor must act on, across clients, most severe first: chains nobody
    acknowledged, failed deliveries, urgent messages nobody has acknowledged yet."""
    now = now or timezone.now()
    names = {c.schema_name: c.name for c in clients}
    found = _tenant_alerts([c.schema_name for c in clients], since=now - ALERT_WINDOW)
    exhausted, failed_shown, alerts = set(), set(), []
    for row in found:
        if row["kind"] == "delivery_failed":
            failed_shown.add((row["client"], row["message"]))
    for alert in SupervisorAlert.objects.filter(resolved_at__isnull=True).select_related("client")[:50]:
        key = (alert.client.schema_name, alert.message_id)
        if alert.kind == SupervisorAlert.Kind.UNACKNOWLEDGED:
            exhausted.add(key)
        elif key in failed_shown:
            continue  # the same failure, read with its details from the client's schema below
        text = alert.text.removeprefix(f"{alert.client.name}: ")  # the board shows the client beside it
        alerts.append({"kind": alert.kind, "client": alert.client.schema_name, "client_name": alert.client.name,
                       "message": alert.message_id, "at": alert.created.isoformat(), "text": text})
    for row in found:
        if row["kind"] == "urgent" and (row["client"], row["message"]) in exhausted:
            continue  # the louder alert above already says it
        caller = row["caller_name"] or row["callback_number"] or row["caller"] or "unknown caller"
        what = f" · {row['category']}" if row["category"] else ""
        if row["kind"] == "urgent":
            text = f"Urgent message from {caller}{what} — not acknowledged yet"
        else:
            channel = dict(Delivery._meta.get_field("channel").choices).get(row["channel"], row["channel"])
            text = f"{channel} to {row['whom']} failed ({row['error'] or 'no reason given'}) — message from {caller}"
        alerts.append({"kind": row["kind"], "client": row["client"], "client_name": names.get(row["client"], ""),
                       "message": row["message"], "at": row["at"].isoformat(), "text": text})
    alerts.sort(key=lambda a: (_KIND_ORDER.get(a["kind"], 9), a["at"]))
    return alerts


def _tenant_alerts(schemas: list[str], *, since) -> list[dict]:
    """Urgent unacknowledged messages and failed deliveries of unacknowledged messages in
    every schema of ``schemas``: one statement, two indexed selects per schema."""
    if not schemas:
        return []
    q = connection.ops.quote_name
    message, delivery, person = (q(m._meta.db_table) for m in (Message, Delivery, Person))
    parts, params = [], []
    for schema in schemas:
        s = q(schema)
        parts.append(
            f"SELECT %s::text AS client, 'urgent' AS kind, m.id AS message, m.created AS at, m.caller, m.callback_number,"
            f" m.caller_name, m.category, '' AS channel, '' AS whom, '' AS error"
            f" FROM {s}.{message} m WHERE m.urgency = 'urgent' AND m.acknowledged_at IS NULL AND m.created >= %s")
        params += [schema, since]
        parts.append(
            f"SELECT %s::text, 'delivery_failed', m.id, d.failed_at, m.caller, m.callback_number, m.caller_name,"
            f" m.category, d.channel, COALESCE(p.name, d.address), d.error"
            f" FROM {s}.{delivery} d JOIN {s}.{message} m ON m.id = d.message_id"
            f" LEFT JOIN {s}.{person} p ON p.id = d.person_id"
            f" WHERE d.status = 'failed' AND d.failed_at >= %s AND m.acknowledged_at IS NULL"
            f" AND NOT (d.channel = 'call' AND d.error = ANY(%s))")
        params += [schema, since, _UNANSWERED_CALLOUT]
    sql = " UNION ALL ".join(f"({p})" for p in parts) + " ORDER BY at LIMIT 100"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def agent_counts(agents: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in agents:
        counts[a["status"]] = counts.get(a["status"], 0) + 1
    return counts



def campaign_board() -> list[dict]:
    """Every running campaign, by client then name, as the dialer's last tick left it: the
    mode it dials in now beside the mode it is configured with (predictive drops to
    progressive over the abandonment cap, and ``reason`` says why), lines per agent, and
    the tick's figures. ``risk_today`` and ``risk_30d`` are ``over`` the 3 % cap, ``near`` it
    from 2.5 %, else ``ok``; ``risk`` the worse of the two; ``dropped`` when the modes differ."""
    rows = list(DialerCampaign.objects.select_related("client").order_by("client__name", "name", "pk"))
    # The configured mode lives in each client's schema: one statement for all of them.
    configured = campaign_configured_modes(_campaign_ids_by_schema(rows))
    board = []
    for row in rows:
        stats = row.stats if isinstance(row.stats, dict) else {}
        risk_today, risk_30d = _risk(stats.get("abandon_rate_today")), _risk(stats.get("abandon_rate_30d"))
        mode = configured.get((row.client.schema_name, row.campaign_id), row.mode)
        board.append({
            "client": row.client.schema_name, "client_name": row.client.name, "campaign": row.campaign_id,
            "name": row.name, "mode": row.mode, "configured_mode": mode, "dropped": bool(row.mode and row.mode != mode),
            "lines_per_agent": row.lines_per_agent, "reason": row.reason,
            "risk": max(risk_today, risk_30d, key=_RISK_ORDER.index), "risk_today": risk_today, "risk_30d": risk_30d,
            "ticked_at": row.ticked_at.isoformat() if row.ticked_at else None,
            **{key: stats.get(key) for key in CAMPAIGN_STATS},
        })
    return board


_RISK_ORDER = ["ok", "near", "over"]


def _risk(rate: float | None) -> str:
    if rate is None:
        return "ok"
    return "over" if rate >= ABANDONMENT_CAP - 1e-9 else "near" if rate >= ABANDONMENT_NEAR - 1e-9 else "ok"


# What the dialer's tick writes to ``DialerCampaign.stats`` (None until its first tick).
CAMPAIGN_STATS = ("contacts_left", "attempts_today", "answered_today", "answer_rate", "abandoned_today", "live_today",
                  "abandon_rate_today", "abandoned_30d", "live_30d", "abandon_rate_30d", "agents", "lines_in_flight")


def _campaign_ids_by_schema(rows: list[DialerCampaign]) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for row in rows:
        ids.setdefault(row.client.schema_name, []).append(row.campaign_id)
    return ids


def campaigns_push() -> None:
    """Tell the supervisors' wallboards that running campaigns changed (call after the
    dialer's tick commits its ``DialerCampaign`` rows, or after a start, pause or stop).

    Coalesced: the calls of one tick round (every running campaign, in any process) within
    ``LIVE_COALESCE_MS`` make one push (``live.push_soon``), and each wallboard then redraws
    its whole snapshot once, which reads ``campaign_board``. Safe when Redis is down (the
    push is logged and lost; the wall's next snapshot, asked every 30 s, heals it)."""
    live.push_soon("wallboard:campaigns", lambda: (live.SUPERVISORS_GROUP, {"type": "campaigns"}))
