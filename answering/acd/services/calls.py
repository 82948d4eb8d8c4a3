"""The caller's side of the ACD: a call arrives, moves through the menu, waits in the queue,
leaves a voicemail or is transferred, and ends when Twilio says the caller has gone.

Races are settled by PostgreSQL, not by Python: see ``answering.acd.services``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live
from answering.acd import sql
from answering.acd.models import ENDED_STATES, CallSession, TwilioRequest
from answering.acd.services.dispatch import _dispatch_soon
from answering.acd.services.states import (
    State,
    Status,
    _announce,
    _back_to_queue,
    _missed_offer,
    _presence_set,
    _record_fields,
    _sync_record,
    _transition,
)
from answering.models import CallRecord, Message, ScriptVersion
from answering.scripts.selectors import script_for_call
from answering.selectors import answering_settings_get
from switchboard import db
from tenants.models import Client

logger = logging.getLogger(__name__)


def call_new(*, call_sid: str, client: Client, from_number: str, to_number: str, account_sid: str = "",
             direction: str = CallSession.Direction.INBOUND, from_city: str = "", from_state: str = "") -> CallSession:
    """A call Twilio has just announced, held in memory: its first answer (``ivr.call_start``)
    moves it through this module's services like any call, and ``call_arrive`` then writes
    it in the state that answer left it — the whole first webhook in one statement."""
    return CallSession(call_sid=call_sid, client=client, from_number=from_number, to_number=to_number,
                       account_sid=account_sid, direction=direction, language=client.languages[0],
                       from_city=(from_city or "")[:64], from_state=(from_state or "")[:32])


def call_arrive(*, session: CallSession, reply: str, request_key: str, path: str) -> str:
    """Write a new call, its client's call record and the answer Twilio gets, in one statement
    (one round trip; outside a transaction it commits by itself). Returns the answer to send:
    a retried webhook gets the answer it got the first time and writes nothing twice.

    The answer is claimed first (``ON CONFLICT DO NOTHING``), and the call and its record are
    only inserted when the claim is new: a copy of the request arriving meanwhile waits on the
    claim's row, then finds it taken and reads the stored answer.

    A call left in the menu (nearly every call) commits without waiting for the disk
    (``synchronous_commit`` off for this one transaction, unless ARRIVAL_SYNCHRONOUS_COMMIT):
    waiting for the flush was 7–11% of the machine's work per webhook (docs/figures.md).
    Only a crash of the database server itself within that moment (a fraction of a second)
    can lose such an arrival, and nothing depends on it: the caller's next webhook, which
    names the call, the caller and the number as every webhook does, writes the call again
    (``call_recover``). A call sent straight to the queue or to voicemail waits, as every
    later change of every call does."""
    session_columns, session_values = sql.insert_values(CallSession, vars(session))
    record_columns, record_values = sql.insert_values(CallRecord, _record_fields(session))
    wait_for_disk = session.state != State.IN_MENU or settings.ARRIVAL_SYNCHRONOUS_COMMIT
    statement = sql.arrival_sql(session.client.schema_name, session_columns, record_columns, wait_for_disk)
    claimed, session_id = db.fetchone_prepared(statement, [request_key, path[:200], reply, *session_values, *record_values])[:2]
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


def call_to_voicemail(*, session: CallSession, menu_choice: str = "") -> CallSession:
    if session.state == State.VOICEMAIL:
        return session
    offered_to = session.offered_to_id if session.state == State.OFFERED else None
    session = _transition(session, State.VOICEMAIL, offered_to=None, offer_expires_at=None,
                          menu_choice=menu_choice or session.menu_choice)
    if offered_to:
        _presence_set(offered_to, Status.AVAILABLE, "The caller went to voicemail before you answered.")
    return session


def call_transfer(*, session: CallSession, menu_choice: str = "") -> CallSession:
    if session.state == State.TRANSFERRED:
        return session
    return _transition(session, State.TRANSFERRED, menu_choice=menu_choice or session.menu_choice)


# Twilio's CallStatus values in the order a call lives them; the last five are final.
TWILIO_STATUS_ORDER = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3,
                       "completed": 4, "busy": 4, "failed": 4, "no-answer": 4, "canceled": 4}
FINAL_TWILIO_STATUSES = frozenset(status for status, rank in TWILIO_STATUS_ORDER.items() if rank == 4)


def call_status_update(*, session: CallSession, status: str, sequence: int | None) -> CallSession:
    """Apply a Twilio status callback. Late, repeated or out-of-order callbacks
    (by ``SequenceNumber``) change nothing; a call never moves backwards.

    A final status (the caller's leg has ended) is never replaced: Twilio sends nothing after
    it but copies and stragglers, and a straggler without a ``SequenceNumber`` cannot be put
    in order by it. Such a callback only moves the status forward in the order a call lives
    it (ringing, then in-progress, then a final one). A status Twilio does not send is
    ignored, with a log line."""
    if status not in TWILIO_STATUS_ORDER:
        logger.warning("status callback for %s with an unknown CallStatus %r ignored", session.call_sid, status[:40])
        return session
    with transaction.atomic():
        locked = CallSession.objects.select_for_update().get(pk=session.pk)
        if sequence is not None and sequence <= locked.last_sequence:
            return locked
        if locked.twilio_status in FINAL_TWILIO_STATUSES or (
                sequence is None and TWILIO_STATUS_ORDER[status] < TWILIO_STATUS_ORDER.get(locked.twilio_status, -1)):
            logger.info("status %s (sequence %s) for %s after %s: kept %s", status, sequence, locked.call_sid,
                        locked.twilio_status, locked.twilio_status)
            return locked
        CallSession.objects.filter(pk=locked.pk).update(
            last_sequence=sequence if sequence is not None else locked.last_sequence, twilio_status=status)
        locked.twilio_status = status
        if status in FINAL_TWILIO_STATUSES:
            locked = _caller_gone(locked, failed=status in ("failed",))
        return locked


def _appointment_holds_release(session: CallSession) -> None:
    """A slot held for a caller who hung up is free for everyone at once, not in five minutes."""
    from answering.scripts.appointments import call_holds_release  # calendars sit above the ACD

    with schema_context(session.client.schema_name):
        call_holds_release(session=session, by="the caller hung up")


def _caller_gone(session: CallSession, *, failed: bool = False) -> CallSession:
    """The caller's leg ended: close the call according to where it was."""
    now = timezone.now()
    if session.state in (State.QUEUED, State.OFFERED):
        offered_to = session.offered_to_id if session.state == State.OFFERED else None
        session = _transition(session, State.ABANDONED, ended_at=now, offered_to=None, offer_expires_at=None)
        if offered_to:
            _presence_set(offered_to, Status.AVAILABLE, "The caller hung up before you answered.")
        _abandoned_followup(session, now)
    elif session.state == State.CONNECTED:
        wrap = _client_wrap_up_seconds(session.client)
        hung_up, work_owed = _agent_work_left(session)
        _appointment_holds_release(session)
        if work_owed:
            # The caller hung up mid-script: the wrap-up waits (no end time) until the agent
            # saves what was taken (``wrap_up_start``); nothing is lost to a countdown.
            session = _transition(session, State.WRAP_UP, ended_at=now, wrap_up_until=None, caller_hung_up=True)
            _presence_set(session.agent_id, Status.WRAP_UP,
                          "The call ended — choose how it went." if session.direction == CallSession.Direction.OUTBOUND
                          else "Caller hung up — finish and save the message.")
        else:
            session = _transition(session, State.WRAP_UP, ended_at=now, wrap_up_until=now + timedelta(seconds=wrap),
                                  caller_hung_up=hung_up)
            _presence_set(session.agent_id, Status.WRAP_UP,
                          "Caller hung up." if hung_up else f"Call ended. Wrap-up: {wrap} s.")
            from answering.acd import tasks  # the tasks call these services: imported when first needed

            session_id = session.pk
            transaction.on_commit(lambda: tasks.wrap_up_end_task.apply_async((session_id,), countdown=wrap))
    elif session.state in (State.RINGING, State.IN_MENU):
        session = _transition(session, State.FAILED if failed else State.COMPLETED, ended_at=now)
    elif session.state in (State.VOICEMAIL, State.TRANSFERRED) and not session.ended_at:
        session = _transition(session, session.state, ended_at=now)  # final state: only the time is new
    return session


def _abandoned_followup(session: CallSession, now) -> None:
    """A caller who hung up in the queue is called back (the client's setting decides), after
    the commit: the follow-up is the campaigns' business, not a reason to fail this one."""
    waited = int((now - (session.queued_at or session.arrived_at)).total_seconds())
    schema, sid, caller = session.client.schema_name, session.call_sid, session.from_number

    def create():
        from campaigns.services.followups import abandoned_caller_followup

        try:
            abandoned_caller_followup(schema=schema, call_sid=sid, caller=caller, waited_seconds=waited)
        except Exception:
            logger.exception("no follow-up for the abandoned call %s", sid)

    transaction.on_commit(create)


def _agent_work_left(session: CallSession) -> tuple[bool, bool]:
    """When a connected caller's leg ends: did the caller hang up before the agent finished
    (no disposition yet), and is a script's message still owed (a script guides the call and
    nothing is saved)? Read in the client's schema. For a campaign's call, the work owed is
    its disposition: the wrap-up waits for it (the contact's next step depends on it)."""
    if session.direction == CallSession.Direction.OUTBOUND and session.attempt_id:
        from campaigns.models import CallAttempt  # campaigns builds on the ACD, not the reverse

        with schema_context(session.client.schema_name):
            done = CallAttempt.objects.filter(pk=session.attempt_id, disposition__isnull=False).exists()
        return not done, not done
    with schema_context(session.client.schema_name):
        finished = CallRecord.objects.filter(call_sid=session.call_sid).exclude(disposition="").exists()
        if finished:
            return False, False
        saved = Message.objects.filter(call_sid=session.call_sid).exists()
    return True, bool(session.script_version_id) and not saved


def _client_wrap_up_seconds(client: Client) -> int:
    with schema_context(client.schema_name):
        settings_row = answering_settings_get()
    return settings_row.wrap_up_seconds if settings_row else 30


def agent_leg_failed(*, session: CallSession, dial_status: str) -> CallSession:
    """The agent's leg did not connect (busy, no answer, failed, dropped): the caller goes
    back to the head of the queue and the agent counts a missed offer."""
    with transaction.atomic():
        locked = CallSession.objects.select_for_update().get(pk=session.pk)
        if locked.state != State.CONNECTED:
            return locked
        agent_id, call_id = locked.agent_id, locked.pk
        locked = _back_to_queue(locked, passed_over=agent_id, agent=None, answered_at=None)
        _missed_offer(agent_id, f"The call did not reach your phone ({dial_status or 'no answer'}): "
                                "the caller is back in the queue")
        transaction.on_commit(_dispatch_soon)
        # The call is no longer the agent's (``agent`` is cleared, so ``_announce`` does not
        # reach them): their screen must drop it, not show “on the phone” for a queued caller.
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), {"type": "call_changed", "call": call_id}))
    logger.info("agent leg of %s ended %s; caller back at the head of the queue", session.call_sid, dial_status)
    return locked


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


def call_script_pin(session: CallSession) -> ScriptVersion | None:
    """The script version this call is guided by, fixed on the call the first time it is
    asked for (so editing the script mid-call changes nothing for this call). In the
    client's schema."""
    if session.script_version_id:
        return ScriptVersion.objects.filter(pk=session.script_version_id).first()
    version = script_for_call(menu_choice=session.menu_choice)
    if version is not None:
        CallSession.objects.filter(pk=session.pk, script_version_id__isnull=True).update(script_version_id=version.pk)
        session.script_version_id = version.pk
    return version
