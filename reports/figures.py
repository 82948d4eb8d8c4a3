"""Every figure of the reports, the portal's week at a glance and the wallboard, each defined
once, here. Reads only (selectors), inside one client's schema.

How a figure is made: a few SQL aggregates over the client's own records (call records,
messages, outbound attempts, appointments) in a period of local days, grouped by **day**,
**hour**, **agent** or **campaign** in the client's time zone (``AT TIME ZONE`` in
PostgreSQL, never a Python loop over rows) return additive *counts* (numbers of calls, sums of
seconds); each figure is then a small function of those counts below, whose docstring is its
definition. The same counts summed over the rows give the period's total, so a total is
never an average of averages. A figure with nothing to measure is None (shown "—"), never 0.

**The period** is whole local days, ``start`` to ``end`` inclusive: from local midnight of
``start`` to local midnight after ``end`` — 23 hours on the spring-forward day, 25 on the
fall-back one. A call belongs to the local day and hour it **arrived** in (``arrived_at``), so
a call that starts at 23:58 and ends after midnight counts once, on the day it rang; a message
to when it was taken, an attempt to when it was placed. **By hour** is real hours: on the
fall-back day 01:00 EDT and 01:00 EST are two rows.

**Inbound** (``CallRecord``), over the calls that reached the queue (``queued_at`` set) and
ended there: answered, abandoned, or sent to voicemail by the queue (``max_wait_seconds``).
Calls that never queued (information only, voicemail chosen in the menu) are ``calls`` but not
offered. A *short abandon* is a caller who hung up in the queue before the client's
``short_abandon_seconds`` (answering settings, default 5 s; 0: none): it is neither offered
nor abandoned — a misdial is not the service's fault. The threshold ``T`` is the client's
``service_level_seconds`` (default 20 s), "within" meaning a wait of at most T.

**Occupancy** is true occupancy, from the presence log (``answering.acd.models.PresenceInterval``,
written by the database on every change of an agent's status): time on a call or in wrap-up ÷
time logged in (available, ringing, on a call, wrap-up; not break, away or offline), per agent
and local day, over every client the agent served (``answering.acd.selectors.occupancy_by_agent``).
An agent's time is shared by clients, so it is the platform's figure (the cross-client report):
a client's own report leaves it empty and shows its agents' talk, wrap-up and handle time for
that client only. ``span_total`` (first answer to last wrap-up end, per agent and day) is still
counted; outbound *agent hours* are that span over an agent's attempts.

**Outbound** (``campaigns.models.CallAttempt``): dials, answers and the person/machine split
are ``campaigns.selectors``' definitions (``DIALED``, ``ANSWERED``, ``PERSON``), as are the
campaigns' state now — contacts left, abandonment today and over 30 days, the gate's rate —
which ``campaigns_now`` takes from ``campaign_figures`` as it is.

**Appointments** (``calendars``): booked and cancelled when it happened (the ``booked`` and
``cancelled`` events of the history), confirmed when the person confirmed (``confirmed_at``),
no-shows on the appointment's own day (``start``, status no-show now).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, FloatField, IntegerField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from answering.models import AnsweringSettings, CallRecord, Message
from calendars.models import Appointment, AppointmentEvent
from campaigns.models import CallAttempt, Campaign, Disposition
from campaigns.selectors import ANSWERED, DIALED, PERSON, CampaignFigures, campaign_figures
from reports import cache

GROUPINGS = ("day", "hour", "agent", "campaign")
MAX_DAYS = 366
MAX_HOUR_DAYS = 31  # by hour, a month at most: 744 rows is already a long table
WORK_MEM = "64MB"  # for the report's few aggregate queries (see report_build)


FIELD_LABELS = {"from": "From", "to": "To", "by": "By", "client": "Client"}


class PeriodRefused(ValueError):
    """A period (or grouping) that cannot be reported: says which field and why
    (``str()``: "To: The last day is before the first.")."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{FIELD_LABELS.get(field, field)}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    """Whole local days ``start`` … ``end`` (inclusive) in ``time_zone``."""

    start: dt.date
    end: dt.date
    time_zone: str

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def starts_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=self.tz)

    @property
    def ends_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_check(start: dt.date | None, end: dt.date | None, time_zone: str, by: str = "day") -> Period:
    """The period to report, or ``PeriodRefused`` naming the field (``from``, ``to``, ``by``)."""
    if start is None:
        raise PeriodRefused("from", "Choose the first day.")
    if end is None:
        raise PeriodRefused("to", "Choose the last day.")
    if end < start:
        raise PeriodRefused("to", "The last day is before the first.")
    if by not in GROUPINGS:
        raise PeriodRefused("by", f"Group by one of: {', '.join(GROUPINGS)}.")
    period = Period(start, end, time_zone)
    if period.days > MAX_DAYS:
        raise PeriodRefused("to", f"A report covers at most {MAX_DAYS} days; choose a shorter range.")
    if by == "hour" and period.days > MAX_HOUR_DAYS:
        raise PeriodRefused("by", f"By hour covers at most {MAX_HOUR_DAYS} days; choose a shorter range, "
                                  "or group by day.")
    return period


# --- The figures: each a function of the counts, its docstring its definition -------------

Counts = Mapping[str, float]


def _ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if whole else None


def offered(c: Counts) -> int:
    """Calls that reached the queue and ended there: answered + abandoned + sent to voicemail
    by the queue, short abandons left out."""
    return int(c["answered"] + c["abandoned_all"] - c["short_abandoned"] + c["voicemail_queue"])


def abandoned(c: Counts) -> int:
    """Callers who hung up in the queue, short abandons left out."""
    return int(c["abandoned_all"] - c["short_abandoned"])


def answer_rate(c: Counts) -> float | None:
    """Answered ÷ offered: how many of the callers who waited for us reached an agent."""
    return _ratio(c["answered"], offered(c))


def service_level(c: Counts) -> float | None:
    """Answered within the client's threshold T ÷ answered."""
    return _ratio(c["answered_within"], c["answered"])


def service_level_offered(c: Counts) -> float | None:
    """Answered within T ÷ offered: abandons and the queue's voicemails count against it (the wallboard's)."""
    return _ratio(c["answered_within"], offered(c))


def average_speed_of_answer(c: Counts) -> float | None:
    """Mean wait in the queue of the answered calls, in seconds."""
    return _ratio(c["wait_total"], c["answered"])


def abandonment_rate(c: Counts) -> float | None:
    """Abandoned ÷ offered (short abandons in neither)."""
    return _ratio(abandoned(c), offered(c))


def average_talk(c: Counts) -> float | None:
    """Mean talk time of the answered calls (answer to hang-up, hold included), in seconds."""
    return _ratio(c["talk_total"], c["answered"])


def average_wrap_up(c: Counts) -> float | None:
    """Mean wrap-up after the answered calls (hang-up to the agent's next readiness), in seconds."""
    return _ratio(c["wrap_total"], c["answered"])


def average_handle_time(c: Counts) -> float | None:
    """Mean talk + wrap-up of the answered calls, in seconds."""
    return _ratio(c["talk_total"] + c["wrap_total"], c["answered"])


def occupancy(c: Counts) -> float | None:
    """Time on a call or in wrap-up ÷ time logged in (available, ringing, on a call, wrap-up — not
    break, away or offline), from the presence log, over every client the agents served: the
    cross-client report's figure; a client's own report leaves it empty."""
    return _ratio(c.get("presence_handled"), c.get("presence_logged_in"))


def messages_taken(c: Counts) -> int:
    """Messages taken (on calls and from voicemails), by when they were taken."""
    return int(c["messages"])


def time_to_acknowledge(c: Counts) -> float | None:
    """Mean time from a message's taking to its acknowledgement, of the acknowledged ones, in seconds."""
    return _ratio(c["ack_total"], c["acknowledged"])


def dispatches(c: Counts) -> int:
    """Messages whose script ended in a dispatch to the on-call person."""
    return int(c["dispatches"])


def contact_rate(c: Counts) -> float | None:
    """Dials answered by a person (connected or abandoned) ÷ dials."""
    return _ratio(c["person"], c["dials"])


def conversion_rate(c: Counts) -> float | None:
    """Attempts with a successful disposition (sale, appointment …) ÷ dials connected to an agent."""
    return _ratio(c["conversions"], c["connected"])


def calls_per_agent_hour(c: Counts) -> float | None:
    """Dials an agent had ÷ agent hours (first to last attempt of each agent and day)."""
    return _ratio(c["agent_dials"], c["agent_seconds"] / 3600) if c.get("agent_seconds") else None


def amount_per_call(c: Counts) -> Decimal | None:
    """Sum of the amounts taken (sales) ÷ dials connected to an agent."""
    if not c["connected"]:
        return None
    return (Decimal(c["amount_total"] or 0) / c["connected"]).quantize(Decimal("0.01"))


def outbound_abandonment(c: Counts) -> float | None:
    """Dials a person answered with no agent free within 2 s ÷ dials a person answered (the gate's rule)."""
    return _ratio(c["outbound_abandoned"], c["person"])


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    kind: str  # count, percent, seconds, number, money
    section: str  # inbound, messages, outbound, appointments
    compute: Callable[[Counts], object]

    @property
    def definition(self) -> str:
        return " ".join((self.compute.__doc__ or "").split())


def _count(name: str) -> Callable[[Counts], int]:
    return lambda c: int(c[name])


def _counted(name: str, doc: str) -> Callable[[Counts], int]:
    fn = _count(name)
    fn.__doc__ = doc
    return fn


FIGURES: tuple[Figure, ...] = (
    Figure("calls", "Calls", "count", "inbound",
           _counted("calls", "Every call that arrived on the client's numbers, whatever became of it.")),
    Figure("offered", "Offered", "count", "inbound", offered),
    Figure("answered", "Answered", "count", "inbound",
           _counted("answered", "Calls from the queue an agent answered.")),
    Figure("abandoned", "Abandoned", "count", "inbound", abandoned),
    Figure("short_abandoned", "Short abandons", "count", "inbound",
           _counted("short_abandoned", "Callers who hung up in the queue before the short-abandon threshold N.")),
    Figure("answer_rate", "Answered", "percent", "inbound", answer_rate),
    Figure("service_level", "Service level", "percent", "inbound", service_level),
    Figure("service_level_offered", "Service level (of offered)", "percent", "inbound", service_level_offered),
    Figure("average_speed_of_answer", "ASA", "seconds", "inbound", average_speed_of_answer),
    Figure("abandonment_rate", "Abandonment", "percent", "inbound", abandonment_rate),
    Figure("average_talk", "Talk", "seconds", "inbound", average_talk),
    Figure("average_wrap_up", "Wrap-up", "seconds", "inbound", average_wrap_up),
    Figure("average_handle_time", "Handle time", "seconds", "inbound", average_handle_time),
    Figure("occupancy", "Occupancy", "percent", "inbound", occupancy),
    Figure("messages", "Messages", "count", "messages", messages_taken),
    Figure("time_to_acknowledge", "Time to acknowledge", "seconds", "messages", time_to_acknowledge),
    Figure("dispatches", "Dispatches", "count", "messages", dispatches),
    Figure("dials", "Dials", "count", "outbound",
           _counted("dials", "Outbound attempts that reached the telephone network and ended.")),
    Figure("contact_rate", "Contact rate", "percent", "outbound", contact_rate),
    Figure("conversions", "Conversions", "count", "outbound",
           _counted("conversions", "Attempts whose disposition counts as a success.")),
    Figure("conversion_rate", "Conversion", "percent", "outbound", conversion_rate),
    Figure("calls_per_agent_hour", "Calls per agent hour", "number", "outbound", calls_per_agent_hour),
    Figure("amount_per_call", "Amount per call", "money", "outbound", amount_per_call),
    Figure("outbound_abandonment", "Outbound abandonment", "percent", "outbound", outbound_abandonment),
    Figure("booked", "Booked", "count", "appointments",
           _counted("booked", "Appointments booked in the period (when the booking was made).")),
    Figure("confirmed", "Confirmed", "count", "appointments",
           _counted("confirmed", "Appointments the person confirmed in the period.")),
    Figure("cancelled", "Cancelled", "count", "appointments",
           _counted("cancelled", "Appointments cancelled in the period.")),
    Figure("no_shows", "No-shows", "count", "appointments",
           _counted("no_shows", "Appointments in the period marked as a no-show.")),
)
FIGURE_BY_NAME = {f.name: f for f in FIGURES}
SECTIONS = ("inbound", "messages", "outbound", "appointments")

# Every count a query below may return; a row with none of one has 0 of it.
COUNTS = ("calls", "answered", "abandoned_all", "short_abandoned", "voicemail_queue", "answered_within", "wait_total",
          "talk_total", "wrap_total", "messages", "acknowledged", "ack_total", "dispatches", "dials", "answers",
          "person", "connected", "outbound_abandoned", "conversions", "amount_total", "agent_dials", "booked",
          "confirmed", "cancelled", "no_shows")
# Spans are additive across the agent-days they are made of: summed over rows for day and
# agent; otherwise the total is asked of the database itself.
SPANS = ("handled_total", "span_total", "agent_seconds")


def figures_of(counts: Counts) -> dict[str, object]:
    """Every figure of these counts, by name."""
    return {f.name: f.compute(counts) for f in FIGURES}


# --- The queries ----------------------------------------------------------------------------
#
# Rows are put in their local day or hour by ``width_bucket`` over the period's edges (the
# instants each local day or hour began, computed here with zoneinfo): a binary search per row
# instead of a time-zone conversion per row, and exact across DST by construction. Calls and
# attempts are grouped by (day, agent) — a few hundred groups a month — so the one scan that
# counts them also gives each agent-day's working span; everything coarser is summed here from
# those groups, never from the rows.

@functools.lru_cache(maxsize=64)
def _edges(period: Period, unit: str) -> list[dt.datetime]:
    """The instants the period's local days (or real hours) begin, and its end."""
    if unit == "day":
        return [dt.datetime.combine(period.start + dt.timedelta(days=n), dt.time.min, tzinfo=period.tz)
                for n in range(period.days + 1)]
    edges, at, end = [], period.starts_at.astimezone(dt.UTC), period.ends_at.astimezone(dt.UTC)
    while at < end:
        edges.append(at)
        at += dt.timedelta(hours=1)
    return [*edges, end]


def _bucket(column: str, edges: list[dt.datetime]) -> RawSQL:
    """The 1-based index of the day or hour ``column`` falls in."""
    return RawSQL(f"width_bucket({column}, %s::timestamptz[])", [edges], output_field=IntegerField())


def _bucket_keys(period: Period, unit: str) -> list:
    """Bucket i's key at index i − 1: the local date, or the hour's start (UTC)."""
    if unit == "day":
        return [period.start + dt.timedelta(days=n) for n in range(period.days)]
    return _edges(period, "hour")[:-1]


def _grouped(qs: QuerySet, fields: list, **aggregates) -> list[dict]:
    """One aggregate query grouped by ``fields`` (name → expression), a dict per group."""
    if not fields:
        return [qs.aggregate(**aggregates)]
    return list(qs.order_by().annotate(**dict(fields)).values(*[name for name, _ in fields]).annotate(**aggregates))


def _by_time(period: Period, by: str | None, column: str) -> list:
    """The grouping fields that put rows in ``by``'s day or hour (none for other groupings)."""
    return [("bucket", _bucket(column, _edges(period, by)))] if by in ("day", "hour") else []


def _thresholds() -> tuple[int, int, int]:
    row = AnsweringSettings.objects.values_list("service_level_seconds", "short_abandon_seconds",
                                                "service_level_target").first()
    return row or (20, 5, 80)


def _rows(sql: str, params: list) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def inbound_groups(period: Period, unit: str, *, threshold: int, short: int, by_agent: bool = True) -> list[dict]:
    """The call records' counts per local ``unit`` (day or hour) and, with ``by_agent``, per
    agent, with each agent-group's first answer and last wrap-up end: one scan.

    The scan groups by what a call *is* (its bucket, agent, outcome, whether it queued, was
    answered within T, hung up before N) with plain sums — no per-aggregate filter on 100,000
    rows — and the few hundred groups are sorted into the counts here."""
    table = connection.ops.quote_name(CallRecord._meta.db_table)
    agent = "agent_id" if by_agent else "NULL::bigint"
    # Epoch seconds, not timestamps: a float is read far faster than a date, a few thousand times.
    spans = ("EXTRACT(EPOCH FROM MIN(answered_at))::float8 AS first, EXTRACT(EPOCH FROM MAX(COALESCE(ended_at, "
             "answered_at) + COALESCE(wrap_up_seconds, 0) * interval '1 second')"
             " FILTER (WHERE answered_at IS NOT NULL))::float8 AS last" if by_agent else "NULL AS first, NULL AS last")
    groups = _rows(
        f"SELECT width_bucket(arrived_at, %s::timestamptz[]) AS bucket, {agent} AS g_agent, outcome,"
        f"       queued_at IS NOT NULL AS queued, COALESCE(wait_seconds, 0) <= %s AS within,"
        f"       COALESCE(wait_seconds, 0) < %s AS short, COUNT(*) AS n, SUM(COALESCE(wait_seconds, 0)) AS wait,"
        f"       SUM(COALESCE(talk_seconds, 0)) AS talk, SUM(COALESCE(wrap_up_seconds, 0)) AS wrap, {spans}"
        f" FROM {table} WHERE arrived_at >= %s AND arrived_at < %s GROUP BY 1, 2, 3, 4, 5, 6",
        [_edges(period, unit), threshold, short, period.starts_at, period.ends_at])
    out: dict = {}
    for g in groups:
        row = out.setdefault((g["bucket"], g["g_agent"]), {"bucket": g["bucket"], "g_agent": g["g_agent"],
                                                            **{name: 0 for name in INBOUND}, "handled_agent": 0,
                                                            "first": None, "last": None})
        row["calls"] += g["n"]
        if not g["queued"]:
            continue
        if g["outcome"] == CallRecord.Outcome.ANSWERED:
            row["answered"] += g["n"]
            row["answered_within"] += g["n"] if g["within"] else 0
            row["wait_total"] += g["wait"]
            row["talk_total"] += g["talk"]
            row["wrap_total"] += g["wrap"]
            if g["g_agent"] is not None and g["first"] is not None:
                row["handled_agent"] += g["talk"] + g["wrap"]
                row["first"] = min(filter(None, (row["first"], g["first"])))
                row["last"] = max(filter(None, (row["last"], g["last"])))
        elif g["outcome"] == CallRecord.Outcome.ABANDONED:
            row["abandoned_all"] += g["n"]
            row["short_abandoned"] += g["n"] if g["short"] else 0
        elif g["outcome"] == CallRecord.Outcome.VOICEMAIL:
            row["voicemail_queue"] += g["n"]
    return list(out.values())


def outbound_groups(period: Period, unit: str, *, fine: bool = True) -> list[dict]:
    """Outbound attempts' counts per local ``unit`` and, ``fine``, per agent and campaign, with
    each group's first and last dial an agent had: one scan, grouped by what an attempt is
    (bucket, agent, campaign, outcome, a successful disposition), sorted into counts here."""
    table = connection.ops.quote_name(CallAttempt._meta.db_table)
    dispositions = connection.ops.quote_name(Disposition._meta.db_table)
    agent, campaign = ("a.agent_id", "a.campaign_id") if fine else ("NULL::bigint", "NULL::bigint")
    spans = ("EXTRACT(EPOCH FROM MIN(a.started_at))::float8 AS first, "
             "EXTRACT(EPOCH FROM MAX(COALESCE(a.ended_at, a.started_at)))::float8 AS last"
             if fine else "NULL AS first, NULL AS last")
    groups = _rows(
        f"SELECT width_bucket(a.started_at, %s::timestamptz[]) AS bucket, {agent} AS g_agent,"
        f"       {campaign} AS g_campaign, a.outcome, COALESCE(d.success, false) AS success,"
        f"       a.agent_id IS NOT NULL AS with_agent, COUNT(*) AS n, SUM(a.amount) AS amount,"
        f"       {spans}"
        f" FROM {table} a LEFT JOIN {dispositions} d ON d.id = a.disposition_id"
        f" WHERE a.started_at >= %s AND a.started_at < %s GROUP BY 1, 2, 3, 4, 5, 6",
        [_edges(period, unit), period.starts_at, period.ends_at])
    out: dict = {}
    for g in groups:
        key = (g["bucket"], g["g_agent"], g["g_campaign"])
        row = out.setdefault(key, {"bucket": g["bucket"], "g_agent": g["g_agent"], "g_campaign": g["g_campaign"],
                                   **{name: 0 for name in OUTBOUND}, "amount_total": None, "first": None,
                                   "last": None})
        n, outcome = g["n"], g["outcome"]
        row["conversions"] += n if g["success"] else 0
        if g["amount"] is not None:
            row["amount_total"] = (row["amount_total"] or 0) + g["amount"]
        if outcome not in DIALED:
            continue
        row["dials"] += n
        row["answers"] += n if outcome in ANSWERED else 0
        row["person"] += n if outcome in PERSON else 0
        row["connected"] += n if outcome == CallAttempt.Outcome.LIVE_ANSWERED else 0
        row["outbound_abandoned"] += n if outcome == CallAttempt.Outcome.ABANDONED else 0
        if g["with_agent"]:
            row["agent_dials"] += n
            if fine:
                row["first"] = min(filter(None, (row["first"], g["first"])))
                row["last"] = max(filter(None, (row["last"], g["last"])))
    return list(out.values())


def message_groups(period: Period, unit: str, *, by_agent: bool = True) -> list[dict]:
    """Messages taken per local ``unit`` (day or hour) and, ``by_agent``, per agent: one query,
    grouped by what a message is (acknowledged or not, a dispatch or not) with plain sums, folded
    here into a row per bucket and agent."""
    messages = Message.objects.filter(created__gte=period.starts_at, created__lt=period.ends_at)
    fields = _by_time(period, unit, "created") + ([("g_agent", F("agent_id"))] if by_agent else [])
    fields += [("acked", ExpressionWrapper(Q(acknowledged_at__isnull=False), output_field=BooleanField())),
               ("dispatch", ExpressionWrapper(Q(end_action="dispatch"), output_field=BooleanField()))]
    groups = _grouped(messages, fields, n=Count("id"), ack=Sum(RawSQL(
        "EXTRACT(EPOCH FROM acknowledged_at - created)::float8", [], output_field=FloatField())))
    out: dict = {}
    for g in groups:
        agent = g.get("g_agent")
        row = out.setdefault((g["bucket"], agent), {"bucket": g["bucket"], "g_agent": agent, "messages": 0,
                                                    "acknowledged": 0, "ack_total": 0.0, "dispatches": 0})
        row["messages"] += g["n"]
        row["dispatches"] += g["n"] if g["dispatch"] else 0
        if g["acked"]:
            row["acknowledged"] += g["n"]
            row["ack_total"] += g["ack"] or 0
    return list(out.values())


def message_counts(period: Period, by: str | None) -> dict:
    """Messages taken in the period by key (day, hour, agent; else one row): the day's or
    hour's groups of ``message_groups``, closed days from the cache, summed by the key."""
    unit = "hour" if by == "hour" else "day"
    groups = cache.day_groups(period, "messages", unit, lambda p: message_groups(p, unit, by_agent=unit == "day"))
    keys = _bucket_keys(period, unit)
    key = {"day": lambda g: keys[g["bucket"] - 1], "hour": lambda g: keys[g["bucket"] - 1],
           "agent": lambda g: g["g_agent"]}.get(by, lambda g: None)
    return _fold(groups, key, ("messages", "acknowledged", "ack_total", "dispatches"))


def appointment_counts(period: Period, by: str | None) -> dict:
    """Appointments booked, cancelled (history), confirmed and no-shows in the period by key (three queries)."""
    if by in ("agent", "campaign"):
        by = None  # bookings are not the agents' (the history names people in words): one row
    events = AppointmentEvent.objects.filter(at__gte=period.starts_at, at__lt=period.ends_at,
                                             kind__in=["booked", "cancelled"])
    out = _keyed(period, by, _grouped(events, _by_time(period, by, "at"), booked=Count("id", filter=Q(kind="booked")),
                                      cancelled=Count("id", filter=Q(kind="cancelled"))))
    confirmed = Appointment.objects.filter(confirmed_at__gte=period.starts_at, confirmed_at__lt=period.ends_at)
    no_shows = Appointment.objects.filter(status=Appointment.Status.NO_SHOW, start__gte=period.starts_at,
                                          start__lt=period.ends_at)
    for name, qs, column in (("confirmed", confirmed, "confirmed_at"), ("no_shows", no_shows, "start")):
        for key, row in _keyed(period, by, _grouped(qs, _by_time(period, by, column), n=Count("id"))).items():
            out.setdefault(key, {})[name] = row["n"]
    return out


def _keyed(period: Period, by: str | None, rows: list[dict]) -> dict:
    """{key: counts} of grouped rows: a bucket becomes its day or hour, ``key`` stays, else None."""
    keys = _bucket_keys(period, by) if by in ("day", "hour") else None
    out = {}
    for row in rows:
        if "bucket" in row:
            bucket = row.pop("bucket")
            key = keys[bucket - 1] if keys and 0 < bucket <= len(keys) else None
        else:
            key = row.pop("key", None)
        out[key] = row
    return out


def _span_seconds(groups: list[dict], part) -> dict:
    """Working spans summed by ``part(group)``: per agent and day, last − first over its groups."""
    days: dict = {}
    for g in groups:
        if g.get("first") is None or g.get("g_agent") is None:
            continue
        one = (part(g), g["g_agent"], g["bucket"])
        first, last = days.get(one, (g["first"], g["last"]))
        days[one] = (min(first, g["first"]), max(last, g["last"]))
    out: dict = {}
    for (key, _, _), (first, last) in days.items():
        out[key] = out.get(key, 0.0) + float(last - first)  # epoch seconds
    return out


def _fold(groups: list[dict], key, names: tuple[str, ...]) -> dict:
    """The groups' counts ``names`` summed by ``key(group)``."""
    out: dict = {}
    for g in groups:
        row = out.setdefault(key(g), {})
        for name in names:
            value = g.get(name)  # once: a month is a few thousand groups, each a dozen names
            if value is not None:
                row[name] = row.get(name, 0) + value
    return out


INBOUND = ("calls", "answered", "abandoned_all", "short_abandoned", "voicemail_queue", "answered_within", "wait_total",
           "talk_total", "wrap_total")
OUTBOUND = ("dials", "answers", "person", "connected", "outbound_abandoned", "conversions", "amount_total",
            "agent_dials")


def _inbound_kept(period: Period, unit: str, *, threshold: int, short: int) -> list[dict]:
    """``inbound_groups`` (per agent by day, not by hour), closed days read from the cache."""
    return cache.day_groups(period, "inbound", unit, lambda p: inbound_groups(
        p, unit, threshold=threshold, short=short, by_agent=unit == "day"), params=f"{threshold}:{short}")


def _outbound_kept(period: Period, unit: str) -> list[dict]:
    """``outbound_groups`` (per agent and campaign by day, not by hour), closed days from the
    cache; which dispositions are a success is part of the key."""
    return cache.day_groups(period, "outbound", unit, lambda p: outbound_groups(p, unit, fine=unit == "day"),
                            params=_successes())


def _successes() -> str:
    """The dispositions that count as a success, as a short key (one small query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT md5(COALESCE(string_agg(id::text, ',' ORDER BY id), '')) FROM "
                       f"{connection.ops.quote_name(Disposition._meta.db_table)} WHERE success")
        return cursor.fetchone()[0]


def _inbound_and_outbound(period: Period, by: str | None, *, threshold: int, short: int) -> tuple[dict, dict]:
    """{key: counts} for ``by`` and the period's total, from two scans (four by hour: the
    spans need agent-days)."""
    days = _bucket_keys(period, "day")
    calls = _inbound_kept(period, "day", threshold=threshold, short=short)
    attempts = _outbound_kept(period, "day")
    total_keys = lambda g: None
    total = {**_fold(calls, total_keys, (*INBOUND, "handled_agent")).get(None, {}),
             **_fold(attempts, total_keys, OUTBOUND).get(None, {})}
    total["handled_total"] = total.pop("handled_agent", 0)
    total["span_total"] = _span_seconds(calls, total_keys).get(None)
    total["agent_seconds"] = _span_seconds(attempts, total_keys).get(None)
    if by == "hour":
        hours = _bucket_keys(period, "hour")
        rows = {}
        _merge(rows, [_keyed(period, "hour", _inbound_kept(period, "hour", threshold=threshold, short=short)),
                      _keyed(period, "hour", _outbound_kept(period, "hour"))])
        return {h: rows.get(h, {}) for h in hours}, total
    key = {"day": lambda g: days[g["bucket"] - 1] if 0 < g["bucket"] <= len(days) else None,
           "agent": lambda g: g["g_agent"], "campaign": lambda g: g.get("g_campaign")}.get(by, total_keys)
    inbound_key = key if by != "campaign" else total_keys  # inbound calls have no campaign: one row
    rows: dict = {}
    inbound = _fold(calls, inbound_key, (*INBOUND, "handled_agent"))
    for k, spans in _span_seconds(calls, inbound_key).items():
        inbound.setdefault(k, {})["span_total"] = spans
    outbound = _fold(attempts, key, OUTBOUND)
    for k, spans in _span_seconds(attempts, key).items():
        outbound.setdefault(k, {})["agent_seconds"] = spans
    _merge(rows, [inbound, outbound])
    for row in rows.values():
        if "handled_agent" in row:
            row["handled_total"] = row.pop("handled_agent")
    return rows, total


# --- The report -----------------------------------------------------------------------------

@dataclass
class Row:
    key: object  # a date, an aware datetime (the hour's start), an agent's or a campaign's id, or None
    label: str
    counts: dict[str, float]
    figures: dict[str, object] = field(default_factory=dict)


@dataclass
class Report:
    period: Period
    by: str | None
    rows: list[Row]
    total: Row
    service_level_seconds: int
    short_abandon_seconds: int
    service_level_target: float
    campaigns: list[tuple[str, CampaignFigures]] = field(default_factory=list)

    @property
    def sections(self) -> list[tuple[str, list[Figure]]]:
        return [(s, [f for f in FIGURES if f.section == s]) for s in SECTIONS]


def _zeroes() -> dict[str, float]:
    return {name: 0 for name in COUNTS}


def _merge(into: dict, parts: list[dict]) -> None:
    for part in parts:
        for key, values in part.items():
            row = into.setdefault(key, _zeroes())
            row.update({k: v for k, v in values.items() if v is not None})


def _label(by: str, key, period: Period, names: dict) -> str:
    if by == "day":
        return key.isoformat()
    if by == "hour":
        return key.astimezone(period.tz).strftime("%Y-%m-%d %H:%M %Z")
    if key is None:
        return {"agent": "No agent", "campaign": "Inbound calls"}.get(by, "All")
    return names.get(key, f"#{key}")


def _names(by: str, keys) -> dict:
    ids = [k for k in keys if k is not None]
    if by == "agent" and ids:
        from tenants.models import User  # the public schema's users: no join from the client's tables

        return {u.pk: u.full_name or u.email for u in User.objects.filter(pk__in=ids)}
    if by == "campaign" and ids:
        return dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {}


def report_build(period: Period, by: str | None = "day", *, campaigns_now: bool = False) -> Report:
    """The client's report for ``period`` grouped ``by`` (run in the client's schema): every
    figure per row and for the whole period (``by`` None: the total alone). About ten aggregate
    queries, whatever the number of calls. ``campaigns_now`` adds each campaign's figures as
    they stand now."""
    threshold, short, target = _thresholds()
    with transaction.atomic(), connection.cursor() as cursor:
        # PostgreSQL cannot know a grouping expression's distinct values and guesses one group
        # per row: with the default 4 MB it would sort a month's calls on disk instead of
        # hashing the few hundred agent-days. Local to this transaction (PgBouncer-safe).
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        rows_by_key, spans_total = _inbound_and_outbound(period, by, threshold=threshold, short=short)
    merged: dict = {}
    if by in ("day", "hour"):
        for key in _bucket_keys(period, by):
            merged[key] = _zeroes()
    _merge(merged, [rows_by_key, message_counts(period, by), appointment_counts(period, by)])
    if by is None:  # the period's total only (the platform's one row per client)
        totals = {**_zeroes(), **merged.get(None, {})}
        totals.update({k: spans_total.get(k) for k in SPANS})
        return Report(period, by, [], Row(None, "Total", totals, figures_of(totals)), threshold, short, target / 100)
    names = _names(by, merged)
    rows = []
    for key in sorted(merged, key=lambda k: (k is None, _sort_key(by, k, names))):
        counts = merged[key]
        rows.append(Row(key, _label(by, key, period, names), counts, figures_of(counts)))
    totals = _zeroes()
    for row in rows:
        for name in COUNTS:
            totals[name] += row.counts.get(name) or 0
    totals.update({k: spans_total.get(k) for k in SPANS})
    total = Row(None, "Total", totals, figures_of(totals))
    report = Report(period, by, rows, total, threshold, short, target / 100)
    if campaigns_now:
        report.campaigns = [(c.name, campaign_figures(c, time_zone=period.time_zone))
                            for c in Campaign.objects.order_by("-is_callbacks", "name")]
    return report


def _sort_key(by: str, key, names: dict):
    if key is None:
        return ""
    if by in ("agent", "campaign"):
        return str(names.get(key, key)).lower()
    return key


def inbound_total(period: Period, *, threshold: int, short: int) -> dict:
    """The period's inbound counts, not grouped (one query)."""
    row = _fold(inbound_groups(period, "day", threshold=threshold, short=short, by_agent=False),
                lambda g: None, INBOUND).get(None, {})
    return {**_zeroes(), **row}


def day_counts(day: dt.date, time_zone: str) -> tuple[dict, int, float]:
    """One local day's inbound counts, without grouping (the wallboard): (counts, T, target)."""
    threshold, short, target = _thresholds()
    return inbound_total(Period(day, day, time_zone), threshold=threshold, short=short), threshold, target / 100


@dataclass(frozen=True)
class Glance:
    """The client's last seven local days, for the portal's home."""

    period: Period
    calls: int
    answered: int
    answer_rate: float | None
    service_level: float | None
    average_speed_of_answer: float | None
    messages: int
    booked: int


def week_glance(time_zone: str, *, today: dt.date | None = None) -> Glance:
    """The week at a glance: the seven local days to today, the same figures as the reports
    (a few aggregate queries)."""
    today = today or dt.datetime.now(zoneinfo.ZoneInfo(time_zone)).date()
    period = Period(today - dt.timedelta(days=6), today, time_zone)
    threshold, short, _ = _thresholds()
    counts = inbound_total(period, threshold=threshold, short=short)
    for part in (message_counts(period, None), appointment_counts(period, None)):
        counts.update({k: v for k, v in part.get(None, {}).items() if v is not None})
    return Glance(period, int(counts["calls"]), int(counts["answered"]), answer_rate(counts), service_level(counts),
                  average_speed_of_answer(counts), messages_taken(counts), int(counts["booked"]))
