"""The compliance gate: may we contact this number, for this client, purpose and channel, now?

One decision, two forms that cannot disagree:

- ``contact_decide`` — one number, immediately before a dial or a send; writes the
  decision to the client's audit ledger.
- ``contacts_scrub`` — a whole list in one pass: the numbers go to a temporary table with
  COPY and one set-based query gathers the same facts for all of them.

Both gather a number's facts with the same SQL (only the input relation differs) and
judge them with the same pure function, ``_judge``. Every check runs and every failing
check is a reason; the gate fails closed: an error, a stale registry, an unknown
location all deny, with that reason.

Runs inside the client's schema (its DNC list, consents, ledger, attempts); the public
tables — registry, platform DNC, rules — are on the search path.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from campaigns.models import CallAttempt
from compliance import location
from compliance.location import ContactAddress
from compliance.models import ComplianceSettings, Consent, DncEntry, LedgerEntry
from compliance.platform.models import (
    AreaCode,
    CallingRule,
    Holiday,
    PlatformDncEntry,
    RegistryLoad,
    RegistryNumber,
    UsState,
)
from compliance.rules import (
    ABANDONMENT_CAP,
    ABANDONMENT_DAYS,
    ROBO_CHANNELS,
    TEXT_OPT_OUT_SOURCES,
    AbandonmentRate,
    Channel,
    Purpose,
)
from compliance.selectors import campaign_abandonment_rate
from switchboard import db
from tenants.models import Client

logger = logging.getLogger(__name__)

REGISTRY_MAX_AGE_DAYS = 31  # TSR 16 CFR 310.4(b)(3)(iv)
EBR_TRANSACTION_MONTHS = 18  # 47 CFR 64.1200(f)(5)
EBR_INQUIRY_MONTHS = 3
GATE_VERSION = "1"


@dataclass(frozen=True)
class Reason:
    """One finding: a code for machines, a sentence for people, and whether it denies."""

    code: str
    text: str
    deny: bool = True

    def as_dict(self) -> dict:
        return {"code": self.code, "text": self.text, "deny": self.deny}


@dataclass
class Decision:
    allowed: bool
    number: str
    purpose: str
    channel: str
    at: dt.datetime
    reasons: list[Reason]
    rule_versions: dict = field(default_factory=dict)
    ledger_id: int | None = None

    @property
    def denials(self) -> list[Reason]:
        return [r for r in self.reasons if r.deny]

    @property
    def codes(self) -> set[str]:
        return {r.code for r in self.denials}

    def __str__(self) -> str:
        lines = [f"{'ALLOW' if self.allowed else 'DENY'} {self.number} ({self.purpose}, {self.channel}) at {self.at:%Y-%m-%d %H:%M:%S %Z}"]
        lines += [f"  {'✗' if r.deny else '✓'} {r.code}: {r.text}" for r in self.reasons]
        return "\n".join(lines)


@dataclass
class _Context:
    """What is the same for every number of one question: the rules, the data's state."""

    client: Client
    purpose: str
    channel: str
    at: dt.datetime
    subject: str
    campaign_id: int | None
    campaign_caps: tuple[int | None, int | None]
    settings: ComplianceSettings
    rules: list[CallingRule]
    holidays: set[tuple[str, dt.date]]
    registry_problem: Reason | None
    abandonment: AbandonmentRate | None
    versions: dict
    cap_columns: list[tuple[int, bool]]  # (period hours, same subject only) counted per number
    dial_mode: str | None = None  # a campaign's dial: "predictive", "progressive", "preview"
    _local: dict = field(default_factory=dict)
    _location_cache: dict = field(default_factory=dict)

    def local(self, zone: str) -> dt.datetime:
        if zone not in self._local:
            self._local[zone] = self.at.astimezone(zoneinfo.ZoneInfo(zone))
        return self._local[zone]


class Facts(NamedTuple):
    """What the database knows about one number, for one client, at one instant."""

    key: int
    number: str
    address_state: str | None
    client_dnc_source: str | None
    platform_dnc: bool
    on_registry: bool
    express: bool
    express_written: bool
    ebr: bool
    area_code_state: str | None
    address_zones: list[str] | None
    last_conversation: dt.datetime | None
    attempts_24h: int
    campaign_24h: int
    campaign_7d: int
    caps: tuple  # counts in the order of _Context.cap_columns


# --- The question's context ------------------------------------------------------------

_SETTINGS_FIELDS = ("id", "window_start", "window_end", "max_attempts_per_24h", "recording_policy", "retention_years",
                    "updated")
_RULE_FIELDS = ("id", "jurisdiction", "name", "purposes", "window_start", "window_end", "no_sundays", "no_holidays",
                "max_attempts", "period_hours", "per_subject", "quiet_hours_after_conversation", "source",
                "effective_from")
# The tables the gate's SQL reads, named by their models (unqualified: the client's schema
# and the public one are both on the search path).
_SETTINGS_TABLE = ComplianceSettings._meta.db_table
_RULE_TABLE = CallingRule._meta.db_table
_HOLIDAY_TABLE = Holiday._meta.db_table
_REGISTRY_LOAD_TABLE = RegistryLoad._meta.db_table
_STATE_TABLE = UsState._meta.db_table
_AREA_CODE_TABLE = AreaCode._meta.db_table
# Everything a question needs from the rule tables and the client's settings, in one round
# trip (several statements, one result set each): the gate sits before every dial.
_CONTEXT_SQL = f"""
SELECT {", ".join(_SETTINGS_FIELDS)} FROM {_SETTINGS_TABLE} LIMIT 1;
SELECT {", ".join(_RULE_FIELDS)} FROM {_RULE_TABLE}
 WHERE effective_from <= %(day)s AND %(purpose)s = ANY(purposes) ORDER BY jurisdiction, name, effective_from DESC;
SELECT jurisdiction, date FROM {_HOLIDAY_TABLE} WHERE date BETWEEN %(day_before)s AND %(day_after)s;
SELECT id, kind, file_date, EXISTS (SELECT 1 FROM {_REGISTRY_LOAD_TABLE} WHERE kind = 'full')
  FROM {_REGISTRY_LOAD_TABLE} ORDER BY file_date DESC, loaded_at DESC LIMIT 1;
SELECT (SELECT count(*) || '@' || coalesce(max(updated)::text, '-') FROM {_RULE_TABLE}),
       (SELECT count(*) || '@' || coalesce(max(updated)::text, '-') FROM {_HOLIDAY_TABLE}),
       (SELECT count(*) || '@' || coalesce(max(updated)::text, '-') FROM {_STATE_TABLE}),
       (SELECT count(*) || '@' || coalesce(max(updated)::text, '-') FROM {_AREA_CODE_TABLE})
"""


def _context(*, client: Client, purpose: str, channel: str, at: dt.datetime, campaign, subject: str | None,
             dial_mode: str | None = None) -> _Context:
    if purpose not in Purpose.values:
        raise ValueError(f"unknown purpose “{purpose}”; use one of {', '.join(Purpose.values)}")
    if channel not in Channel.values:
        raise ValueError(f"unknown channel “{channel}”; use one of {', '.join(Channel.values)}")
    day = at.date()
    with connection.cursor() as cursor:
        cursor.execute(_CONTEXT_SQL, {"day": day, "purpose": purpose, "day_before": day - dt.timedelta(days=1),
                                      "day_after": day + dt.timedelta(days=1)})
        results = []
        while True:
            results.append(cursor.fetchall())
            if not cursor.nextset():
                break
    settings_rows, rule_rows, holiday_rows, registry_rows, version_rows = results
    settings = ComplianceSettings(**dict(zip(_SETTINGS_FIELDS, settings_rows[0]))) if settings_rows else ComplianceSettings()
    newest: dict[tuple[str, str], CallingRule] = {}
    for row in rule_rows:  # newest version in force per jurisdiction and name
        rule = CallingRule(**dict(zip(_RULE_FIELDS, row)))
        newest.setdefault((rule.jurisdiction, rule.name), rule)
    rules = list(newest.values())
    registry_problem, registry_version = (_registry_state(at, registry_rows[0] if registry_rows else None)
                                          if purpose == Purpose.TELEMARKETING else (None, None))
    abandonment = campaign_abandonment_rate(campaign=campaign, at=at) if campaign is not None else None
    cap_columns = sorted({(r.period_hours, r.per_subject) for r in rules if r.max_attempts})
    return _Context(
        client=client, purpose=purpose, channel=channel, at=at,
        subject=subject or (campaign.subject_key if campaign is not None else purpose),
        campaign_id=campaign.pk if campaign is not None else None,
        campaign_caps=(campaign.max_attempts_per_24h, campaign.max_attempts_per_7d) if campaign is not None else (None, None),
        settings=settings, rules=rules, holidays=set(holiday_rows), registry_problem=registry_problem,
        abandonment=abandonment, versions=_versions(version_rows[0], registry_version, settings),
        cap_columns=cap_columns, dial_mode=dial_mode,
    )


def _registry_state(at: dt.datetime, latest) -> tuple[Reason | None, str | None]:
    if latest is None or not latest[3]:
        return Reason("registry_missing", "The National DNC Registry has never been loaded in full: telemarketing "
                                          "cannot be checked against it."), None
    load_id, kind, file_date, _ = latest
    version = f"load {load_id}: {kind} file of {file_date}"
    age = (at.date() - file_date).days
    if age > REGISTRY_MAX_AGE_DAYS:
        return Reason("registry_stale", f"The National DNC Registry data is {age} days old (file of {file_date}); "
                                        f"telemarketing needs data at most {REGISTRY_MAX_AGE_DAYS} days old."), version
    return None, version


def _versions(row, registry_version: str | None, settings: ComplianceSettings) -> dict:
    rules, holidays, states, area_codes = row
    versions = {"gate": GATE_VERSION, "calling_rules": rules, "holidays": holidays, "states": states,
                "area_codes": area_codes, "client_settings": settings.updated.isoformat() if settings.pk else "defaults"}
    if registry_version:
        versions["registry"] = registry_version
    return versions


# --- Facts: one SQL text for one number or a million ---------------------------------------

# An f-string for the table names; {{input}}, {{cap_select}} and {{cap_counts}} are filled
# per question by _facts_sql.
_FACTS_SQL = f"""
WITH input AS ({{input}})
SELECT i.key, i.number, i.address_state,
       d.source,
       p.id IS NOT NULL,
       r.number IS NOT NULL,
       coalesce(c.express, false), coalesce(c.express_written, false), coalesce(c.ebr, false),
       a.state_id,
       s.time_zones,
       t.last_conversation,
       coalesce(t.n24, 0), coalesce(t.campaign_24h, 0), coalesce(t.campaign_7d, 0)
       {{cap_select}}
FROM input i
LEFT JOIN {DncEntry._meta.db_table} d ON d.number = i.number AND d.removed_at IS NULL
LEFT JOIN {PlatformDncEntry._meta.db_table} p ON p.number = i.number
LEFT JOIN {RegistryNumber._meta.db_table} r ON r.number = i.national
LEFT JOIN {_AREA_CODE_TABLE} a ON a.code = i.npa
LEFT JOIN {_STATE_TABLE} s ON s.code = i.address_state
LEFT JOIN (
    SELECT number,
           bool_or(kind = 'express') AS express,
           bool_or(kind = 'express_written') AS express_written,
           bool_or(kind = 'ebr_transaction' AND obtained_at + make_interval(months => %(ebr_transaction)s::int) > %(at)s
                   OR kind = 'ebr_inquiry' AND obtained_at + make_interval(months => %(ebr_inquiry)s::int) > %(at)s) AS ebr
    FROM {Consent._meta.db_table}
    WHERE number IN (SELECT number FROM input)
      AND revoked_at IS NULL AND obtained_at <= %(at)s AND (expires_at IS NULL OR expires_at > %(at)s)
    GROUP BY number
) c ON c.number = i.number
LEFT JOIN (
    SELECT number,
           max(started_at) FILTER (WHERE subject = %(subject)s::text AND outcome = 'live_answered') AS last_conversation,
           count(*) FILTER (WHERE started_at > %(at)s - interval '24 hours') AS n24,
           count(*) FILTER (WHERE campaign_id = %(campaign)s::bigint AND started_at > %(at)s - interval '24 hours') AS campaign_24h,
           count(*) FILTER (WHERE campaign_id = %(campaign)s::bigint) AS campaign_7d
           {{cap_counts}}
    FROM {CallAttempt._meta.db_table}
    WHERE number IN (SELECT number FROM input)
      AND started_at > %(at)s - make_interval(hours => %(lookback)s::int) AND started_at <= %(at)s
      AND outcome NOT IN ('skipped', 'not_placed')  -- never rang: a preview skip, a dial a crash stopped
    GROUP BY number
) t ON t.number = i.number
"""

_SINGLE_INPUT = "SELECT 0 AS key, %(number)s::text AS number, %(national)s::bigint AS national, " \
                "%(npa)s::int AS npa, %(address_state)s::text AS address_state"
_SCRUB_TABLE = "compliance_scrub_input"
_SCRUB_INPUT = f"SELECT key, number, national, npa, address_state FROM {_SCRUB_TABLE}"


def _facts_sql(ctx: _Context, input_sql: str) -> tuple[str, dict]:
    cap_counts = "".join(
        f", count(*) FILTER (WHERE started_at > %(at)s - interval '{hours} hours'"
        f"{' AND subject = %(subject)s::text' if same_subject else ''}) AS cap{n}"
        for n, (hours, same_subject) in enumerate(ctx.cap_columns)
    )
    cap_select = "".join(f", coalesce(t.cap{n}, 0)" for n in range(len(ctx.cap_columns)))
    lookback = max([24 * 7] + [h for h, _ in ctx.cap_columns]
                   + [r.quiet_hours_after_conversation or 0 for r in ctx.rules])
    sql = _FACTS_SQL.format(input=input_sql, cap_select=cap_select, cap_counts=cap_counts)
    params = {"at": ctx.at, "subject": ctx.subject, "campaign": ctx.campaign_id, "lookback": lookback,
              "ebr_transaction": EBR_TRANSACTION_MONTHS, "ebr_inquiry": EBR_INQUIRY_MONTHS}
    return sql, params


def _facts_from_row(row: tuple) -> Facts:
    return Facts(*row[:15], caps=tuple(row[15:]))


# --- Judging: pure Python over the facts -------------------------------------------------

def _fmt(t: dt.time) -> str:
    return t.strftime("%H:%M")


def _judge(ctx: _Context, f: Facts) -> list[Reason]:
    """Every reason for this number. The one place the rules are applied."""
    reasons: list[Reason] = []
    staff = ctx.purpose == Purpose.STAFF

    # Do-not-call lists. The client's own list overrides any consent or relationship.
    if f.client_dnc_source:
        if not staff:
            reasons.append(Reason("client_dnc", f"On {ctx.client.name}'s do-not-call list ({f.client_dnc_source})."))
        elif ctx.channel == Channel.SMS and f.client_dnc_source in TEXT_OPT_OUT_SOURCES:
            reasons.append(Reason("staff_sms_opt_out", "This staff member opted out of texts."))
    if f.platform_dnc and not staff:
        reasons.append(Reason("platform_dnc", "On the platform's do-not-call list."))
    if ctx.purpose == Purpose.TELEMARKETING:
        if ctx.registry_problem is not None:
            reasons.append(ctx.registry_problem)
        if f.on_registry:
            if f.express_written:
                reasons.append(Reason("registry_exempt_consent", "On the National DNC Registry; prior express written "
                                                                 "consent on file exempts it.", deny=False))
            elif f.ebr:
                reasons.append(Reason("registry_exempt_ebr", "On the National DNC Registry; an established business "
                                                             "relationship exempts it.", deny=False))
            else:
                reasons.append(Reason("national_dnc", "On the National Do Not Call Registry, with no established "
                                                      "business relationship or written consent."))

    # Consent for robocalls and texts (texts are calls under the TCPA).
    if not staff and ctx.channel in ROBO_CHANNELS:
        if ctx.purpose == Purpose.TELEMARKETING and not f.express_written:
            reasons.append(Reason("consent_missing", "Telemarketing by autodialer, prerecorded voice or text needs "
                                                     "prior express written consent; none is on file."))
        elif ctx.purpose != Purpose.TELEMARKETING and not (f.express or f.express_written):
            reasons.append(Reason("consent_missing", "Autodialed, prerecorded or text contact needs prior express "
                                                     "consent; none is on file."))

    if not staff:
        reasons += _judge_location(ctx, f)
        reasons += _judge_frequency(ctx, f)
    # At the cap, predictive dialing stops (COMPLIANCE.md): a progressive dial (one line per
    # ready agent) may go on, as the dialer's fallback; a dial of unknown mode counts as predictive.
    predictive = ctx.channel == Channel.AUTODIALED and ctx.dial_mode in (None, "predictive")
    if (ctx.abandonment is not None and (predictive or ctx.channel == Channel.PRERECORDED)
            and ctx.abandonment.status == "stop"):
        reasons.append(Reason("abandonment_cap", f"The campaign abandoned {ctx.abandonment.rate:.1%} of live-answered "
                                                 f"calls in {ABANDONMENT_DAYS} days (cap {ABANDONMENT_CAP:.0%}): "
                                                 "no predictive dialing until it falls."))
    if staff and not reasons:
        reasons.append(Reason("staff_exempt", "The client's own staff: exempt from DNC lists and calling hours.", deny=False))
    elif not reasons:
        reasons.append(Reason("clear", "No do-not-call entry, consent in order, inside every candidate location's "
                                       "hours, under every cap.", deny=False))
    return reasons


def _judge_location(ctx: _Context, f: Facts) -> list[Reason]:
    key = (location.number_time_zones(f.number) if not location.is_non_geographic(f.number) else None,
           f.area_code_state, f.address_state, tuple(f.address_zones or ()))
    cached = ctx._location_cache.get(key)
    if cached is None:
        cached = ctx._location_cache[key] = _judge_location_uncached(ctx, f, key[0])
    return cached


def _judge_location_uncached(ctx: _Context, f: Facts, number_zones) -> list[Reason]:
    if number_zones is None:
        return [Reason("location_unknown", "A toll-free or non-geographic number: where the person is can't be known.")]
    reasons = []
    if not f.area_code_state:
        reasons.append(Reason("location_outside_us", "Not a US area code: no rules are known for where it rings."))
    if f.address_state and not f.address_zones:
        reasons.append(Reason("address_unknown", f"The contact's address state “{f.address_state}” is not a US state."))
    zones = sorted(set(number_zones) | set(f.address_zones or ()))
    if not zones:
        reasons.append(Reason("location_unknown", "No time zone is known for this number."))
    if reasons:
        return reasons
    states = {s for s in (f.area_code_state, f.address_state) if s}
    for rule in ctx.rules:
        if rule.jurisdiction != "US" and rule.jurisdiction not in states:
            continue
        where = "Federal" if rule.jurisdiction == "US" else rule.jurisdiction
        if rule.window_start:
            outside = [f"{ctx.local(z):%H:%M} in {z}" for z in zones
                       if not rule.window_start <= ctx.local(z).time() < rule.window_end]
            if outside:
                code = "outside_federal_hours" if rule.jurisdiction == "US" else "outside_state_hours"
                reasons.append(Reason(code, f"{where} hours {_fmt(rule.window_start)}–{_fmt(rule.window_end)} "
                                            f"({rule.source}): it is {', '.join(outside)}."))
        if rule.no_sundays and any(ctx.local(z).weekday() == 6 for z in zones):
            reasons.append(Reason("state_sunday_ban", f"{where} bans these calls on Sundays ({rule.source})."))
        if rule.no_holidays and any((rule.jurisdiction, ctx.local(z).date()) in ctx.holidays for z in zones):
            reasons.append(Reason("state_holiday_ban", f"{where} bans these calls on its legal holidays ({rule.source})."))
    window = ctx.settings.window
    if window:
        outside = [f"{ctx.local(z):%H:%M} in {z}" for z in zones if not window[0] <= ctx.local(z).time() < window[1]]
        if outside:
            reasons.append(Reason("outside_client_hours", f"{ctx.client.name}'s own hours {_fmt(window[0])}–"
                                                          f"{_fmt(window[1])}: it is {', '.join(outside)}."))
    return reasons


def _judge_frequency(ctx: _Context, f: Facts) -> list[Reason]:
    reasons = []
    states = {s for s in (f.area_code_state, f.address_state) if s}
    for rule in ctx.rules:
        if rule.jurisdiction != "US" and rule.jurisdiction not in states:
            continue
        where = "Federal" if rule.jurisdiction == "US" else rule.jurisdiction
        if rule.max_attempts:
            count = f.caps[ctx.cap_columns.index((rule.period_hours, rule.per_subject))]
            if count >= rule.max_attempts:
                reasons.append(Reason("frequency_cap", f"{where}: {count} attempts in {rule.period_hours} h"
                                                       f"{' on this subject' if rule.per_subject else ''}; at most "
                                                       f"{rule.max_attempts} ({rule.source})."))
        quiet = rule.quiet_hours_after_conversation
        if quiet and f.last_conversation and ctx.at - f.last_conversation < dt.timedelta(hours=quiet):
            reasons.append(Reason("after_conversation", f"{where}: a conversation on this subject at "
                                                        f"{f.last_conversation:%Y-%m-%d %H:%M} UTC; no call for "
                                                        f"{quiet} h after one ({rule.source})."))
    cap = ctx.settings.max_attempts_per_24h
    if cap is not None and f.attempts_24h >= cap:
        reasons.append(Reason("client_cap", f"{ctx.client.name}'s cap: {f.attempts_24h} attempts in 24 h, at most {cap}."))
    day_cap, week_cap = ctx.campaign_caps
    if day_cap is not None and f.campaign_24h >= day_cap:
        reasons.append(Reason("campaign_cap", f"Campaign cap: {f.campaign_24h} attempts in 24 h, at most {day_cap}."))
    if week_cap is not None and f.campaign_7d >= week_cap:
        reasons.append(Reason("campaign_cap", f"Campaign cap: {f.campaign_7d} attempts in 7 days, at most {week_cap}."))
    return reasons


# --- The single decision ----------------------------------------------------------------

def contact_decide(
    *,
    client: Client,
    number: str,
    purpose: str,
    channel: str,
    at: dt.datetime | None = None,
    contact_address: ContactAddress | dict | str | None = None,
    campaign=None,
    subject: str | None = None,
    asked_by: str,
    dial_mode: str | None = None,
) -> Decision:
    """May we contact ``number`` for ``client`` now? Allow or deny with every reason.

    Call it immediately before every dial or send, inside the client's schema. Each
    answer is written to the client's audit ledger (``Decision.ledger_id``). Fails closed:
    if anything goes wrong the answer is deny with reason ``gate_error``.
    """
    at = at or timezone.now()
    e164 = location.normalize(number)
    try:
        with transaction.atomic():
            if e164 is None:
                decision = Decision(False, (number or "").strip(), purpose, channel, at,
                                    [Reason("number_invalid", f"“{number}” is not a valid phone number.")])
            else:
                decision = _decide(client=client, e164=e164, purpose=purpose, channel=channel, at=at,
                                   address=ContactAddress.of(contact_address), campaign=campaign, subject=subject,
                                   dial_mode=dial_mode)
            decision.ledger_id = _ledger_write(decision, asked_by=asked_by, campaign=campaign)
        return decision
    except Exception as exc:  # fail closed: whatever broke, the answer is no
        logger.exception("compliance gate failed for %s (%s, %s)", number, purpose, channel)
        decision = Decision(False, e164 or (number or "").strip(), purpose, channel, at,
                            [Reason("gate_error", f"The check could not be completed ({type(exc).__name__}); "
                                                  "denied until it can.")])
        try:
            with transaction.atomic():
                decision.ledger_id = _ledger_write(decision, asked_by=asked_by, campaign=campaign)
        except Exception:
            logger.exception("compliance ledger write failed too")
        return decision


def contacts_decide(
    *,
    client: Client,
    contacts: Iterable[tuple[str, ContactAddress | dict | str | None]],
    purpose: str,
    channel: str,
    at: dt.datetime | None = None,
    campaign=None,
    subject: str | None = None,
    asked_by: str,
    dial_mode: str | None = None,
) -> list[Decision]:
    """``contact_decide`` for a few numbers about to be dialed together (a dialer tick's batch):
    the same decision and one ledger entry for each number, with the rules, settings and the
    campaign's abandonment read once, the facts of every number in one query and the ledger
    entries in one INSERT. If the batch fails, each number is decided on its own, failing
    closed as ``contact_decide`` does."""
    at = at or timezone.now()
    contacts = list(contacts)
    if not contacts:
        return []
    try:
        ctx = _context(client=client, purpose=purpose, channel=channel, at=at, campaign=campaign, subject=subject,
                       dial_mode=dial_mode)
        with transaction.atomic():
            return _decide_batch(ctx, contacts, asked_by=asked_by, campaign=campaign)
    except Exception:  # the batch failed: each number on its own, each failing closed
        logger.exception("compliance gate batch failed (%s, %s): deciding one by one", purpose, channel)
        return [contact_decide(client=client, number=n, purpose=purpose, channel=channel, at=at,
                               contact_address=a, campaign=campaign, subject=subject, asked_by=asked_by,
                               dial_mode=dial_mode)
                for n, a in contacts]


_BATCH_INPUT = ("SELECT * FROM unnest(%(keys)s::int[], %(numbers)s::text[], %(nationals)s::bigint[], "
                "%(npas)s::int[], %(states)s::text[]) AS t(key, number, national, npa, address_state)")


def _decide_batch(ctx: _Context, contacts: list, *, asked_by: str, campaign) -> list[Decision]:
    """One facts query for the whole batch (the same SQL as one number's, fed an array), the
    judge per number, and every answer in the ledger with one INSERT."""
    decisions: list[Decision | None] = [None] * len(contacts)
    keys, numbers, nationals, npas, states = [], [], [], [], []
    for index, (number, address) in enumerate(contacts):
        e164 = location.normalize(number)
        if e164 is None:
            decisions[index] = Decision(False, (number or "").strip(), ctx.purpose, ctx.channel, ctx.at,
                                        [Reason("number_invalid", f"“{number}” is not a valid phone number.")])
            continue
        address = ContactAddress.of(address)
        national, npa = _national(e164)
        keys.append(index), numbers.append(e164), nationals.append(national), npas.append(npa)
        states.append(address.state if address and address.state else None)
    if keys:
        sql, params = _facts_sql(ctx, _BATCH_INPUT)
        params.update(keys=keys, numbers=numbers, nationals=nationals, npas=npas, states=states)
        with connection.cursor():
            pass  # the client's search_path, whatever ran before
        # Server-side binding and a prepared plan, as for one number: planning costs more than running.
        for row in db.fetchall_prepared_here(sql, params):
            facts = _facts_from_row(row)
            reasons = _judge(ctx, facts)
            decisions[facts.key] = Decision(not any(r.deny for r in reasons), facts.number, ctx.purpose,
                                            ctx.channel, ctx.at, reasons, ctx.versions)
    _ledger_write_many(decisions, asked_by=asked_by, campaign=campaign)
    return decisions


_LEDGER_INSERT_MANY = f"""
INSERT INTO {LedgerEntry._meta.db_table}
    (created, at, event, number, purpose, channel, outcome, reasons, rule_versions, asked_by, campaign_id, detail)
SELECT now(), %(at)s, %(event)s, n, %(purpose)s, %(channel)s, o, r, %(versions)s, %(asked_by)s, %(campaign)s, ''
FROM unnest(%(numbers)s::text[], %(outcomes)s::text[], %(reasons)s::jsonb[]) WITH ORDINALITY AS t(n, o, r, i)
ORDER BY i
RETURNING id
"""


def _ledger_write_many(decisions: list[Decision], *, asked_by: str, campaign) -> None:
    """The ledger entries of a batch, in its order (ids ascend with the rows inserted)."""
    first = decisions[0]
    with connection.cursor() as cursor:
        cursor.execute(_LEDGER_INSERT_MANY, {
            "at": first.at, "event": LedgerEntry.Event.DECISION.value, "purpose": first.purpose[:20],
            "channel": first.channel[:12], "versions": Jsonb(first.rule_versions), "asked_by": asked_by[:200],
            "campaign": campaign.pk if campaign is not None else None,
            "numbers": [d.number[:32] for d in decisions],
            "outcomes": [(LedgerEntry.Outcome.ALLOW if d.allowed else LedgerEntry.Outcome.DENY).value for d in decisions],
            "reasons": [Jsonb([r.as_dict() for r in d.reasons]) for d in decisions]})
        ids = sorted(row[0] for row in cursor.fetchall())
    for decision, ledger_id in zip(decisions, ids):
        decision.ledger_id = ledger_id


def _decide(*, client, e164, purpose, channel, at, address, campaign, subject, dial_mode=None) -> Decision:
    ctx = _context(client=client, purpose=purpose, channel=channel, at=at, campaign=campaign, subject=subject,
                   dial_mode=dial_mode)
    return _decide_in(ctx, e164, address)


def _decide_in(ctx: _Context, e164: str, address) -> Decision:
    national, npa = _national(e164)
    sql, params = _facts_sql(ctx, _SINGLE_INPUT)
    params.update(number=e164, national=national, npa=npa, address_state=address.state if address and address.state else None)
    # _context's Django cursor has just set the client's search_path on this connection.
    # Server-side binding and a prepared plan (DB_PREPARED_STATEMENTS): planning this query
    # costs ten times running it.
    facts = _facts_from_row(db.fetchone_prepared_here(sql, params))
    reasons = _judge(ctx, facts)
    return Decision(not any(r.deny for r in reasons), e164, ctx.purpose, ctx.channel, ctx.at, reasons, ctx.versions)


_LEDGER_INSERT = f"""
INSERT INTO {LedgerEntry._meta.db_table}
    (created, at, event, number, purpose, channel, outcome, reasons, rule_versions, asked_by, campaign_id, detail)
VALUES (now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '') RETURNING id
"""


def _national(e164: str) -> tuple[int | None, int | None]:
    if e164.startswith("+1") and len(e164) == 12:
        return int(e164[2:]), int(e164[2:5])
    return None, None


def _ledger_write(decision: Decision, *, asked_by: str, campaign) -> int:
    # One prepared INSERT rather than the ORM's: this runs before every dial.
    with connection.cursor():
        pass  # the client's search_path, whatever ran before
    return db.fetchone_prepared_here(_LEDGER_INSERT, (
        decision.at, LedgerEntry.Event.DECISION.value, decision.number[:32], decision.purpose[:20],
        decision.channel[:12], (LedgerEntry.Outcome.ALLOW if decision.allowed else LedgerEntry.Outcome.DENY).value,
        Jsonb([r.as_dict() for r in decision.reasons]), Jsonb(decision.rule_versions), asked_by[:200],
        campaign.pk if campaign is not None else None,
    ))[0]


# --- The batch form ------------------------------------------------------------------------

class ScrubRow(NamedTuple):
    index: int  # position in the input
    number: str  # E.164, or the input as given when invalid
    allowed: bool
    codes: tuple[str, ...]  # the denying reasons' codes


@dataclass
class ScrubResult:
    rows: list[ScrubRow]
    allowed: int
    denied: int
    by_code: Counter
    reason_text: dict[str, str]  # code -> one example sentence
    seconds: float
    ledger_id: int | None = None


def contacts_scrub(
    *,
    client: Client,
    contacts: Iterable[str | tuple[str, str | None]],
    purpose: str,
    channel: str,
    at: dt.datetime | None = None,
    campaign=None,
    subject: str | None = None,
    asked_by: str,
    progress: Callable[[str, int], None] | None = None,
) -> ScrubResult:
    """The gate for a whole list in one pass: the same decision as ``contact_decide`` for
    every number (same facts query, same judge), without a query per number.

    ``contacts`` are numbers, or (number, address state) pairs. The numbers go into a
    temporary table with COPY; one set-based query joins them to the DNC lists, the
    registry, consents and attempts. One ledger entry records the scrub and its counts;
    each later dial still asks ``contact_decide``.
    """
    started = time.perf_counter()
    at = at or timezone.now()
    rows: list[ScrubRow] = []
    reason_text: dict[str, str] = {}
    with transaction.atomic():
        ctx = _context(client=client, purpose=purpose, channel=channel, at=at, campaign=campaign, subject=subject)
        invalid_reason = {}
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_SCRUB_TABLE}")  # an earlier scrub in this transaction
            cursor.execute(f"CREATE TEMP TABLE {_SCRUB_TABLE} (key int, number text, national bigint, npa int, "
                           f"address_state text) ON COMMIT DROP")
            loaded = 0
            with cursor.cursor.copy(f"COPY {_SCRUB_TABLE} FROM STDIN") as copy:
                for index, contact in enumerate(contacts):
                    raw, state = (contact, None) if isinstance(contact, str) else (contact[0], contact[1])
                    e164 = location.normalize(raw)
                    if e164 is None:
                        invalid_reason[index] = (raw or "").strip()
                        continue
                    national, npa = _national(e164)
                    copy.write_row((index, e164, national, npa, (state or "").strip().upper() or None))
                    loaded += 1
                    if progress and loaded % 100_000 == 0:
                        progress("loaded", loaded)
            cursor.execute(f"ANALYZE {_SCRUB_TABLE}")
            sql, params = _facts_sql(ctx, _SCRUB_INPUT)
            judged = {}
            # A server-side cursor streams the facts instead of holding a million rows twice.
            with connection.connection.cursor(name="compliance_scrub") as stream:
                stream.itersize = 20_000
                stream.execute(sql, params)
                for done, row in enumerate(stream, start=1):
                    facts = _facts_from_row(row)
                    reasons = _judge(ctx, facts)
                    codes = tuple(sorted({r.code for r in reasons if r.deny}))
                    for r in reasons:
                        if r.deny:
                            reason_text.setdefault(r.code, r.text)
                    judged[facts.key] = ScrubRow(facts.key, facts.number, not codes, codes)
                    if progress and done % 100_000 == 0:
                        progress("judged", done)
        total = len(judged) + len(invalid_reason)
        for index in range(total):
            row = judged.get(index)
            if row is None:
                row = ScrubRow(index, invalid_reason[index], False, ("number_invalid",))
                reason_text.setdefault("number_invalid", f"“{invalid_reason[index]}” is not a valid phone number.")
            rows.append(row)
        by_code = Counter(code for row in rows for code in row.codes)
        allowed = sum(1 for row in rows if row.allowed)
        result = ScrubResult(rows, allowed, len(rows) - allowed, by_code, reason_text, time.perf_counter() - started)
        result.ledger_id = LedgerEntry.objects.create(
            at=at, event=LedgerEntry.Event.SCRUB, purpose=purpose, channel=channel, asked_by=asked_by, campaign=campaign,
            reasons=[{"code": code, "text": reason_text[code], "deny": True, "count": n} for code, n in by_code.most_common()],
            rule_versions=ctx.versions, detail=f"{len(rows)} numbers: {allowed} allowed, {len(rows) - allowed} denied.",
        ).pk
    return result
