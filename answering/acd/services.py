"""The ACD: calls in flight, their states, and who answers them.

Every change of a call's state goes through ``_transition``, which knows the allowed
moves (``ALLOWED``) and keeps the client's call record in step. Races are settled by
PostgreSQL, not by Python: conditional UPDATEs (``... WHERE state = 'offered' AND
offered_to = me``) and partial unique indexes (one live call per agent) make each
assignment happen exactly once, however many agents click at the same instant.
"""

from __future__ import annotations

import enum
import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from answering import live
from answering.acd.models import ENDED_STATES, LIVE_STATES, AgentPresence, CallSession  # noqa: F401
from switchboard import db
from tenants.models import AgentProfile, Client, User

logger = logging.getLogger(__name__)
State = CallSession.State
Status = AgentPresence.Status

ALLOWED: dict[str, set[str]] = {
    State.RINGING: {State.IN_MENU, State.QUEUED, State.VOICEMAIL, State.TRANSFERRED, State.COMPLETED, State.FAILED},
    State.IN_MENU: {State.QUEUED, State.VOICEMAIL, State.TRANSFERRED, State.COMPLETED, State.FAILED},
    State.QUEUED: {State.OFFERED, State.CONNECTED, State.ABANDONED, State.VOICEMAIL, State.FAILED},
    State.OFFERED: {State.QUEUED, State.CONNECTED, State.ABANDONED, State.VOICEMAIL, State.FAILED},
    State.CONNECTED: {State.QUEUED, State.WRAP_UP, State.COMPLETED, State.TRANSFERRED, State.FAILED},
    State.WRAP_UP: {State.COMPLETED},
    State.COMPLETED: set(),
    State.ABANDONED: set(),
    State.VOICEMAIL: set(),
    State.TRANSFERRED: set(),
    State.FAILED: set(),
}


# pg_advisory_xact_lock key held by acd_dispatch: an arbitrary constant, unique in this database.
DISPATCH_LOCK = 0x5B0A4D01


class TransitionRefused(Exception):
    """A move the state machine does not allow (e.g. a late callback trying to go backwards)."""


# --- Arrival and the caller's path ----------------------------------------------------

def call_new(*, call_sid: str, client: Client, from_number: str, to_number: str, account_sid: str = "",
             direction: str = CallSession.Direction.INBOUND) -> CallSession:
    """A call Twilio has just announced, held in memory: its first answer (``ivr.call_start``)
    moves it through this module's services like any call, and ``call_arrive`` then writes
    it in the state that answer left it — the whole first webhook in one statement."""
    return CallSession(call_sid=call_sid, client=client, from_number=from_number, to_number=to_number,
                       account_sid=account_sid, direction=direction, language=client.languages[0])


def call_arrive(*, session: CallSession, reply: str, request_key: str, path: str) -> str:
    """Write a new call, its client's call record and the answer Twilio gets, in one statement
    (one round trip; outside a transaction it commits by itself). Returns the answer to send:
    a retried webhook gets the answer it got the first time and writes nothing twice.

    The answer is claimed first (``ON CONFLICT DO NOTHING``), and the call and its record are
    only inserted when the claim is new: a copy of the request arriving meanwhile waits on the
    claim's row, then finds it taken and reads the stored answer.

    A call left in the menu (nearly every call) commits without waiting for the disk
    (``synchronous_commit`` off for this one transaction, unless ARRIVAL_SYNCHRONOUS_COMMIT):
    waiting for the flush was 7–11% of the machine's work per webhook (README, "Figures").
    Only a crash of the database server itself within that moment (a fraction of a second)
    can lose such an arrival, and nothing depends on it: the caller's next webhook, which
    names the call, the caller and the number as every webhook does, writes the call again
    (``call_recover``). A call sent straight to the queue or to voicemail waits, as every
    later change of every call does."""
    from answering.acd.models import TwilioRequest
    from answering.models import CallRecord

    session_columns, session_values = _insert_values(CallSession, vars(session))
    record_columns, record_values = _insert_values(CallRecord, _record_fields(session))
    wait_for_disk = session.state != State.IN_MENU or settings.ARRIVAL_SYNCHRONOUS_COMMIT
    sql = _arrival_sql(session.client.schema_name, session_columns, record_columns, wait_for_disk)
    claimed, session_id = db.fetchone_prepared(sql, [request_key, path[:200], reply, *session_values, *record_values])[:2]
    if not claimed:
        logger.info("retried Twilio request %s answered from the record", path)
        return TwilioRequest.objects.values_list("body", flat=True).get(key=request_key)
    if session_id is None:
        # The same CallSid with other parameters (not a retry, which repeats them all):
        # the call already exists and keeps its state; the caller hears its flow again.
        logger.warning("call %s announced twice with different parameters", session.call_sid)
        return reply
    session.pk = session_id
    session._state.adding = False
    if session.state == State.QUEUED:
        transaction.on_commit(_dispatch_soon)
    _announce(session)
    return reply


def call_recover(*, call_sid: str, client: Client, from_number: str, to_number: str,
                 account_sid: str = "") -> CallSession:
    """A call the caller is in the menu of but the database does not know: its arrival, which
    commits without waiting for the disk (``call_arrive``), was lost to a crash of the
    database server. Written again from what the caller's webhook says, in the menu (its
    arrival time is now: the true one went with the crash); a copy of the same webhook
    racing this one finds the call written and uses it."""
    session = call_new(call_sid=call_sid, client=client, from_number=from_number, to_number=to_number,
                       account_sid=account_sid)
    call_enter_menu(session=session)
    try:
        with transaction.atomic():
            session.save(force_insert=True)
            _sync_record(session)
    except IntegrityError:
        return CallSession.objects.select_related("client").get(call_sid=call_sid)
    logger.warning("call %s to %s was not known (its arrival was lost): written again, in the menu",
                   call_sid, to_number)
    return session


@functools.cache
def _arrival_sql(schema: str, session_columns: tuple[str, ...], record_columns: tuple[str, ...],
                 wait_for_disk: bool = True) -> str:
    from answering.acd.models import TwilioRequest
    from answering.models import CallRecord

    # Every table named with its schema: db.fetchone_prepared leaves the search_path alone.
    quote = connection.ops.quote_name
    public = quote(get_public_schema_name())
    return (
        f"WITH answer AS (INSERT INTO {public}.{quote(TwilioRequest._meta.db_table)} "
        "(key, path, status, content_type, body, created) "
        "VALUES (%s, %s, 200, 'text/xml', %s, now()) ON CONFLICT (key) DO NOTHING RETURNING key), "
        f"call AS (INSERT INTO {public}.{quote(CallSession._meta.db_table)} ({', '.join(session_columns)}) "
        f"SELECT {', '.join(['%s'] * len(session_columns))} FROM answer ON CONFLICT (call_sid) DO NOTHING RETURNING id), "
        f"record AS (INSERT INTO {quote(schema)}.{quote(CallRecord._meta.db_table)} ({', '.join(record_columns)}) "
        f"SELECT {', '.join(['%s'] * len(record_columns))} FROM call ON CONFLICT (call_sid) DO NOTHING) "
        "SELECT (SELECT key FROM answer), (SELECT id FROM call)"
        # set_config(..., true): for this statement's own transaction only.
        + ("" if wait_for_disk else ", set_config('synchronous_commit', 'off', true) IS NULL"))


# Field types (exactly these: a subclass may convert, like PhoneNumberField) whose database
# value is the attribute itself — a str, int, bool, aware datetime or None. An arrival
# writes some forty columns, and Django's conversion chain per field was a tenth of the
# webhook's Python.
_PLAIN_FIELDS = frozenset({models.CharField, models.TextField, models.BooleanField, models.DateTimeField,
                           models.IntegerField, models.SmallIntegerField, models.BigIntegerField,
                           models.PositiveIntegerField, models.PositiveSmallIntegerField, models.ForeignKey})


@functools.cache
def _insertable(model) -> tuple[tuple[str, ...], tuple]:
    """The quoted columns of ``model`` a hand-written INSERT names (not its serial key), and
    for each its field, its attribute name, and whether its value goes in as it is."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    return (tuple(connection.ops.quote_name(f.column) for f in fields),
            tuple((f, f.attname, type(f) in _PLAIN_FIELDS) for f in fields))


def _insert_values(model, values: dict) -> tuple[tuple[str, ...], list]:
    """Columns and database values for a hand-written INSERT of a ``model`` row: ``values``
    by attribute name (``agent_id``), the field's default for the others."""
    columns, fields = _insertable(model)
    database = connections[DEFAULT_DB_ALIAS]  # resolved once, not once per field through the proxy
    row = []
    for field, attname, plain in fields:
        value = values[attname] if attname in values else field.get_default()
        if not plain:
            value = field.get_db_prep_save(value, database)
        elif isinstance(value, enum.Enum):
            value = value.value  # a choices member (State.QUEUED): its plain str or int
        row.append(value)
    return columns, row


def call_enter_menu(*, session: CallSession, language: str | None = None) -> CallSession:
    fields = {"language": language} if language else {}
    if session.state == State.RINGING:
        return _transition(session, State.IN_MENU, **fields)
    if fields:
        if not session._state.adding:
            CallSession.objects.filter(pk=session.pk).update(**fields)
        session.language = language
    return session


def call_note_menu_attempt(*, session: CallSession) -> int:
    """Count an invalid menu entry; returns how many the caller has made."""
    CallSession.objects.filter(pk=session.pk).update(menu_attempts=F("menu_attempts") + 1)
    session.refresh_from_db(fields=["menu_attempts"])
    return session.menu_attempts


def call_enqueue(*, session: CallSession, priority: int, menu_choice: str = "", record: bool = False) -> CallSession:
    """Put the caller in the queue. Idempotent; a caller returning from a failed agent leg
    keeps their original ``queued_at`` and so goes back to the head of the queue."""
    if session.state in (State.QUEUED, State.OFFERED):
        return session
    if not session._state.adding:  # a call not yet written is dispatched by call_arrive
        # Registered first so it runs first after the commit: the offer to an agent matters
        # more than redrawing every console's queue panel.
        transaction.on_commit(_dispatch_soon)
    session = _transition(
        session, State.QUEUED, priority=priority, menu_choice=menu_choice or session.menu_choice,
        record=record, queued_at=session.queued_at or timezone.now(), agent=None,
    )
    return session


def call_to_voicemail(*, session: CallSession) -> CallSession:
    if session.state == State.VOICEMAIL:
        return session
    offered_to = session.offered_to_id if session.state == State.OFFERED else None
    session = _transition(session, State.VOICEMAIL, offered_to=None, offer_expires_at=None)
    if offered_to:
        _presence_set(offered_to, Status.AVAILABLE)
    return session


def call_transfer(*, session: CallSession, menu_choice: str = "") -> CallSession:
    if session.state == State.TRANSFERRED:
        return session
    return _transition(session, State.TRANSFERRED, menu_choice=menu_choice or session.menu_choice)


def call_status_update(*, session: CallSession, status: str, sequence: int | None) -> CallSession:
    """Apply a Twilio status callback. Late, repeated or out-of-order callbacks
    (by ``SequenceNumber``) change nothing; a call never moves backwards."""
    with transaction.atomic():
        locked = CallSession.objects.select_for_update().get(pk=session.pk)
        if sequence is not None and sequence <= locked.last_sequence:
            return locked
        CallSession.objects.filter(pk=locked.pk).update(
            last_sequence=sequence if sequence is not None else locked.last_sequence, twilio_status=status)
        locked.twilio_status = status
        if status in ("completed", "busy", "failed", "no-answer", "canceled"):
            locked = _caller_gone(locked, failed=status in ("failed",))
        return locked


def _caller_gone(session: CallSession, *, failed: bool = False) -> CallSession:
    """The caller's leg ended: close the call according to where it was."""
    now = timezone.now()
    if session.state in (State.QUEUED, State.OFFERED):
        offered_to = session.offered_to_id if session.state == State.OFFERED else None
        session = _transition(session, State.ABANDONED, ended_at=now, offered_to=None, offer_expires_at=None)
        if offered_to:
            _presence_set(offered_to, Status.AVAILABLE)
    elif session.state == State.CONNECTED:
        wrap = _client_wrap_up_seconds(session.client)
        session = _transition(session, State.WRAP_UP, ended_at=now, wrap_up_until=now + timedelta(seconds=wrap))
        _presence_set(session.agent_id, Status.WRAP_UP)
        from answering import tasks

        session_id = session.pk
        transaction.on_commit(lambda: tasks.wrap_up_end.apply_async((session_id,), countdown=wrap))
    elif session.state in (State.RINGING, State.IN_MENU):
        session = _transition(session, State.FAILED if failed else State.COMPLETED, ended_at=now)
    elif session.state in (State.VOICEMAIL, State.TRANSFERRED) and not session.ended_at:
        session = _transition(session, session.state, ended_at=now)  # final state: only the time is new
    return session


# --- Agents ------------------------------------------------------------------------------

def agent_status_set(*, agent: User, status: str) -> AgentPresence:
    """An agent chooses a status (available, break, offline). Becoming available starts
    the idle clock and may bring an offer at once."""
    if status not in (Status.AVAILABLE, Status.BREAK, Status.OFFLINE):
        raise ValueError(f"Agents choose available, break or offline, not {status}.")
    with transaction.atomic():
        presence, _ = AgentPresence.objects.select_for_update().get_or_create(agent=agent)
        if presence.status in (Status.OFFERED, Status.ON_CALL) and status != Status.AVAILABLE:
            # Going on break with an offer pending hands the offer on first.
            _release_offers_of(agent.pk)
        now = timezone.now()
        presence.status = status
        presence.since = now
        if status == Status.AVAILABLE:
            presence.idle_since = now
            presence.missed_offers = 0
        presence.save()
        transaction.on_commit(_dispatch_soon)
    _push_presence(presence)
    return presence


def _release_offers_of(agent_id: int) -> None:
    for session in CallSession.objects.select_for_update().filter(state=State.OFFERED, offered_to_id=agent_id):
        _transition(session, State.QUEUED, offered_to=None, offer_expires_at=None,
                    passed_over=sorted({*session.passed_over, agent_id}))


def eligible_agents(session: CallSession):
    """Available agents who serve this client and speak the call's language, longest idle
    first; agents this call already passed over come last."""
    passed = session.passed_over or [-1]
    return (
        AgentPresence.objects.filter(
            status=Status.AVAILABLE,
            agent__is_active=True,
            agent__agent_profile__clients=session.client_id,
            agent__agent_profile__languages__contains=[session.language],
            agent__agent_profile__mode__in=[AgentProfile.Mode.INBOUND, AgentProfile.Mode.BLENDED],
        )
        .annotate(passed=Case(When(agent_id__in=passed, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("passed", "idle_since", "agent__agent_profile__priority", "agent_id")
    )


def acd_dispatch() -> list[CallSession]:
    """Offer waiting calls to agents: highest priority first, then longest waiting; each to
    the longest-idle eligible agent. Safe to run from many processes at once: dispatchers
    take turns (a transaction-level advisory lock, held for a few milliseconds), so two
    never offer the same call or agent, and none misses what another just committed."""
    offered: list[CallSession] = []
    timeout = settings.ACD_OFFER_TIMEOUT_SECONDS
    with transaction.atomic():
        # One dispatcher at a time, each reading what the one before it committed. Without
        # this, a dispatch run for an agent who just became available skipped (SKIP LOCKED)
        # the call another dispatch held while finding no agent for it: both ended, and the
        # caller waited with the agent idle until the sweep.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCH_LOCK])
        waiting = (CallSession.objects.select_for_update(of=("self",)).select_related("client")
                   .filter(state=State.QUEUED).order_by("-priority", "queued_at", "pk")[:100])
        for session in waiting:
            presence = (eligible_agents(session).select_for_update(skip_locked=True, of=("self",)).first())
            if presence is None:
                continue
            now = timezone.now()
            # The offer's push is registered before the transition's queue push, so the
            # agent's screen hears first.
            transaction.on_commit(lambda s=session: live.push(live.agent_group(s.offered_to_id), offer_payload(s)))
            session = _transition(session, State.OFFERED, offered_to_id=presence.agent_id, offered_at=now,
                                  offer_expires_at=now + timedelta(seconds=timeout), record_after_commit=True)
            AgentPresence.objects.filter(pk=presence.pk).update(status=Status.OFFERED, since=now)
            offered.append(session)
        for session in offered:
            _schedule_offer_expiry(session, timeout)
    return offered


def _schedule_offer_expiry(session: CallSession, timeout: int) -> None:
    from answering import tasks

    args = (session.pk, session.offered_to_id)
    transaction.on_commit(lambda: tasks.offer_expire.apply_async(args, countdown=timeout))


def offer_payload(session: CallSession) -> dict:
    return {
        "type": "offer", "call": session.pk, "call_sid": session.call_sid, "client": session.client.name,
        "client_slug": session.client.schema_name, "caller": session.from_number, "language": session.language,
        "priority": session.get_priority_display(), "waited": round(session.wait_seconds()),
        "expires_at": session.offer_expires_at.isoformat() if session.offer_expires_at else None,
    }


def call_accept(*, call_id: int, agent: User) -> CallSession | None:
    """An agent takes a call: the one offered to them, or one still waiting in a queue they
    serve. Exactly once: the UPDATE only matches while the call is still theirs to take,
    and the database allows an agent one live call. Returns None when someone else won."""
    session = CallSession.objects.select_related("client").filter(pk=call_id).first()
    if session is None or not _serves(agent, session):
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            taken = (CallSession.objects.filter(pk=call_id)
                     .filter(Q(state=State.OFFERED, offered_to=agent) | Q(state=State.QUEUED))
                     .update(state=State.CONNECTED, agent=agent, answered_at=now, offered_to=None,
                             offer_expires_at=None))
            if not taken:
                return None
            AgentPresence.objects.update_or_create(
                agent=agent, defaults={"status": Status.ON_CALL, "since": now, "missed_offers": 0})
            session.refresh_from_db()
            _sync_record(session)
            from answering import gateway

            sid = session.call_sid
            transaction.on_commit(lambda: gateway.get().call_redirect(sid, connect_url(session)))
            # The conditional UPDATE above bypasses _transition: tell queues and supervisors here.
            transaction.on_commit(lambda: _push_queue(session.client))
            transaction.on_commit(lambda: live.push(live.SUPERVISORS_GROUP, {
                "type": "agent", "agent": agent.pk, "status": Status.ON_CALL}))
    except IntegrityError:
        return None  # this agent is already on another live call
    live.push(live.agent_group(agent.pk), {"type": "connected", "call": session.pk, "call_sid": session.call_sid})
    return session


def connect_url(session: CallSession) -> str:
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/connect/{session.call_sid}"


def _serves(agent: User, session: CallSession) -> bool:
    profile = AgentProfile.objects.filter(user=agent).first()
    return bool(agent.is_active and profile and profile.serves(session.client, session.language))


def call_decline(*, call_id: int, agent: User) -> bool:
    """The offered agent says no: the call goes to the next agent at once."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().filter(
            pk=call_id, state=State.OFFERED, offered_to=agent).first()
        if session is None:
            return False
        _transition(session, State.QUEUED, offered_to=None, offer_expires_at=None,
                    passed_over=sorted({*session.passed_over, agent.pk}))
        now = timezone.now()
        AgentPresence.objects.filter(agent=agent).update(status=Status.AVAILABLE, since=now)
        transaction.on_commit(_dispatch_soon)
    return True


def offer_expire(*, call_id: int, agent_id: int) -> bool:
    """The offer ran out: back to the queue (same place), on to the next agent. An agent who
    misses ``ACD_MISSED_OFFERS_BEFORE_AWAY`` offers in a row is set away."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().filter(
            pk=call_id, state=State.OFFERED, offered_to_id=agent_id, offer_expires_at__lte=timezone.now()).first()
        if session is None:
            return False  # accepted, declined or already moved on
        _transition(session, State.QUEUED, offered_to=None, offer_expires_at=None,
                    passed_over=sorted({*session.passed_over, agent_id}))
        _missed_offer(agent_id)
        transaction.on_commit(_dispatch_soon)
    live.push(live.agent_group(agent_id), {"type": "offer_withdrawn", "call": call_id})
    return True


def _missed_offer(agent_id: int) -> None:
    presence = AgentPresence.objects.select_for_update().get(agent_id=agent_id)
    presence.missed_offers += 1
    now = timezone.now()
    presence.status = Status.AWAY if presence.missed_offers >= settings.ACD_MISSED_OFFERS_BEFORE_AWAY else Status.AVAILABLE
    presence.since = now
    presence.save(update_fields=["missed_offers", "status", "since"])


def agent_leg_failed(*, session: CallSession, dial_status: str) -> CallSession:
    """The agent's leg did not connect (busy, no answer, failed, dropped): the caller goes
    back to the head of the queue and the agent counts a missed offer."""
    with transaction.atomic():
        locked = CallSession.objects.select_for_update().get(pk=session.pk)
        if locked.state != State.CONNECTED:
            return locked
        agent_id = locked.agent_id
        locked = _transition(locked, State.QUEUED, agent=None, answered_at=None,
                             passed_over=sorted({*locked.passed_over, agent_id}))
        _missed_offer(agent_id)
        transaction.on_commit(_dispatch_soon)
    logger.info("agent leg of %s ended %s; caller back at the head of the queue", session.call_sid, dial_status)
    return locked


def wrap_up_end(*, session_id: int) -> bool:
    """Wrap-up time is over: the call is complete and the agent idle again."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().filter(
            pk=session_id, state=State.WRAP_UP, wrap_up_until__lte=timezone.now()).first()
        if session is None:
            return False
        _transition(session, State.COMPLETED)
        now = timezone.now()
        AgentPresence.objects.filter(agent_id=session.agent_id, status=Status.WRAP_UP).update(
            status=Status.AVAILABLE, since=now, idle_since=now)
        transaction.on_commit(_dispatch_soon)
    return True


def acd_sweep() -> dict[str, int]:
    """The safety net behind every countdown (a worker may die holding one): expire
    overdue offers, end overdue wrap-ups, then dispatch."""
    now = timezone.now()
    expired = sum(offer_expire(call_id=pk, agent_id=agent) for pk, agent in CallSession.objects.filter(
        state=State.OFFERED, offer_expires_at__lte=now).values_list("pk", "offered_to_id"))
    wrapped = sum(wrap_up_end(session_id=pk) for pk in CallSession.objects.filter(
        state=State.WRAP_UP, wrap_up_until__lte=now).values_list("pk", flat=True))
    offered = len(acd_dispatch())
    return {"expired": expired, "wrapped": wrapped, "offered": offered}


def call_sessions_prune(*, batch: int = 5000) -> int:
    """Delete calls ended more than ACD_SESSION_RETENTION_DAYS ago from the live table, whose
    every index every new call writes (the client's call record keeps each call). In batches,
    each its own short transaction: an hour's backlog never holds locks for long. Returns how
    many went."""
    cutoff = timezone.now() - timedelta(days=settings.ACD_SESSION_RETENTION_DAYS)
    old = CallSession.objects.filter(Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, arrived_at__lt=cutoff),
                                     state__in=ENDED_STATES)
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        deleted += CallSession.objects.filter(pk__in=ids).delete()[0]
    return deleted


# --- Internals -------------------------------------------------------------------------

def _transition(session: CallSession, to: str, *, record_after_commit: bool = False, **fields) -> CallSession:
    """Move a call to ``to`` if the state machine allows it, and mirror it in the call record
    (in the same transaction; or, with ``record_after_commit``, right after it — for the offer,
    whose push should not wait on a write to another schema. Every later transition rewrites
    the whole record from the session, so a record written late is never left wrong)."""
    if to != session.state and to not in ALLOWED[session.state]:
        raise TransitionRefused(f"{session.call_sid}: {session.state} → {to} is not allowed")
    fields["state"] = to
    for name, value in fields.items():
        setattr(session, name, value)
    if session._state.adding:
        return session  # not written yet: call_arrive writes it as it is now, and announces it
    CallSession.objects.filter(pk=session.pk).update(**fields)
    if to == State.IN_MENU:
        pass  # the record already shows the call arriving; the menu adds nothing to it
    elif record_after_commit:
        transaction.on_commit(lambda: _sync_record(session))
    else:
        _sync_record(session)
    _announce(session)
    return session


def _announce(session: CallSession) -> None:
    """After the commit, tell who watches: queue panels and wallboards when the queue changed,
    the agent's screen when it is their call (caller hung up, transferred, wrap-up over)."""
    if session.state in ENDED_STATES or session.state in (State.QUEUED, State.OFFERED, State.CONNECTED, State.WRAP_UP):
        transaction.on_commit(lambda: _push_queue(session.client))
    if session.agent_id:
        agent_id, call_id = session.agent_id, session.pk
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), {"type": "call_changed", "call": call_id}))


def _push_queue(client: Client) -> None:
    """The client's queue, computed once and pushed whole: every console serving the client
    redraws from the message itself, with no database work per console. Changes close
    together share one push (``live.push_soon``), computed when it goes."""
    live.push_soon(f"queue:{client.schema_name}", lambda: (
        live.client_queue_group(client.schema_name), {"type": "queue", **queue_snapshot(client)}))


def _dispatch_soon() -> None:
    """Offer waiting calls now, right after the commit that made a call or an agent ready:
    in this process, because a hop through the broker adds tens of milliseconds to every
    offer. If that fails, a worker tries (and the periodic sweep after it)."""
    try:
        acd_dispatch()
    except Exception:
        logger.exception("dispatch after commit failed; handing it to a worker")
        from answering import tasks

        try:
            tasks.acd_dispatch.delay()
        except Exception:  # the broker is down too: the periodic sweep will dispatch
            logger.exception("could not enqueue a dispatch; the sweep will catch up")


def _presence_set(agent_id: int | None, status: str) -> None:
    if agent_id:
        now = timezone.now()
        fields = {"status": status, "since": now}
        if status == Status.AVAILABLE:
            fields["idle_since"] = now
        AgentPresence.objects.filter(agent_id=agent_id).update(**fields)


def _push_presence(presence: AgentPresence) -> None:
    live.push(live.SUPERVISORS_GROUP, {"type": "agent", "agent": presence.agent_id, "status": presence.status})


def _client_wrap_up_seconds(client: Client) -> int:
    from answering.selectors import answering_settings_get

    with schema_context(client.schema_name):
        settings_row = answering_settings_get()
    return settings_row.wrap_up_seconds if settings_row else 30


OUTCOME_BY_STATE = {
    State.COMPLETED: "answered", State.WRAP_UP: "answered", State.CONNECTED: "in_progress",
    State.ABANDONED: "abandoned", State.VOICEMAIL: "voicemail", State.TRANSFERRED: "transferred",
    State.FAILED: "failed",
}


def _sync_record(session: CallSession) -> None:
    """Mirror the live session into the client's call record (its own schema)."""
    fields = _record_fields(session)
    _record_upsert(session.client.schema_name, fields, [name for name in fields if name != "call_sid"])


def _record_fields(session: CallSession) -> dict:
    """The client's call record of ``session``, as it stands now."""
    outcome = OUTCOME_BY_STATE.get(session.state, "in_progress")
    if session.state == State.COMPLETED and not session.answered_at:
        outcome = "information"  # hung up in the menu, or heard an information message
    ended = session.ended_at
    wrap_end = session.wrap_up_until if session.state == State.COMPLETED else None
    return {
        "call_sid": session.call_sid,
        "caller": session.from_number, "number_dialed": session.to_number, "language": session.language,
        "menu_choice": session.menu_choice, "priority": session.priority, "arrived_at": session.arrived_at,
        "queued_at": session.queued_at, "offered_at": session.offered_at, "answered_at": session.answered_at,
        "ended_at": ended, "agent_id": session.agent_id, "outcome": outcome,
        "wait_seconds": round(session.wait_seconds()) if session.queued_at and (session.answered_at or ended) else None,
        "talk_seconds": round((ended - session.answered_at).total_seconds()) if ended and session.answered_at else None,
        "wrap_up_seconds": round((min(wrap_end, timezone.now()) - ended).total_seconds()) if wrap_end and ended else None,
    }


def _record_upsert(schema: str, fields: dict, update_fields: list[str]) -> None:
    """INSERT ... ON CONFLICT (call_sid) DO UPDATE into the client's table, named with its
    schema: one round trip. (Through the ORM this needs the connection's search_path moved
    to the client's schema and back — two more round trips on every move of every call.)"""
    from answering.models import CallRecord

    quote = connection.ops.quote_name
    columns, values = _insert_values(CallRecord, fields)
    updates = [quote(CallRecord._meta.get_field(name).column) for name in update_fields]
    sql = (f"INSERT INTO {quote(schema)}.{quote(CallRecord._meta.db_table)} ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(values))}) ON CONFLICT (call_sid) DO UPDATE SET "
           + ", ".join(f"{column} = EXCLUDED.{column}" for column in updates))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def queue_snapshot(client: Client) -> dict:
    """Calls waiting for one client, for consoles and wallboards."""
    now = timezone.now()
    waiting = list(CallSession.objects.filter(client=client, state__in=[State.QUEUED, State.OFFERED])
                   .order_by("-priority", "queued_at"))
    return {"client": client.schema_name, "name": client.name, "waiting": len(waiting),
            "longest_wait": round(max((s.wait_seconds(now) for s in waiting), default=0)),
            "calls": [{"call": s.pk, "caller": s.from_number, "priority": s.get_priority_display(),
                       "language": s.language, "waited": round(s.wait_seconds(now)), "state": s.state}
                      for s in waiting]}



def agent_console_lost(*, agent_id: int) -> bool:
    """The agent's console has been gone past the grace period: nobody is there to take
    calls, so the agent is away and a pending offer moves on at once."""
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().filter(
            agent_id=agent_id, status__in=[Status.AVAILABLE, Status.OFFERED]).first()
        if presence is None:
            return False  # on a call, in wrap-up, on break or offline: leave them be
        _release_offers_of(agent_id)
        presence.status = Status.AWAY
        presence.since = timezone.now()
        presence.save(update_fields=["status", "since"])
        transaction.on_commit(_dispatch_soon)
    _push_presence(presence)
    return True
