"""The dialer: a beat-driven tick per running campaign places its next calls (or texts).

Each tick, for each running campaign (the public ``DialerCampaign`` rows, one query):

1. count the agents available to it — outbound ones, and blended ones only while none of
   their clients has an inbound caller waiting (inbound first, always);
2. ask the pacing rule (``campaigns.pacing.pace``, a pure function the simulated day runs
   too) how many calls to place now, within the account's calls-per-second budget (a token
   bucket in Redis per Twilio account: Twilio queues calls beyond it, and a call answered
   late is an abandoned one);
3. pick that many contacts (in their calling window now, attempts left, not waiting for a
   retry, highest list priority first) with ``FOR UPDATE SKIP LOCKED``;
4. ask the compliance gate for each one, immediately before dialing it; write the attempt
   (outcome pending) and commit — PostgreSQL allows one pending attempt per contact,
   whatever ticks run at once;
5. only then hand each call to the gateway, with status callbacks and asynchronous
   answering-machine detection.

A worker killed between 4 and 5 leaves pending attempts without a Twilio SID: the sweep
asks the gateway whether the call went out (``sent_find``) and either keeps it or marks it
not placed, so no contact is dialed twice and none is lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import time
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live
from answering.acd.models import AgentPresence, CallSession, DialerCampaign
from answering.messages.texts import twilio_url
from answering.twilio import gateway
from campaigns import pacing
from campaigns.models import CallAttempt, Campaign, Contact, ContactList
from campaigns.services import lifecycle
from compliance.rules import Channel
from compliance.services import contacts_decide
from switchboard.redis_clients import redis_client
from tenants.models import AgentProfile, Client, PhoneNumber
from tenants.selectors import client_current

logger = logging.getLogger("switchboard.dialer")

Status = AgentPresence.Status

# Gate reasons that will not change by waiting: the contact is taken out of the campaign.
_REFUSED_FOR_GOOD = {"client_dnc", "platform_dnc", "national_dnc", "number_invalid", "consent_missing",
                     "location_outside_us", "staff_sms_opt_out", "registry_exempt_consent"}
_DNC_CODES = {"client_dnc", "platform_dnc", "national_dnc"}
# Reasons of the hour (calling hours, Sunday and holiday bans, caps): tried again later.
_DEFER_MINUTES = {"frequency_cap": 24 * 60, "campaign_cap": 24 * 60, "client_cap": 24 * 60,
                  "after_conversation": 24 * 60}
_DEFER_DEFAULT_MINUTES = 30
PICK_ROUNDS = 5  # a tick picks again after refusals, this many times at most
PENDING_WITHOUT_SID_SECONDS = 20  # the sweep asks the gateway about attempts older than this
STUCK_AFTER = dt.timedelta(hours=2)  # a pending attempt no callback settled: failed


@dataclass
class TickResult:
    campaign_id: int
    placed: int
    pacing: pacing.Pacing | None
    refused: int = 0
    seconds: float = 0.0


# --- Calls per second, per Twilio account --------------------------------------------------

_BUCKET = """
local rate = tonumber(ARGV[1]); local burst = tonumber(ARGV[2]); local want = tonumber(ARGV[3])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local got = math.min(want, math.floor(tokens))
if got < 0 then got = 0 end
redis.call('HSET', KEYS[1], 'tokens', tokens - got, 'at', now)
redis.call('EXPIRE', KEYS[1], 60)
return got
"""


def calls_per_second(account_sid: str) -> float:
    """The account's configured limit: DIALER_CALLS_PER_SECOND_BY_ACCOUNT for it, else the
    default (Twilio's 1 per second; subaccounts have their own, not shared)."""
    return settings.DIALER_CALLS_PER_SECOND_BY_ACCOUNT.get(account_sid, settings.DIALER_CALLS_PER_SECOND)


def cps_take(account_sid: str, want: int) -> int:
    """Take up to ``want`` call starts from the account's budget; returns how many it may place now.
    Atomic in Redis, so every worker and tick shares one budget per account."""
    if want <= 0:
        return 0
    rate = calls_per_second(account_sid)
    return int(redis_client(timeout=5).eval(_BUCKET, 1, f"dialer:cps:{account_sid or 'platform'}", rate, max(1.0, rate), want))


def cps_give_back(account_sid: str, unused: int) -> None:
    if unused > 0:
        redis_client(timeout=5).hincrbyfloat(f"dialer:cps:{account_sid or 'platform'}", "tokens", unused)


# --- Who may take this campaign's calls -----------------------------------------------------

@dataclass
class Agents:
    ready: list[int]  # available now, in the order they should get calls (longest idle first)
    finishing: int  # in wrap-up: free within seconds
    busy: int  # on a call
    on_it: int  # logged in for it: ready, on a call or wrapping up


def campaign_agents(campaign: Campaign, client: Client, claimed_elsewhere: frozenset[int] = frozenset()) -> Agents:
    """The agents available to ``campaign``: serving its client, in outbound or blended mode
    (and on its list of agents, if it has one). A blended agent counts only while none of
    their clients has an inbound caller waiting: inbound first, always. An idle agent whom
    another running campaign's unconnected lines are counting on (``claimed_elsewhere``) is
    not free for this one: an agent serves many clients, and two campaigns each dialing "one
    line per available agent" for the same agent would abandon one of the two people."""
    rows = (AgentPresence.objects
            .filter(agent__is_active=True, agent__agent_profile__clients=client.pk,
                    mode__in=[AgentProfile.Mode.OUTBOUND, AgentProfile.Mode.BLENDED],
                    status__in=[Status.AVAILABLE, Status.ON_CALL, Status.WRAP_UP, Status.OFFERED])
            .order_by("idle_since", "agent_id").values_list("agent_id", "status", "mode"))
    if campaign.agent_ids:
        rows = rows.filter(agent_id__in=campaign.agent_ids)
    rows = list(rows)
    blended = [a for a, _, mode in rows if mode == AgentProfile.Mode.BLENDED]
    busy_with_inbound = set()
    if blended:
        waiting = set(CallSession.objects.filter(state__in=[CallSession.State.QUEUED, CallSession.State.OFFERED],
                                                 direction=CallSession.Direction.INBOUND)
                      .values_list("client_id", flat=True))
        if waiting:
            busy_with_inbound = set(AgentProfile.clients.through.objects
                                    .filter(agentprofile__user_id__in=blended, client_id__in=waiting)
                                    .values_list("agentprofile__user_id", flat=True))
    elsewhere = busy_with_inbound | claimed_elsewhere
    ready = [a for a, status, _ in rows if status == Status.AVAILABLE and a not in elsewhere]
    finishing = sum(1 for a, status, _ in rows if status == Status.WRAP_UP and a not in elsewhere)
    busy = sum(1 for a, status, _ in rows if status == Status.ON_CALL)
    return Agents(ready=ready, finishing=finishing, busy=busy,
                  on_it=sum(1 for a, *_ in rows if a not in busy_with_inbound))


# --- The campaign's recent figures (pacing's inputs, the wallboard's numbers) -----------------

def campaign_stats(campaign: Campaign, client: Client, now: dt.datetime) -> dict:
    """The campaign's figures for pacing and the wallboard: the portal's own definitions
    (``campaigns.selectors.campaign_figures``: contacts left, today's attempts and answers,
    abandonment today and over 30 days — the gate's rate), and pacing's recent window: the
    last ``pacing.ANSWER_WINDOW_DIALS`` dials that ended, with their ring and handle times."""
    from campaigns.selectors import campaign_figures

    O = CallAttempt.Outcome
    figures = campaign_figures(campaign, at=now, time_zone=client.time_zone).stats()
    window = list(CallAttempt.objects.filter(campaign=campaign, started_at__lte=now)
                  .exclude(outcome__in=[O.PENDING, O.NOT_PLACED, O.SKIPPED])
                  .order_by("-started_at").values_list("outcome", "started_at", "answered_at", "connected_at",
                                                       "ended_at")[:pacing.ANSWER_WINDOW_DIALS])
    live = [w for w in window if w[0] in (O.LIVE_ANSWERED, O.ABANDONED)]
    rings = [(a - s).total_seconds() for _, s, a, _, _ in live if a]
    wrap = _wrap_up_seconds()
    handles = [(e - c).total_seconds() + wrap for o, _, _, c, e in live if o == O.LIVE_ANSWERED and c and e]
    return {
        **figures,
        "recent_dials": len(window), "recent_live": len(live),
        "avg_ring_seconds": sum(rings) / len(rings) if rings else None,
        "avg_handle_seconds": sum(handles) / len(handles) if handles else None,
    }


def _wrap_up_seconds() -> int:
    from answering.selectors import answering_settings_get

    settings_row = answering_settings_get()
    return settings_row.wrap_up_seconds if settings_row else 30


def lines_now(campaign: Campaign, now: dt.datetime) -> dict:
    """The campaign's lines in flight now (every tick: pacing must not over-dial): how many,
    how many answered and waiting for detection or an agent, each ringing line's age."""
    pending = list(CallAttempt.objects.filter(campaign=campaign, outcome=CallAttempt.Outcome.PENDING)
                   .values_list("started_at", "answered_at"))
    return {"lines_in_flight": len(pending), "lines_answered": sum(1 for _, a in pending if a),
            "ringing_seconds": [max(0.0, (now - s).total_seconds()) for s, a in pending if not a]}


STATS_SECONDS = 5  # the campaign's rates are refigured this often; lines in flight every tick


def _stats_fresh_enough(row: DialerCampaign, campaign: Campaign, client: Client, now: dt.datetime) -> dict:
    """The campaign's figures: the rates and counts from the last few seconds' aggregate (they
    move slowly), the lines in flight counted now."""
    previous = row.stats or {}
    figured = previous.get("figured_at")
    if figured is None or not (0 <= now.timestamp() - figured < STATS_SECONDS) or "recent_dials" not in previous:
        previous = {**campaign_stats(campaign, client, now), "figured_at": now.timestamp()}
    return {**previous, **lines_now(campaign, now)}


def _pacing_input(campaign: Campaign, agents: Agents, stats: dict) -> pacing.PacingInput:
    return pacing.PacingInput(
        mode=campaign.mode, agents_ready=len(agents.ready), agents_finishing=agents.finishing,
        agents_busy=agents.busy, lines_in_flight=stats["lines_in_flight"], lines_answered=stats["lines_answered"],
        ringing_seconds=tuple(stats["ringing_seconds"]),
        answer_rate=(stats["recent_live"] / stats["recent_dials"]) if stats["recent_dials"] else None,
        recent_dials=stats["recent_dials"], avg_ring_seconds=stats["avg_ring_seconds"],
        avg_handle_seconds=stats["avg_handle_seconds"],
        abandoned_today=stats["abandoned_today"], live_today=stats["live_today"],
        abandoned_30d=stats["abandoned_30d"], live_30d=stats["live_30d"],
        max_lines_per_agent=float(campaign.max_lines_per_agent),
    )


# --- Picking contacts -------------------------------------------------------------------------

_WINDOW = """
  AND (c.reserved_until IS NULL OR c.reserved_until < %(now)s)
  AND (c.callback_agent_id IS NULL OR c.callback_agent_id = ANY(%(ready)s))
  AND c.time_zone = ANY(%(zones)s)
"""


@functools.lru_cache(maxsize=64)
def _zones_in_window(minute: int, start: dt.time, end: dt.time, days: tuple[int, ...]) -> tuple[str, ...]:
    """Every IANA zone whose local time, at this minute, is inside the window on an allowed
    day. The set changes only at minute boundaries: figured once a minute per window, it
    turns the pick's per-row time arithmetic into a plain ``time_zone = ANY(...)``."""
    at = dt.datetime.fromtimestamp(minute * 60, dt.timezone.utc)
    inside = []
    for name in _all_zones():
        local = at.astimezone(zoneinfo.ZoneInfo(name))
        if local.weekday() in days and start <= local.time().replace(second=0, microsecond=0) < end:
            inside.append(name)
    return tuple(inside)


@functools.cache
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def zones_in_window(campaign: Campaign, client: Client, now: dt.datetime) -> list[str]:
    """The zones in the campaign's window now; a contact without a zone of its own is in the
    client's ('' stands for it)."""
    zones = list(_zones_in_window(int(now.timestamp() // 60), campaign.window_start, campaign.window_end,
                                  tuple(campaign.days or range(7))))
    if client.time_zone in zones:
        zones.append("")
    return zones


# Due retries and callbacks first (the promised time), then fresh contacts in list order.
_PICK_DUE = f"""
SELECT c.id FROM {Contact._meta.db_table} c
WHERE c.list_id = %(list)s AND c.status IN ('retry', 'callback') AND c.next_attempt_at <= %(now)s {_WINDOW}
ORDER BY c.next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
# From where the last tick stopped in the list (``after``): the contacts before it were dialed
# and wait as retries, and walking past them every tick would grow with the day.
_PICK_FRESH = f"""
SELECT c.id FROM {Contact._meta.db_table} c
WHERE c.list_id = %(list)s AND c.id > %(after)s AND c.status = 'new'
  AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %(now)s) {_WINDOW}
ORDER BY c.id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""


def contacts_pick(campaign: Campaign, client: Client, *, limit: int, now: dt.datetime,
                  ready_agents: list[int] = (), cursor_ids: dict | None = None) -> list[Contact]:
    """The next ``limit`` contacts to dial, locked (call inside a transaction): due callbacks
    and retries before fresh contacts, highest list priority first, each in the campaign's
    window in the contact's own time zone now (the gate narrows it further). A callback
    booked to an agent waits until that agent is ready. Another tick's locked rows are skipped."""
    if limit <= 0:
        return []
    picked: list[int] = []
    zones = zones_in_window(campaign, client, now)
    if not zones:
        return []
    lists = ContactList.objects.filter(campaign=campaign, active=True).order_by("-priority", "id").values_list("id", flat=True)
    cursor_ids = {} if cursor_ids is None else cursor_ids  # list id -> the last fresh contact picked
    with connection.cursor() as cursor:
        for list_id in lists:
            params = {"list": list_id, "now": now, "ready": list(ready_agents) or [0], "zones": zones}
            cursor.execute(_PICK_DUE, {**params, "limit": limit - len(picked)})
            picked += [row[0] for row in cursor.fetchall()]
            after = cursor_ids.get(str(list_id), 0)
            while len(picked) < limit:
                cursor.execute(_PICK_FRESH, {**params, "after": after, "limit": limit - len(picked)})
                fresh = [row[0] for row in cursor.fetchall()]
                picked += fresh
                if fresh:
                    cursor_ids[str(list_id)] = fresh[-1]
                if len(picked) >= limit or after == 0:
                    break
                after = 0  # the end of the list: once more from its start (recycled, deferred ones)
                cursor_ids[str(list_id)] = 0
            if len(picked) >= limit:
                break
    by_id = Contact.objects.in_bulk(picked)
    return [by_id[i] for i in picked]


# --- Caller ID ------------------------------------------------------------------------------

def client_numbers(client: Client) -> list[tuple[str, str, str]]:
    """The client's numbers: (number, purpose, owning Twilio account), read once per tick."""
    return list(PhoneNumber.objects.filter(client=client).order_by("purpose", "number")
                .values_list("number", "purpose", "twilio_account_sid"))


def caller_id_for(campaign: Campaign, client: Client, number: str, numbers=None) -> tuple[str, str]:
    """(number shown, the Twilio account that owns it). Local presence: the client's number in
    the callee's area code when it has one; else the campaign's caller ID; else the client's
    first caller-ID or answering number."""
    numbers = client_numbers(client) if numbers is None else numbers
    if campaign.local_presence and number.startswith("+1"):
        same_area = [n for n in numbers if n[0][:5] == number[:5]]
        if same_area:
            return same_area[0][0], same_area[0][2]
    if campaign.caller_id:
        match = [n for n in numbers if n[0] == campaign.caller_id]
        return campaign.caller_id, match[0][2] if match else ""
    preferred = sorted(numbers, key=lambda n: n[1] != PhoneNumber.Purpose.CALLER_ID)
    if preferred:
        return preferred[0][0], preferred[0][2]
    return "", ""


# --- Placing one attempt ----------------------------------------------------------------------

def _refused(campaign: Campaign, contact: Contact, decision, now: dt.datetime) -> None:
    """The gate said no: out of the campaign for good (DNC, no consent, invalid), or later."""
    codes = decision.codes
    text = " ".join(r.text for r in decision.denials)[:300]
    if codes & _REFUSED_FOR_GOOD:
        status = Contact.Status.DNC if codes & _DNC_CODES else Contact.Status.BLOCKED
        Contact.objects.filter(pk=contact.pk).update(status=status, reason=text, updated=now)
        return
    minutes = max([_DEFER_MINUTES.get(code, _DEFER_DEFAULT_MINUTES) for code in codes] or [_DEFER_DEFAULT_MINUTES])
    Contact.objects.filter(pk=contact.pk).update(next_attempt_at=now + dt.timedelta(minutes=minutes),
                                                 reason=text, updated=now)


class AbandonmentCap(Exception):
    """The gate refuses the campaign's autodialed calls: abandonment is over the cap."""


_OPEN = f"""
INSERT INTO {CallAttempt._meta.db_table}
    (campaign_id, contact_id, number, caller_id, channel, purpose, subject, mode, agent_id, ledger_id, started_at,
     outcome, answered_by, twilio_status, last_sequence, twilio_sid, notes, answers, detail)
SELECT %(campaign)s, c, n, cid, %(channel)s, %(purpose)s, %(subject)s, %(mode)s, a, l, %(started)s,
       'pending', '', '', -1, '', '', '{{}}', 'Allowed by the gate (ledger ' || l || ').'
FROM unnest(%(contacts)s::bigint[], %(numbers)s::text[], %(caller_ids)s::text[], %(agents)s::bigint[],
            %(ledgers)s::bigint[]) AS t(c, n, cid, a, l)
ON CONFLICT (contact_id) WHERE outcome = 'pending' DO NOTHING
RETURNING id, contact_id
"""


def attempts_open(campaign: Campaign, client: Client, contacts: list[Contact], *, now: dt.datetime,
                  numbers=None, dial_mode: str | None = None, agent_id: int | None = None,
                  mode: str | None = None) -> tuple[list[tuple[CallAttempt, Contact]], int]:
    """The gate for a batch (inside the caller's transaction, the contacts locked), then every
    allowed contact's pending attempt in one INSERT: a contact with an attempt already in
    flight is skipped by the database (``call_attempt_one_in_flight``). Returns the opened
    attempts with their contacts, and how many the gate refused (each contact says why).
    ``agent_id`` and ``mode``: a preview agent's own dial (else a callback's booked agent, and
    the campaign's mode)."""
    if not contacts:
        return [], 0
    decisions = contacts_decide(
        client=client, contacts=[(c.number, {"state": c.state} if c.state else None) for c in contacts],
        purpose=campaign.purpose, channel=campaign.gate_channel, at=now, campaign=campaign,
        asked_by=f"dialer:{campaign.pk}", dial_mode=dial_mode or campaign.mode)
    allowed, refused = [], 0
    for contact, decision in zip(contacts, decisions):
        if decision.allowed:
            allowed.append((contact, decision))
            continue
        if "abandonment_cap" in decision.codes:
            raise AbandonmentCap(" ".join(r.text for r in decision.denials if r.code == "abandonment_cap"))
        _refused(campaign, contact, decision, now)
        refused += 1
    if not allowed:
        return [], refused
    numbers = client_numbers(client) if numbers is None else numbers
    shown = {c.pk: caller_id_for(campaign, client, c.number, numbers) for c, _ in allowed}
    started = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_OPEN, {
            "campaign": campaign.pk, "channel": campaign.gate_channel, "purpose": campaign.purpose,
            "subject": campaign.subject_key, "mode": mode or campaign.mode, "started": started,
            "contacts": [c.pk for c, _ in allowed], "numbers": [c.number for c, _ in allowed],
            "caller_ids": [shown[c.pk][0] for c, _ in allowed],
            "agents": [agent_id or c.callback_agent_id for c, _ in allowed],
            "ledgers": [d.ledger_id for _, d in allowed]})
        opened = dict((contact_id, attempt_id) for attempt_id, contact_id in cursor.fetchall())
        cursor.execute(f"UPDATE {Contact._meta.db_table} SET status = 'in_flight', attempts = attempts + 1, "
                       f"last_attempt_at = %s, reserved_by = NULL, reserved_until = NULL, updated = %s "
                       f"WHERE id = ANY(%s)", [now, now, list(opened)])
    result = []
    for contact, decision in allowed:
        if contact.pk not in opened:
            continue
        attempt = CallAttempt(pk=opened[contact.pk], campaign=campaign, contact=contact, number=contact.number,
                              caller_id=shown[contact.pk][0], channel=decision.channel, purpose=campaign.purpose,
                              mode=mode or campaign.mode, agent_id=agent_id or contact.callback_agent_id,
                              ledger_id=decision.ledger_id,
                              started_at=started)
        attempt.account_sid = shown[contact.pk][1]  # not stored: the gateway call needs it once
        result.append((attempt, contact))
    return result, refused


def _merge(text: str, contact: Contact) -> str:
    values = defaultdict(str, {"first_name": contact.first_name, "last_name": contact.last_name,
                               "name": contact.name, **{k: str(v) for k, v in (contact.fields or {}).items()}})
    try:
        return text.format_map(values)
    except (ValueError, IndexError):
        return text


def attempt_send(attempt: CallAttempt, client: Client, campaign: Campaign, contact: Contact, *,
                 store_sid: bool = True) -> str:
    """Hand a committed pending attempt to Twilio. A permanent refusal settles it; a transient
    error leaves it pending for the sweep (which asks Twilio whether it went out)."""
    schema = client.schema_name
    account = getattr(attempt, "account_sid", "")
    try:
        if campaign.channel == Campaign.Kind.SMS:
            sent = gateway.get().sms_send(
                to=attempt.number, from_=attempt.caller_id, body=_merge(campaign.sms_text, contact),
                status_callback=twilio_url("twilio_outbound_status", schema, attempt.pk), account_sid=account)
        else:
            sent = gateway.get().call_dial(
                to=attempt.number, from_=attempt.caller_id, url=twilio_url("twilio_outbound_answer", schema, attempt.pk),
                status_callback=twilio_url("twilio_outbound_status", schema, attempt.pk),
                ring_seconds=max(15, campaign.ring_seconds),
                amd_callback=twilio_url("twilio_outbound_amd", schema, attempt.pk) if campaign.amd else "",
                account_sid=account)
    except gateway.GatewayError as exc:
        if exc.permanent:
            from campaigns.services import outcomes

            outcomes.attempt_failed_to_place(attempt=attempt, reason=str(exc), code=exc.code)
        else:
            logger.warning("attempt %s to %s not confirmed (%s): the sweep will settle it", attempt.pk,
                           attempt.number, exc)
        return ""
    if store_sid:
        CallAttempt.objects.filter(pk=attempt.pk, twilio_sid="").update(twilio_sid=sent.sid)
    attempt.twilio_sid = sent.sid
    return sent.sid


def _sids_store(sent: list[tuple[int, str]]) -> None:
    """The SIDs of a tick's calls, in one UPDATE (a callback that came first may have set it)."""
    if sent:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {CallAttempt._meta.db_table} a SET twilio_sid = s.sid FROM "
                           f"unnest(%s::bigint[], %s::text[]) AS s(id, sid) WHERE a.id = s.id AND a.twilio_sid = ''",
                           [[i for i, _ in sent], [sid for _, sid in sent]])


def attempt_place(*, campaign: Campaign, contact: Contact, agent_id: int | None = None,
                  client: Client | None = None) -> CallAttempt | None:
    """One attempt now (a preview agent's Dial): the gate, the pending row committed, then the
    call. Inside the client's schema. None when the gate refused (``contact.reason`` says why)
    or the contact is already being called."""
    client = client or client_current()
    now = timezone.now()
    with transaction.atomic():
        locked = Contact.objects.select_for_update(skip_locked=True).filter(pk=contact.pk).first()
        if locked is None or locked.status not in (*Contact.DIALABLE, Contact.Status.IN_FLIGHT):
            return None
        try:
            opened, _ = attempts_open(campaign, client, [locked], now=now, agent_id=agent_id,
                                      mode=Campaign.Mode.PREVIEW if agent_id else None)
        except AbandonmentCap as exc:
            contact.reason = str(exc)
            return None
        attempt = opened[0][0] if opened else None
    if attempt is None:
        contact.refresh_from_db()
        return None
    if agent_id:
        # The agent waits for this call to be answered: not available to the ACD nor to a
        # tick meanwhile (the person who answers is theirs); the outcome frees them again.
        AgentPresence.objects.filter(agent_id=agent_id, status=Status.AVAILABLE).update(
            status=Status.OFFERED, since=timezone.now(), reason=f"Dialing {locked.name or locked.number}…")
        live.push(live.agent_group(agent_id), {"type": "call_changed"})
    attempt_send(attempt, client, campaign, locked)
    return attempt


# --- The tick ---------------------------------------------------------------------------------

def dialer_tick(*, now: dt.datetime | None = None) -> list[TickResult]:
    """Tick every running campaign once (the beat calls this every DIALER_TICK_SECONDS)."""
    rows = list(DialerCampaign.objects.select_related("client").order_by("ticked_at", "pk"))
    # The campaign that placed a call longest ago goes first: campaigns sharing agents take turns.
    rows.sort(key=lambda row: (row.stats or {}).get("placed_at") or 0.0)
    results = []
    for row in rows:
        try:
            results.append(campaign_tick(row, now=now))
        except Exception:
            logger.exception("dialer tick of %s (%s) failed", row.name, row.client.schema_name)
    if rows:
        lifecycle.wallboard_push()
    return results


def agents_claimed_elsewhere(row: DialerCampaign) -> frozenset[int]:
    """The idle agents the other running campaigns' lines in flight are counting on: what each
    one's last tick claimed (``stats["claimed"]``; a paused or stopped campaign has no row),
    trimmed to the lines it has in flight now — a line that ended since frees its agent at
    once, not at that campaign's next tick. One query for every other campaign's lines."""
    others = [(pk, schema, campaign_id, lines_per_agent, stats["claimed"])
              for pk, schema, campaign_id, lines_per_agent, stats in DialerCampaign.objects.exclude(pk=row.pk)
              .values_list("pk", "client__schema_name", "campaign_id", "lines_per_agent", "stats")
              if (stats or {}).get("claimed")]
    if not others:
        return frozenset()
    table, quote = CallAttempt._meta.db_table, connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT %s, count(*) FROM {quote(schema)}.{quote(table)} WHERE campaign_id = %s AND outcome = %s"
        for _, schema, *_ in others)
    params = [p for pk, _, campaign_id, *_ in others for p in (pk, campaign_id, CallAttempt.Outcome.PENDING)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        in_flight = dict(cursor.fetchall())
    claimed: set[int] = set()
    for pk, _, _, lines_per_agent, agents in others:
        claimed.update(agents[:math.ceil(in_flight.get(pk, 0) / max(1.0, lines_per_agent or 1.0))])
    return frozenset(claimed)


def _claims(agents: Agents, waiting_lines: int, lines_per_agent: float) -> list[int]:
    """The ready agents this campaign's unconnected lines count on: one per line in progressive,
    one per ``lines_per_agent`` lines in predictive, longest idle first."""
    if waiting_lines <= 0:
        return []
    return agents.ready[:math.ceil(waiting_lines / max(1.0, lines_per_agent))]


def _tick_lock(row: DialerCampaign) -> bool:
    """One tick per campaign at a time (ticks overlap when one runs long); the database's
    one-pending-attempt rule would hold anyway, but two ticks would both count the same agents."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [7316, row.pk])
        return cursor.fetchone()[0]


def campaign_tick(row: DialerCampaign, *, now: dt.datetime | None = None) -> TickResult:
    started = time.perf_counter()
    now = now or timezone.now()
    client = row.client
    with schema_context(client.schema_name):
        campaign = Campaign.objects.filter(pk=row.campaign_id).first()
        if campaign is None or campaign.state != Campaign.State.RUNNING:
            DialerCampaign.objects.filter(pk=row.pk).delete()
            return TickResult(row.campaign_id, 0, None)
        if campaign.ends_at and now >= campaign.ends_at:
            lifecycle.campaign_stop(campaign=campaign, by="its schedule")
            return TickResult(row.campaign_id, 0, None)
        agents = campaign_agents(campaign, client, agents_claimed_elsewhere(row))
        stats = _stats_fresh_enough(row, campaign, client, now)
        decided = pacing.pace(_pacing_input(campaign, agents, stats))
        if campaign.channel == Campaign.Kind.SMS:  # texts need no agent: the budget paces them
            decided = pacing.Pacing(calls_now=10, lines_per_agent=0.0, mode="texts", reason="Sending texts.",
                                    throttled=False, stop=False)
        placed, refused, to_send = 0, 0, []
        cursor_ids = dict((row.stats or {}).get("pick_after") or {})
        scheduled = not campaign.starts_at or now >= campaign.starts_at
        if scheduled and decided.calls_now > 0:
            probe_caller, account = caller_id_for(campaign, client, "")
            budget = cps_take(account, decided.calls_now)
            try:
                with transaction.atomic():
                    if not _tick_lock(row):
                        cps_give_back(account, budget)
                        return TickResult(row.campaign_id, 0, decided)
                    # Refused contacts do not cost a line: pick again, a few rounds at most.
                    numbers = client_numbers(client)
                    for _ in range(PICK_ROUNDS):
                        batch = contacts_pick(campaign, client, limit=budget - len(to_send), now=now,
                                              ready_agents=agents.ready, cursor_ids=cursor_ids)
                        opened, denied = attempts_open(campaign, client, batch, now=now, numbers=numbers,
                                                       dial_mode=decided.mode)
                        to_send += opened
                        refused += denied
                        if not batch or len(to_send) >= budget:
                            break
            except AbandonmentCap as exc:
                lifecycle.campaign_pause(campaign=campaign, by="the dialer",
                                         reason=f"Stopped: {exc} Predictive and progressive dialing stop at the cap.")
                cps_give_back(account, budget)
                return TickResult(row.campaign_id, 0, decided)
            cps_give_back(account, budget - len(to_send))
            # Committed: each attempt exists before its call does.
            sent = []
            for attempt, contact in to_send:
                sid = attempt_send(attempt, client, campaign, contact, store_sid=False)
                if sid:
                    sent.append((attempt.pk, sid))
                placed += 1
            _sids_store(sent)
        elif scheduled and campaign.mode != Campaign.Mode.PREVIEW and stats["contacts_left"] == 0 \
                and stats["lines_in_flight"] == 0:
            lifecycle.campaign_complete_if_done(campaign=campaign)
        reason = decided.reason
        if not scheduled:
            reason = f"Starts at {timezone.localtime(campaign.starts_at, client.tz):%a %d %b %H:%M}."
        elif decided.calls_now > 0 and not to_send:
            reason = _idle_reason(campaign, client, now, refused) or reason
        waiting = stats["lines_in_flight"] + placed
        row.stats = {**stats, "pick_after": cursor_ids, "agents": agents.on_it, "agents_ready": len(agents.ready),
                     "lines_in_flight": waiting, "configured_mode": campaign.mode,
                     "placed_at": now.timestamp() if placed else (row.stats or {}).get("placed_at"),
                     # Texts need no agent, and a preview line belongs to the agent who dialed it.
                     "claimed": _claims(agents, waiting, decided.lines_per_agent)
                     if decided.mode in ("progressive", "predictive") else []}
        DialerCampaign.objects.filter(pk=row.pk).update(
            mode=decided.mode, lines_per_agent=decided.lines_per_agent, reason=reason[:300],
            ticked_at=now, stats=row.stats)
    return TickResult(row.campaign_id, placed, decided, refused, time.perf_counter() - started)


def _idle_reason(campaign: Campaign, client: Client, now: dt.datetime, refused: int) -> str:
    """Why a campaign with lines to fill placed nothing, in words for the wallboard."""
    window = f"{campaign.window_start:%H:%M}–{campaign.window_end:%H:%M}"
    if refused:
        return f"Lines free, but the gate refused the {refused} contacts picked (each says why in the results)."
    in_window = Contact.objects.filter(campaign=campaign, status__in=Contact.DIALABLE,
                                       time_zone__in=zones_in_window(campaign, client, now))
    if not in_window.exists():  # an idle tick: this query costs nothing anyone waits for
        return f"Waiting: it is outside the calling window ({window}) in every contact's own time now."
    return (f"Nobody to call now: the contacts left are waiting for a retry, a callback's time or their "
            f"window ({window} their time).")


# --- The sweep: attempts a crash or a lost callback left pending ------------------------------

def dialer_sweep(*, now: dt.datetime | None = None) -> int:
    """Settle pending attempts of every client that has campaigns (the beat runs it). Returns
    how many it settled."""
    now = now or timezone.now()
    settled = 0
    for client in Client.objects.exclude(schema_name="public"):
        with schema_context(client.schema_name):
            settled += _sweep_schema(client, now)
    return settled


def _sweep_schema(client: Client, now: dt.datetime) -> int:
    from campaigns.services import outcomes

    settled = 0
    unsent = CallAttempt.objects.filter(outcome=CallAttempt.Outcome.PENDING, twilio_sid="", campaign__isnull=False,
                                        started_at__lt=now - dt.timedelta(seconds=PENDING_WITHOUT_SID_SECONDS))
    for attempt in unsent.select_related("campaign", "contact")[:200]:
        channel = "sms" if attempt.channel == Channel.SMS else "dial"
        body = _merge(attempt.campaign.sms_text, attempt.contact) if channel == "sms" and attempt.contact else ""
        _, account = caller_id_for(attempt.campaign, client, attempt.number)
        try:
            sid = gateway.get().sent_find(channel=channel, to=attempt.number, from_=attempt.caller_id, body=body,
                                          since=attempt.started_at - dt.timedelta(seconds=5), account_sid=account)
        except gateway.GatewayError as exc:
            logger.warning("sweep could not ask about attempt %s: %s", attempt.pk, exc)
            continue
        if sid:
            CallAttempt.objects.filter(pk=attempt.pk, twilio_sid="").update(twilio_sid=sid)
        else:
            outcomes.attempt_not_placed(attempt=attempt)
        settled += 1
    stuck = CallAttempt.objects.filter(outcome=CallAttempt.Outcome.PENDING, campaign__isnull=False,
                                       started_at__lt=now - STUCK_AFTER).exclude(twilio_sid="")
    for attempt in stuck[:200]:
        outcomes.attempt_finished(attempt=attempt, status="failed", detail="No final status was heard from Twilio.")
        settled += 1
    return settled
