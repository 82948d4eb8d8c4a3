"""The ACD's state machine: the allowed moves of a call, and what every move does besides.

Every change of a call's state goes through ``_transition``, which knows the allowed moves
(``ALLOWED``), keeps the client's call record in step and tells who watches. The helpers
here are shared by the caller's side, the agent's side and the dispatcher.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from answering import live
from answering.acd import sql
from answering.acd.models import ENDED_STATES, AgentPresence, CallSession
from answering.acd.selectors import queue_snapshot
from tenants.models import Client

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


class TransitionRefused(Exception):
    """A move the state machine does not allow (e.g. a late callback trying to go backwards)."""


def _transition(session: CallSession, to: str, *, record_after_commit: bool = False, **fields) -> CallSession:
    """Move a call to ``to`` if the state machine allows it, and mirror it in the call record
    (in the same transaction; or, with ``record_after_commit``, right after it — for the offer,
    whose push should not wait on a write to another schema. Every later transition rewrites
    the whole record from the session, so a record written late is never left wrong)."""
    if to != session.state and to not in ALLOWED[session.state]:
        raise TransitionRefused(f"{session.call_sid}: {session.state} → {to} is not allowed")
    was_over = session.state in ENDED_STATES and session.ended_at is not None
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
    if not was_over and to in ENDED_STATES and session.ended_at:  # the record's final outcome: call.completed
        from webhooks import events

        events.call_completed(session.client, _record_fields(session))
    _announce(session)
    return session


def _back_to_queue(session: CallSession, *, passed_over: int, **fields) -> CallSession:
    """An offered or connected call goes back to the queue (keeping its place, ``queued_at``),
    and the agent it leaves (``passed_over``) comes last for it from now on."""
    return _transition(session, State.QUEUED, offered_to=None, offer_expires_at=None,
                       passed_over=sorted({*session.passed_over, passed_over}), passed_over_at=timezone.now(),
                       **fields)


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


def _presence_set(agent_id: int | None, status: str, reason: str = "") -> None:
    if agent_id:
        now = timezone.now()
        fields = {"status": status, "since": now, "reason": reason}
        if status == Status.AVAILABLE:
            fields["idle_since"] = now
        AgentPresence.objects.filter(agent_id=agent_id).update(**fields)


def _missed_offer(agent_id: int, what: str = "Missed an offer") -> AgentPresence:
    """Count a missed offer (``what`` says which, in words); the last one allowed sets the
    agent away, and the reason says so."""
    presence = AgentPresence.objects.select_for_update().get(agent_id=agent_id)
    presence.missed_offers += 1
    now = timezone.now()
    limit = settings.ACD_MISSED_OFFERS_BEFORE_AWAY
    if presence.missed_offers >= limit:
        presence.status = Status.AWAY
        presence.reason = f"Set to away: {presence.missed_offers} offers missed. Press 1 when you are back."
    else:
        presence.status = Status.AVAILABLE
        presence.reason = f"{what} ({presence.missed_offers} of {limit} before you are set away)."
    presence.since = now
    presence.save(update_fields=["missed_offers", "status", "since", "reason"])
    return presence


def _push_presence(presence: AgentPresence) -> None:
    live.push(live.SUPERVISORS_GROUP, {"type": "agent", "agent": presence.agent_id, "status": presence.status})


OUTCOME_BY_STATE = {
    State.COMPLETED: "answered", State.WRAP_UP: "answered", State.CONNECTED: "in_progress",
    State.ABANDONED: "abandoned", State.VOICEMAIL: "voicemail", State.TRANSFERRED: "transferred",
    State.FAILED: "failed",
}


def _sync_record(session: CallSession) -> None:
    """Mirror the live session into the client's call record (its own schema)."""
    fields = _record_fields(session)
    sql.record_upsert(session.client.schema_name, fields, [name for name in fields if name != "call_sid"])


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
        "caller_hung_up": session.caller_hung_up,
        "hold_seconds": _hold_seconds(session, ended),
    }


def _hold_seconds(session: CallSession, ended) -> int | None:
    """The caller's time on hold (``controls._hold`` counts it in the conference's state),
    a hold still running counted to the end of the call; None when never held."""
    conf = session.conference or {}
    if not conf.get("hold_seconds") and not conf.get("held_since"):
        return None
    seconds = float(conf.get("hold_seconds", 0))
    if conf.get("held_since") and ended:
        seconds += max(0.0, (ended - datetime.fromisoformat(conf["held_since"])).total_seconds())
    return round(seconds)
