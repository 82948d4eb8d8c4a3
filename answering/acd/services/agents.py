"""The agent's side of the ACD: status, taking an offered call (exactly once), declining,
missing an offer, wrap-up, and a console that went away.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live
from answering.acd.models import AgentPresence, CallSession
from answering.acd.services.calls import _client_wrap_up_seconds, call_script_pin
from answering.acd.services.dispatch import _dispatch_soon, acd_dispatch, reoffer_pause_seconds
from answering.acd.services.states import (
    State,
    Status,
    _back_to_queue,
    _missed_offer,
    _push_presence,
    _push_queue,
    _sync_record,
    _transition,
)
from answering.twilio import gateway
from tenants.models import AgentProfile, User


def agent_status_set(*, agent: User, status: str) -> AgentPresence:
    """An agent chooses a status (available, break, offline). Becoming available starts
    the idle clock and may bring an offer at once."""
    if status not in (Status.AVAILABLE, Status.BREAK, Status.OFFLINE):
        raise ValueError(f"Agents choose available, break or offline, not {status}.")
    with transaction.atomic():
        # A first presence starts in the mode the profile allows first (an outbound agent: outbound).
        presence, _ = AgentPresence.objects.select_for_update().get_or_create(
            agent=agent, defaults={"mode": lambda: agent_modes(agent)[0]})  # read only when made
        if CallSession.objects.filter(agent=agent, state=State.WRAP_UP, wrap_up_until__isnull=True).exists():
            # A caller hung up mid-script and the agent's work is not saved: it would be lost
            # (or left in a wrap-up without end) if the agent moved on. Say so instead.
            outbound = CallSession.objects.filter(agent=agent, state=State.WRAP_UP, wrap_up_until__isnull=True,
                                                  direction=CallSession.Direction.OUTBOUND).exists()
            presence.reason = ("Choose how your last call went (its disposition) first." if outbound
                               else "Save the message of the call whose caller hung up first.")
            presence.save(update_fields=["reason"])
            return presence
        if presence.status in (Status.OFFERED, Status.ON_CALL) and status != Status.AVAILABLE:
            # Going on break with an offer pending hands the offer on first.
            _release_offers_of(agent.pk)
        now = timezone.now()
        presence.status = status
        presence.since = now
        presence.reason = "You chose it."
        # A presence made elsewhere (the model's default) or a profile changed since: the
        # mode follows what the profile allows, so the ACD and the dialer read a true one.
        presence.mode = agent_mode(presence, agent_modes(agent))
        if status == Status.AVAILABLE:
            presence.idle_since = now
            presence.missed_offers = 0
        presence.save()
        transaction.on_commit(_dispatch_soon)
    _push_presence(presence)
    return presence


# What each kind of profile may choose in the console, the first being what it starts in.
MODES_ALLOWED = {
    AgentProfile.Mode.INBOUND: ("inbound",),
    AgentProfile.Mode.OUTBOUND: ("outbound",),
    AgentProfile.Mode.BLENDED: ("blended", "inbound", "outbound"),
}


def agent_modes(agent: User) -> tuple[str, ...]:
    """The modes ``agent`` may work in (their profile says): an inbound agent takes inbound
    calls only, an outbound one campaigns only, a blended one may choose any."""
    profile = AgentProfile.objects.filter(user=agent).only("mode").first()
    return MODES_ALLOWED.get(profile.mode if profile else AgentProfile.Mode.INBOUND, ("inbound",))


def agent_mode(presence: AgentPresence | None, allowed: tuple[str, ...]) -> str:
    """The mode the agent works in now: the one they chose, while their profile still allows
    it (a profile changed since falls back to what it allows)."""
    return presence.mode if presence is not None and presence.mode in allowed else allowed[0]


def agent_mode_set(*, agent: User, mode: str) -> AgentPresence:
    """The agent chooses inbound, outbound or blended work, within what their profile allows;
    raises ValueError (with the sentence to show) otherwise. Kept on the presence, so it
    survives reloads and the ACD (inbound offers) and the dialer (outbound lines) read it.
    Idempotent; becoming inbound or blended may bring an inbound offer at once."""
    allowed = agent_modes(agent)
    if mode not in allowed:
        may = " or ".join(allowed)
        raise ValueError(f"Your profile allows {may} work, not {mode}." if mode in ("inbound", "outbound", "blended")
                         else f"{mode!r} is not a mode: choose {may}.")
    with transaction.atomic():
        presence, _ = AgentPresence.objects.select_for_update().get_or_create(agent=agent, defaults={"mode": mode})
        if presence.mode == mode:
            return presence
        presence.mode = mode
        presence.reason = {"inbound": "Inbound calls only.", "outbound": "Campaign calls only.",
                           "blended": "Inbound calls first, campaign calls while nobody waits."}[mode]
        presence.save(update_fields=["mode", "reason"])
        if mode != "outbound" and presence.status == Status.AVAILABLE:
            transaction.on_commit(_dispatch_soon)
        agent_id = agent.pk
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), {"type": "agent", "mode": mode}))
    _push_presence(presence)
    return presence


def _release_offers_of(agent_id: int) -> None:
    for session in CallSession.objects.select_for_update().filter(state=State.OFFERED, offered_to_id=agent_id):
        _back_to_queue(session, passed_over=agent_id)


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
                agent=agent, defaults={"status": Status.ON_CALL, "since": now, "missed_offers": 0,
                                       "reason": f"You took a call for {session.client.name}."})
            session.refresh_from_db()
            _sync_record(session)
            with schema_context(session.client.schema_name):
                call_script_pin(session)  # the script the agent sees is the one this call keeps
            sid, account = session.call_sid, session.account_sid  # the (sub)account that owns the call
            transaction.on_commit(lambda: gateway.get().call_redirect(sid, connect_url(session), account_sid=account))
            # The conditional UPDATE above bypasses _transition: tell queues and supervisors here.
            transaction.on_commit(lambda: _push_queue(session.client))
            transaction.on_commit(lambda: live.push(live.SUPERVISORS_GROUP, {
                "type": "agent", "agent": agent.pk, "status": Status.ON_CALL}))
    except IntegrityError:
        return None  # this agent is already on another live call
    live.push(live.agent_group(agent.pk), {"type": "connected", "call": session.pk, "call_sid": session.call_sid})
    return session


def connect_url(session: CallSession) -> str:
    # Named by this acceptance: a caller connected again after a failed agent leg makes a
    # new request, not a retry answered with the first one's stored answer (the old agent).
    accepted = f"?agent={session.agent_id}&at={int(session.answered_at.timestamp() * 1000)}" if session.answered_at else ""
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/connect/{session.call_sid}{accepted}"


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
        _back_to_queue(session, passed_over=agent.pk)
        now = timezone.now()
        pause = reoffer_pause_seconds()
        AgentPresence.objects.filter(agent=agent).update(
            status=Status.AVAILABLE, since=now,
            reason=f"You declined a call for {session.client.name}: it goes to another agent, or back to you "
                   f"in {pause} s if nobody else can take it.")
        transaction.on_commit(_dispatch_soon)
        _dispatch_after_pause()
    return True


def _dispatch_after_pause() -> None:
    """The agent who passed a call over may be offered it again when the pause is over (if
    nobody else took it): a dispatch then, rather than waiting for the next sweep."""
    from answering.acd import tasks  # the tasks call these services: imported when first needed

    countdown = reoffer_pause_seconds() + 0.5
    transaction.on_commit(lambda: tasks.acd_dispatch_task.apply_async(countdown=countdown))


def offer_expire(*, call_id: int, agent_id: int) -> bool:
    """The offer ran out: back to the queue (same place), on to the next agent. An agent who
    misses ``ACD_MISSED_OFFERS_BEFORE_AWAY`` offers in a row is set away."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().filter(
            pk=call_id, state=State.OFFERED, offered_to_id=agent_id, offer_expires_at__lte=timezone.now()).first()
        if session is None:
            return False  # accepted, declined or already moved on
        _back_to_queue(session, passed_over=agent_id)
        presence = _missed_offer(agent_id, f"You missed a call for {session.client.name}")
        transaction.on_commit(_dispatch_soon)
        _dispatch_after_pause()
    _push_presence(presence)
    live.push(live.agent_group(agent_id), {"type": "offer_withdrawn", "call": call_id})
    return True


def wrap_up_start(*, session_id: int) -> bool:
    """The agent's work on a call whose caller hung up mid-script is saved: the wrap-up
    countdown, which waited for it (``calls._caller_gone``), starts now."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().select_related("client").filter(
            pk=session_id, state=State.WRAP_UP, wrap_up_until__isnull=True).first()
        if session is None:
            return False
        wrap = _client_wrap_up_seconds(session.client)
        _transition(session, State.WRAP_UP, wrap_up_until=timezone.now() + timedelta(seconds=wrap))
        AgentPresence.objects.filter(agent_id=session.agent_id, status=Status.WRAP_UP).update(
            reason=f"Saved. Wrap-up: {wrap} s, then you are available again.")
        _schedule_wrap_up_end(session.pk, wrap)
    return True


def _schedule_wrap_up_end(session_id: int, wrap: int) -> None:
    from answering.acd import tasks  # the tasks call these services: imported when first needed

    transaction.on_commit(lambda: tasks.wrap_up_end_task.apply_async((session_id,), countdown=wrap))


def wrap_up_end(*, session_id: int) -> bool:
    """Wrap-up time is over: the call is complete and the agent idle again. A wrap-up waiting
    for the agent's work (no ``wrap_up_until``) does not end here."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().filter(
            pk=session_id, state=State.WRAP_UP, wrap_up_until__lte=timezone.now()).first()
        if session is None:
            return False
        _transition(session, State.COMPLETED)
        now = timezone.now()
        AgentPresence.objects.filter(agent_id=session.agent_id, status=Status.WRAP_UP).update(
            status=Status.AVAILABLE, since=now, idle_since=now, reason="Wrap-up over.")
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
        presence.reason = "Set to away: your console was closed or lost its connection."
        presence.save(update_fields=["status", "since", "reason"])
        transaction.on_commit(_dispatch_soon)
    _push_presence(presence)
    return True
