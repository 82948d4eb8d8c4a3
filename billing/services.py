"""Billing: build a client's statement for a period from its records, and run it over clients.

``statement_build`` applies the client's plan to the period's records in this order (each
step is one set-based statement over the client's tables, so a month of 100,000 calls is a
handful of queries, not one per call):

1. **The period** is a calendar month in the client's time zone, ``[local midnight on the
   1st, local midnight on the next 1st)``, as UTC instants: a DST month is simply an hour
   shorter or longer. A call belongs to the period it *started* in (``arrived_at``), even
   when it ends after midnight on the last day; a call is one call record however many
   agents it was transferred between, so it is billed once; and a record lives in exactly
   one client's schema, so an agent who served two clients that day bills each their own.
   Calls still in progress are left for the next build.
2. **Agent time**, per answered call: talk (hold excluded) + hold + wrap-up, each only if
   the plan counts it.
3. **Free short calls**: the first ``free_short_calls`` calls of the period (by arrival)
   whose counted time is under ``short_call_seconds`` bill 0 s.
4. **Rounding**: every other call's counted time is rounded up to the increment (1, 6, 30
   or 60 s), raised to ``minimum_seconds``, and ``per_call_seconds`` added (e.g. one wrap-up
   minute per call).
5. **Included minutes and tiers**: calls are taken in arrival order and their billed seconds
   laid end to end; the first ``included_minutes`` cost nothing, then ``minute_rate`` per
   minute, then each tier's rate from ``above_minutes`` on. A call that crosses a boundary is
   priced part at each rate.
6. **Automated menu (IVR) time** per call, arrival → queue (or → end when it never queued),
   rounded up to the same increment, at ``ivr_minute_rate`` (no included minutes).
7. **Fees**: per message (voicemails too) and per dispatch, in the period of their call (or
   of their creation when they have none); per text sent (message deliveries by SMS,
   appointment notices by SMS, campaign texts), in the period they were sent; per outbound
   call attempt placed, in the period it was placed; and the plan's base fee.

A kind whose rate is 0 writes no items. Money is ``Decimal`` (PostgreSQL ``numeric``
end to end), and each item's amount is rounded **once**, half up to the cent; the statement's
total is the sum of its items' amounts, computed from the items themselves.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from answering.models import CallRecord, Delivery, Message
from billing.models import Statement, StatementItem
from billing.platform.models import BillingPlan, BillingRun, PlanAssignment
from calendars.models import AppointmentNotice
from campaigns.models import CallAttempt
from tenants.models import Client
from tenants.selectors import PUBLIC_SCHEMA

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
# Beyond any period's agent seconds: the top of the last band of a plan.
NO_LIMIT = 2**62
CENT = Decimal("0.01")


class StatementClosed(Exception):
    """The period's statement was issued: it is never rebuilt."""


class NoPlan(Exception):
    """The client has no billing plan."""


# --- Periods ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar month, named ``YYYY-MM``."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, value: str | Period) -> Period:
        if isinstance(value, Period):
            return value
        match = PERIOD.match((value or "").strip())
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
            raise ValidationError({"period": f"{value!r} is not a month: write it YYYY-MM, e.g. 2026-11."})
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def bounds(self, time_zone: str) -> tuple[datetime, datetime]:
        """The period as UTC instants ``[start, end)``: local midnights in ``time_zone``."""
        tz = zoneinfo.ZoneInfo(time_zone)
        after = self.next()
        return (datetime(self.year, self.month, 1, tzinfo=tz).astimezone(zoneinfo.ZoneInfo("UTC")),
                datetime(after.year, after.month, 1, tzinfo=tz).astimezone(zoneinfo.ZoneInfo("UTC")))


def period_current(client: Client, now: datetime | None = None) -> Period:
    """The month it is now in the client's zone."""
    return Period.of((now or timezone.now()).astimezone(client.tz).date())


def plan_for(client: Client) -> BillingPlan | None:
    assignment = PlanAssignment.objects.select_related("plan").filter(client=client).first()
    return assignment.plan if assignment else None


# --- The statement ------------------------------------------------------------------------

def _bands(rules: dict) -> tuple[list[int], list[int], list[Decimal], list[bool]]:
    """The plan's price bands over the period's agent seconds laid end to end: included
    minutes (free), then ``minute_rate``, then each tier — as parallel arrays for SQL."""
    included = rules["included_minutes"] * 60
    edges = [(included, Decimal(rules["minute_rate"]))]
    edges += [(tier["above_minutes"] * 60, Decimal(tier["minute_rate"]))
              for tier in sorted(rules["tiers"], key=lambda t: t["above_minutes"]) if tier["above_minutes"] * 60 > included]
    lo, hi, rate, free = ([0], [included], [Decimal("0")], [True]) if included else ([], [], [], [])
    for index, (start, price) in enumerate(edges):
        lo.append(start)
        hi.append(edges[index + 1][0] if index + 1 < len(edges) else NO_LIMIT)
        rate.append(price)
        free.append(False)
    return lo, hi, rate, free


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {name: quote(model._meta.db_table) for name, model in {
        "item": StatementItem, "record": CallRecord, "message": Message, "delivery": Delivery,
        "notice": AppointmentNotice, "attempt": CallAttempt}.items()}


ITEM_COLUMNS = ("statement_id, kind, call_id, source_id, reference, occurred_at, description, "
                "measured_seconds, billed_seconds, included_seconds, amount, talk_seconds, hold_seconds, wrap_up_seconds")
# What makes two items the same item (all but the id and the statement): a rebuild keeps an
# item whose every column is unchanged and rewrites the others.
SAME_ITEM = " AND ".join(f"i.{column} IS NOT DISTINCT FROM d.{column}" for column in ITEM_COLUMNS.split(", ")[1:])
ANALYZE_AFTER_ROWS = 10_000
CALL_KINDS = ("agent", "ivr")  # priced in arrival order: rewritten from the first changed call on
FEE_KINDS = ("message", "dispatch", "text", "attempt", "fee")  # each priced alone: rewritten item by item

# The period's answered, finished calls from ``since`` on, with the times billing counts.
CALLS_SQL = """
SELECT id, call_sid, arrived_at,
       GREATEST(COALESCE(talk_seconds, 0) - COALESCE(hold_seconds, 0), 0) AS talk,
       LEAST(COALESCE(hold_seconds, 0), COALESCE(talk_seconds, 0)) AS hold,
       COALESCE(wrap_up_seconds, 0) AS wrap
FROM {record}
WHERE arrived_at >= %(since)s AND arrived_at < %(end)s AND answered_at IS NOT NULL AND outcome <> 'in_progress'
"""

# The period's finished calls from ``since`` on that spent time in the automated menu.
MENU_SQL = """
SELECT * FROM (SELECT id, call_sid, arrived_at,
                      -- Whole seconds, halves up: as ROUND(EXTRACT(EPOCH …)), without numeric arithmetic.
                      floor(date_part('epoch', COALESCE(queued_at, ended_at) - arrived_at) + 0.5)::bigint AS seconds
               FROM {record}
               WHERE arrived_at >= %(since)s AND arrived_at < %(end)s AND outcome <> 'in_progress') AS menu
WHERE seconds > 0
"""

# The first arrival whose items would change: a call new, gone, moved or re-timed since the
# draft's last build (its record against what its items counted). Every call before it keeps
# its items, and the running counts (short calls, seconds laid end to end) up to it.
FIRST_CHANGE_SQL = """
SELECT MIN(LEAST(c.arrived_at, a.occurred_at))
FROM ({calls}) AS c
FULL JOIN (SELECT call_id, occurred_at, reference, talk_seconds, hold_seconds, wrap_up_seconds
           FROM {item} WHERE statement_id = %(statement)s AND kind = 'agent') AS a ON a.call_id = c.id
WHERE (c.arrived_at, c.call_sid, c.talk, c.hold, c.wrap)
      IS DISTINCT FROM (a.occurred_at, a.reference, a.talk_seconds, a.hold_seconds, a.wrap_up_seconds)
"""
FIRST_MENU_CHANGE_SQL = """
SELECT MIN(LEAST(m.arrived_at, i.occurred_at))
FROM ({menu}) AS m
FULL JOIN (SELECT call_id, occurred_at, reference, measured_seconds
           FROM {item} WHERE statement_id = %(statement)s AND kind = 'ivr') AS i ON i.call_id = m.id
WHERE (m.arrived_at, m.call_sid, m.seconds) IS DISTINCT FROM (i.occurred_at, i.reference, i.measured_seconds)
"""

# What the draft's agent items before (or from) ``since`` add up to: where the rules resume.
RUNNING_SQL = """
SELECT COALESCE(SUM(billed_seconds), 0), COUNT(*) FILTER (WHERE measured_seconds > 0 AND measured_seconds < %(short)s)
FROM {item} WHERE statement_id = %(statement)s AND kind = 'agent' AND occurred_at {side} %(since)s
"""

# Steps 2–5: agent time, one item per answered call from ``since`` on (the module's docstring
# says the rules), resuming the short-call count and the seconds laid end to end at the seeds.
AGENT_SQL = """
INSERT INTO {item} ({columns})
WITH counted AS (
    SELECT *, CASE WHEN %(count_talk)s THEN talk ELSE 0 END + CASE WHEN %(count_hold)s THEN hold ELSE 0 END
              + CASE WHEN %(count_wrap_up)s THEN wrap ELSE 0 END AS measured
    FROM ({calls}) AS calls
), numbered AS (
    SELECT *, (measured > 0 AND measured < %(short)s) AS short,
              %(seed_short)s + row_number() OVER (PARTITION BY (measured > 0 AND measured < %(short)s)
                                                  ORDER BY arrived_at, id) AS n
    FROM counted
), billed AS (
    SELECT *, (short AND n <= %(free)s) AS free,
           CASE WHEN measured = 0 OR (short AND n <= %(free)s) THEN 0
                ELSE GREATEST(CEIL(measured / %(increment)s::numeric)::bigint * %(increment)s, %(minimum)s)
                     + %(per_call)s END AS billed
    FROM numbered
), laid AS (
    SELECT *, %(seed_seconds)s + SUM(billed) OVER (ORDER BY arrived_at, id ROWS UNBOUNDED PRECEDING) AS upto
    FROM billed
)
SELECT %(statement)s, 'agent', laid.id, NULL, laid.call_sid, laid.arrived_at,
       CASE WHEN free THEN format('Free short call %%s of %%s: %%s s counted', n, %(free)s, measured)
            ELSE format('Talk %%s s, hold %%s s, wrap-up %%s s: %%s s counted, %%s s billed', talk, hold, wrap,
                        measured, billed) END,
       measured, billed, COALESCE(priced.included, 0), COALESCE(ROUND(priced.money, 2), 0), talk, hold, wrap
FROM laid CROSS JOIN LATERAL (
    -- The call's seconds [upto - billed, upto) against each price band.
    SELECT SUM(GREATEST(0, LEAST(upto, band.hi) - GREATEST(upto - billed, band.lo)) * band.rate) / 60 AS money,
           SUM(CASE WHEN band.free THEN GREATEST(0, LEAST(upto, band.hi) - GREATEST(upto - billed, band.lo))
                    ELSE 0 END) AS included
    FROM unnest(%(lo)s::bigint[], %(hi)s::bigint[], %(rate)s::numeric[], %(band_free)s::bool[])
         AS band(lo, hi, rate, free)) AS priced
"""

# Step 6: automated menu time, from ``since`` on.
IVR_SQL = """
INSERT INTO {item} ({columns})
SELECT %(statement)s, 'ivr', id, NULL, call_sid, arrived_at,
       format('Automated menu: %%s s, %%s s billed', seconds, billed), seconds, billed, 0,
       ROUND(billed * %(ivr_rate)s::numeric / 60, 2), NULL::int, NULL::int, NULL::int
FROM (SELECT *, CEIL(seconds / %(increment)s::numeric)::bigint * %(increment)s AS billed FROM ({menu}) AS m) AS rounded
"""

# Step 7: messages and dispatches, in their call's period.
MESSAGE_SQL = """
SELECT %(statement)s, CASE WHEN m.end_action = 'dispatch' THEN 'dispatch' ELSE 'message' END, c.id, m.id,
       COALESCE(c.call_sid, m.call_sid), COALESCE(c.arrived_at, m.created),
       format('%%s %%s (%%s)', CASE WHEN m.end_action = 'dispatch' THEN 'Dispatch' ELSE 'Message' END, m.id,
              CASE WHEN m.source = 'voicemail' THEN 'voicemail' ELSE COALESCE(NULLIF(m.category, ''), 'call') END),
       NULL::int, NULL::int, NULL::int,
       ROUND(CASE WHEN m.end_action = 'dispatch' THEN %(dispatch_fee)s::numeric ELSE %(message_fee)s::numeric END, 2),
       NULL::int, NULL::int, NULL::int
FROM {message} m LEFT JOIN {record} c ON c.id = m.call_id
WHERE COALESCE(c.arrived_at, m.created) >= %(start)s AND COALESCE(c.arrived_at, m.created) < %(end)s
  AND CASE WHEN m.end_action = 'dispatch' THEN %(dispatch_fee)s::numeric ELSE %(message_fee)s::numeric END > 0
"""

# Step 7: texts, in the period they were sent.
TEXT_SQL = """
SELECT %(statement)s, 'text', c.id, d.id, d.provider_sid, d.sent_at,
       format('Text to %%s, delivering message %%s', d.address, d.message_id), NULL::int, NULL::int, NULL::int,
       ROUND(%(text_fee)s::numeric, 2), NULL::int, NULL::int, NULL::int
FROM {delivery} d JOIN {message} m ON m.id = d.message_id LEFT JOIN {record} c ON c.id = m.call_id
WHERE d.channel = 'sms' AND d.sent_at >= %(start)s AND d.sent_at < %(end)s
UNION ALL
SELECT %(statement)s, 'text', NULL::bigint, n.id, n.provider_sid, n.sent_at,
       format('Appointment %%s text to %%s (appointment %%s)', n.kind, n.address, n.appointment_id), NULL::int, NULL::int, NULL::int,
       ROUND(%(text_fee)s::numeric, 2), NULL::int, NULL::int, NULL::int
FROM {notice} n
WHERE n.channel = 'sms' AND n.sent_at >= %(start)s AND n.sent_at < %(end)s
UNION ALL
SELECT %(statement)s, 'text', NULL::bigint, a.id, a.twilio_sid, a.started_at,
       format('Campaign text to %%s (attempt %%s)', a.number, a.id), NULL::int, NULL::int, NULL::int,
       ROUND(%(text_fee)s::numeric, 2), NULL::int, NULL::int, NULL::int
FROM {attempt} a
WHERE a.outcome = 'sms_sent' AND a.started_at >= %(start)s AND a.started_at < %(end)s
"""

# Step 7: outbound call attempts that were placed (not those the dialer never handed to Twilio).
ATTEMPT_SQL = """
SELECT %(statement)s, 'attempt', NULL::bigint, a.id, a.twilio_sid, a.started_at,
       format('Outbound call to %%s (attempt %%s): %%s', a.number, a.id, a.outcome), NULL::int, NULL::int, NULL::int,
       ROUND(%(attempt_fee)s::numeric, 2), NULL::int, NULL::int, NULL::int
FROM {attempt} a
WHERE a.channel <> 'sms' AND a.outcome NOT IN ('pending', 'not_placed', 'skipped', 'sms_sent', 'sms_failed')
  AND a.started_at >= %(start)s AND a.started_at < %(end)s
"""

# Step 7: the plan's base fee, one item a period.
BASE_FEE_SQL = """
SELECT %(statement)s, 'fee', NULL::bigint, NULL::bigint, %(plan_name)s, %(start)s::timestamptz, %(fee_description)s,
       NULL::int, NULL::int, NULL::int, %(base_fee)s::numeric, NULL::int, NULL::int, NULL::int
"""

# The fee items as the records say now, written over the draft's: an unchanged item stays, a
# changed or gone one is deleted and the new one inserted (both halves see the draft as it was).
FEES_REPLACE_SQL = """
WITH desired ({columns}) AS ({selects}),
gone AS (
    DELETE FROM {item} i WHERE i.statement_id = %(statement)s AND i.kind IN {kinds}
    AND NOT EXISTS (SELECT 1 FROM desired d WHERE {same})
)
INSERT INTO {item} ({columns})
SELECT * FROM desired d WHERE NOT EXISTS (SELECT 1 FROM {item} i WHERE i.statement_id = %(statement)s AND {same})
"""


def _call_items_write(cursor, statement: Statement, rules: dict, tables: dict, *, full: bool) -> datetime | None:
    """Steps 2–6: rewrite the agent and menu items from the first call that changed (all of them
    when ``full``); every item before it is already what a full build would write. Returns
    where the rewrite started (``None``: nothing had changed)."""
    span = {"statement": statement.pk, "start": statement.starts_at, "end": statement.ends_at}
    ivr_rate = Decimal(rules["ivr_minute_rate"])
    calls, menu = CALLS_SQL.format(**tables), MENU_SQL.format(**tables)
    if full:
        since = statement.starts_at
    else:
        cursor.execute(FIRST_CHANGE_SQL.format(calls=calls, **tables), {**span, "since": statement.starts_at})
        changes = [cursor.fetchone()[0]]
        if ivr_rate > 0:
            cursor.execute(FIRST_MENU_CHANGE_SQL.format(menu=menu, **tables), {**span, "since": statement.starts_at})
            changes.append(cursor.fetchone()[0])
        changes = [at for at in changes if at is not None]
        if not changes:
            return None
        since = min(changes)
    seed_seconds, seed_short = _running(cursor, statement, since, rules["short_call_seconds"], tables, full=full)
    cursor.execute(f"DELETE FROM {tables['item']} WHERE statement_id = %s AND kind IN {CALL_KINDS} "
                   "AND occurred_at >= %s", [statement.pk, since])
    increment = int(rules["increment_seconds"])
    lo, hi, rate, band_free = _bands(rules)
    cursor.execute(AGENT_SQL.format(calls=calls, **tables), {
        **span, "since": since, "seed_seconds": seed_seconds, "seed_short": seed_short,
        "count_talk": rules["count_talk"], "count_hold": rules["count_hold"], "count_wrap_up": rules["count_wrap_up"],
        "short": rules["short_call_seconds"], "free": rules["free_short_calls"], "increment": increment,
        "minimum": rules["minimum_seconds"], "per_call": rules["per_call_seconds"],
        "lo": lo, "hi": hi, "rate": rate, "band_free": band_free})
    written = cursor.rowcount
    if ivr_rate > 0:
        cursor.execute(IVR_SQL.format(menu=menu, **tables), {**span, "since": since, "increment": increment,
                                                              "ivr_rate": ivr_rate})
        written += cursor.rowcount
    if written > ANALYZE_AFTER_ROWS:
        # A month written at once: without fresh statistics the next build's joins over the
        # items are planned as if the table were empty (seconds instead of a tenth of one).
        cursor.execute(f"ANALYZE {tables['item']}")
    return since


def _running(cursor, statement: Statement, since: datetime, short: int, tables: dict, *, full: bool) -> tuple[int, int]:
    """The agent items' billed seconds and short calls before ``since``: the last build's
    totals (its summary, read from its items) less the items from ``since`` on, which are few
    when the change is recent; counted from the items when the summary predates the totals."""
    if full:
        return 0, 0
    agent = statement.summary.get("agent", {"billed_seconds": 0, "short_calls": 0})
    params = {"statement": statement.pk, "since": since, "short": short}
    if "short_calls" not in agent:
        cursor.execute(RUNNING_SQL.format(side="<", **tables), params)
        return cursor.fetchone()
    cursor.execute(RUNNING_SQL.format(side=">=", **tables), params)
    after_seconds, after_short = cursor.fetchone()
    return (agent["billed_seconds"] or 0) - after_seconds, agent["short_calls"] - after_short


def _fee_items_write(cursor, statement: Statement, rules: dict, tables: dict) -> None:
    """Step 7: messages, dispatches, texts, attempts and the base fee, item by item."""
    fees = {name: Decimal(rules[name]) for name in ("message_fee", "dispatch_fee", "text_fee", "attempt_fee")}
    base = Decimal(rules["base_fee"]).quantize(CENT, ROUND_HALF_UP)
    selects = ([MESSAGE_SQL] if fees["message_fee"] > 0 or fees["dispatch_fee"] > 0 else []) \
        + ([TEXT_SQL] if fees["text_fee"] > 0 else []) + ([ATTEMPT_SQL] if fees["attempt_fee"] > 0 else []) \
        + ([BASE_FEE_SQL] if base > 0 else [])
    params = {"statement": statement.pk, "start": statement.starts_at, "end": statement.ends_at, **fees,
              "base_fee": base, "plan_name": rules["name"][:64], "fee_description": f"Base fee, plan {rules['name']}"}
    if not selects:
        cursor.execute(f"DELETE FROM {tables['item']} WHERE statement_id = %s AND kind IN {FEE_KINDS}", [statement.pk])
        return
    union = " UNION ALL ".join(f"({select.format(**tables)})" for select in selects)
    cursor.execute(FEES_REPLACE_SQL.format(selects=union, kinds=FEE_KINDS, same=SAME_ITEM, **tables), params)


def statement_build(*, client: Client, period: str | Period, plan: BillingPlan | None = None,
                    full: bool = False) -> Statement:
    """The client's statement for ``period`` (``YYYY-MM``, in the client's zone), built from its
    records under its plan (or ``plan``). Run inside the client's schema.

    Idempotent: the draft ends up exactly as a build from nothing would write it, so the same
    records give the same statement. Only what changed is rewritten: the agent and menu items
    from the first call that is new, gone or re-timed since the last build (the rules run in
    arrival order), the fee items that differ; the whole draft when the plan or the period's
    bounds changed, or with ``full``. An issued statement is never rebuilt (``StatementClosed``).
    The total is the sum of the items' amounts, read back from the items.
    """
    period = Period.parse(period)
    plan = plan or plan_for(client)
    if plan is None:
        raise NoPlan(f"{client.name} has no billing plan: assign one in the platform admin (Billing plans).")
    rules = plan.rules()
    start, end = period.bounds(client.time_zone)
    now = timezone.now()
    with transaction.atomic():
        statement, _ = Statement.objects.get_or_create(period=str(period), defaults={
            "starts_at": start, "ends_at": end, "time_zone": client.time_zone, "built_at": now})
        # Locked: two builds of one period (a run and the portal) queue instead of mixing items.
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.status == Statement.Status.ISSUED:
            raise StatementClosed(f"The statement for {period} was issued on "
                                  f"{statement.issued_at:%Y-%m-%d}; it is not rebuilt.")
        # The items already written hold only if they were written under these rules and bounds.
        full = full or statement.plan != rules or (statement.starts_at, statement.ends_at, statement.time_zone) != (
            start, end, client.time_zone)
        statement.starts_at, statement.ends_at, statement.time_zone = start, end, client.time_zone
        statement.plan, statement.currency, statement.built_at = rules, rules["currency"], now
        tables = {**_tables(), "columns": ITEM_COLUMNS}
        with connection.cursor() as cursor:
            if full:
                # One statement, not the ORM's collect-then-delete of every item (200,000 rows a big month).
                cursor.execute(f"DELETE FROM {tables['item']} WHERE statement_id = %s", [statement.pk])
            _call_items_write(cursor, statement, rules, tables, full=full)
            _fee_items_write(cursor, statement, rules, tables)
        short = Q(measured_seconds__gt=0, measured_seconds__lt=rules["short_call_seconds"])
        by_kind = statement.items.values("kind").annotate(items=Count("id"), amount=Sum("amount"),
                                                           billed_seconds=Sum("billed_seconds"),
                                                           short_calls=Count("id", filter=short))
        statement.summary = {row["kind"]: {"items": row["items"], "amount": str(row["amount"]),
                                           "billed_seconds": row["billed_seconds"],
                                           # Where the next build resumes the short-call count.
                                           **({"short_calls": row["short_calls"]} if row["kind"] == "agent" else {})}
                             for row in by_kind}
        statement.total = sum((Decimal(row["amount"]) for row in statement.summary.values()), Decimal("0.00"))
        statement.item_count = sum(row["items"] for row in statement.summary.values())
        statement.save()
    return statement


def statement_issue(*, statement: Statement) -> Statement:
    """Close the statement: it is what the client is invoiced, and no rebuild changes it."""
    with transaction.atomic():
        locked = Statement.objects.select_for_update().get(pk=statement.pk)
        if locked.status != Statement.Status.ISSUED:
            locked.status, locked.issued_at = Statement.Status.ISSUED, timezone.now()
            locked.save(update_fields=["status", "issued_at"])
    return locked


# --- The run over clients -----------------------------------------------------------------

def billing_clients(clients: Iterable[Client] | None = None) -> list[Client]:
    """The clients a run bills: active, with a plan (of ``clients`` when given)."""
    found = (Client.objects.exclude(schema_name=PUBLIC_SCHEMA).filter(status=Client.Status.ACTIVE,
                                                                      billing_plan__isnull=False)
             .select_related("billing_plan__plan").order_by("name"))
    if clients is not None:
        found = found.filter(pk__in=[c.pk for c in clients])
    return list(found)


def billing_run(period: str | Period, clients: Iterable[Client] | None = None,
                progress: Callable[[int, int, dict], None] | None = None) -> list[dict]:
    """Build every billed client's statement for ``period``, each in its own schema and
    transaction: one client's failure (or issued statement) is reported and the run goes on.
    ``progress(done, total, result)`` is called after each client. Returns one result per client."""
    period = Period.parse(period)
    targets = billing_clients(clients)
    results = []
    for done, client in enumerate(targets, start=1):
        result = {"client": client.schema_name, "name": client.name, "statement": None, "status": "built",
                  "total": None, "items": 0, "error": ""}
        try:
            with tenant_context(client):
                statement = statement_build(client=client, period=period, plan=client.billing_plan.plan)
            result.update(statement=statement.pk, total=str(statement.total), items=statement.item_count)
        except StatementClosed as exc:
            result.update(status="issued", error=str(exc))
        except Exception as exc:  # one client's bad data must not stop the others' bills
            result.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:300])
        results.append(result)
        if progress:
            progress(done, len(targets), result)
    return results


def billing_run_start(*, period: str, clients: Iterable[Client] = (), by: str = "") -> BillingRun:
    """A platform admin's run, queued for a worker; its page follows ``BillingRun`` live."""
    period = Period.parse(period)
    with transaction.atomic():
        run = BillingRun.objects.create(period=str(period), started_by=by)
        run.clients.set(list(clients))
        from billing import tasks

        transaction.on_commit(lambda: tasks.billing_run_task.delay(run.pk))
    return run


def billing_run_execute(*, run_id: int) -> BillingRun | None:
    """Carry out a queued run, saving its progress after every client. Claimed atomically
    (queued → running), so a redelivered task does not run it twice."""
    if not BillingRun.objects.filter(pk=run_id, status=BillingRun.Status.QUEUED).update(
            status=BillingRun.Status.RUNNING, started_at=timezone.now()):
        return None
    run = BillingRun.objects.get(pk=run_id)
    chosen = list(run.clients.all()) or None
    results: list[dict] = []
    run.total = len(billing_clients(chosen))
    run.save(update_fields=["total"])

    def progress(done: int, total: int, result: dict) -> None:
        results.append(result)
        BillingRun.objects.filter(pk=run_id).update(done=done, total=total, results=results)

    try:
        billing_run(run.period, chosen, progress=progress)
    except Exception:
        BillingRun.objects.filter(pk=run_id).update(status=BillingRun.Status.FAILED, finished_at=timezone.now())
        raise
    BillingRun.objects.filter(pk=run_id).update(status=BillingRun.Status.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run
