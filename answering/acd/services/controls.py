"""The agent's call controls, over the call's conference: hold, hang up, transfer, patch.

When an agent takes a call, the caller joins a conference named after their CallSid
(``gateway.conference_name``) and the agent's leg — their browser, ``client:agent-N``, or
their phone — is dialed into it. Every control is then a conference-participant command
through the gateway, on the (sub)account that owns the call (``session.account_sid``).

What the conference holds lives in ``CallSession.conference``: its SID (from Twilio's
conference callback), the agent's leg, the hold, and a ``third`` party being brought in —
a number (transfer) or the client's on-call person (patch), warm (the agent speaks to them
while the caller holds, then joins them) or blind. The outcome of a patch or transfer goes
on the message's timeline (``DeliveryEvent``), or waits on the call until the message is
saved (``timeline_flush``).

The simulated browser phone (``phone_register``, ``phone_answer``) is the simulator's
stand-in for Twilio's Voice SDK signalling: the console's simulated device says it is
registered, and answers the agent leg the simulator rings.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live
from answering.acd.models import AgentPresence, CallSession
from answering.acd.services.calls import _client_wrap_up_seconds, agent_leg_failed
from answering.acd.services.states import State, Status, _presence_set, _transition
from answering.twilio import gateway
from switchboard.redis_clients import redis_client
from tenants.models import User
from tenants.phone import to_e164

logger = logging.getLogger(__name__)

CONTROL_ACTIONS = frozenset({"controls", "hold", "resume", "hangup", "transfer", "transfer_complete",
                             "transfer_cancel", "phone_register", "phone_unregister", "phone_answer"})
FAILED_LEG = {"no-answer", "busy", "failed", "canceled"}
SIM_DEVICE = "sim:device:{identity}"  # a simulated browser phone is registered (a TTL'd key)
SIM_ANSWER = "sim:answer:{leg}"  # the simulated phone answered this leg (the simulator waits on it)


class ControlRefused(Exception):
    """A control the call cannot take now (no conference yet, nothing to complete...)."""


def agent_identity(agent_id: int) -> str:
    return f"agent-{agent_id}"


def _url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/{path}"


def _save(session: CallSession) -> None:
    CallSession.objects.filter(pk=session.pk).update(conference=session.conference)


def _push(session: CallSession) -> None:
    """The agent's console learns the conference's new state (the phone's controls)."""
    if session.agent_id:
        payload = controls_state(session)
        agent_id = session.agent_id
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), payload))


def _locked(call_id: int, agent: User) -> CallSession:
    session = (CallSession.objects.select_for_update().select_related("client")
               .filter(pk=call_id, agent=agent, state=State.CONNECTED).first())
    if session is None:
        raise ControlRefused("That call is not connected to you.")
    return session


# --- The agent's leg --------------------------------------------------------------------------

def agent_leg_dial(session: CallSession) -> None:
    """Dial the agent who accepted into the caller's conference: their browser phone, or the
    phone number set on their presence. Called after the commit that connected the caller."""
    presence = AgentPresence.objects.filter(agent_id=session.agent_id).first()
    to = presence.phone_number if presence and presence.phone_number else f"client:{agent_identity(session.agent_id)}"
    try:
        leg = gateway.get().participant_add(
            conference=gateway.conference_name(session.call_sid), to=to, from_=session.to_number, label="agent",
            status_callback=_url(f"leg/{session.call_sid}?leg=agent"), account_sid=session.account_sid)
    except gateway.GatewayError as exc:
        logger.warning("the agent leg of %s could not be dialed: %s", session.call_sid, exc)
        leg_status(call_sid=session.call_sid, leg="agent", leg_sid="", status="failed")
        return
    with transaction.atomic():
        locked = CallSession.objects.select_for_update().get(pk=session.pk)
        locked.conference = {**locked.conference, "agent_leg": leg.sid, "agent_joined": False, "held": False}
        _save(locked)
        _push(locked)


def leg_status(*, call_sid: str, leg: str, leg_sid: str, status: str) -> None:
    """A leg of the conference (the agent's, or the third party's) rang, answered or ended."""
    redirect_to_queue = end_caller = False
    with transaction.atomic():
        session = CallSession.objects.select_for_update().select_related("client").filter(call_sid=call_sid).first()
        if session is None:
            return
        conf = dict(session.conference)
        if leg == "third" and leg_sid and leg_sid == conf.get("agent_leg"):
            leg = "agent"  # a colleague's leg that took the call over keeps the callback it was dialed with
        if leg == "agent":
            if leg_sid and conf.get("agent_leg") not in (None, leg_sid):
                return  # an earlier agent's leg (the call went back to the queue since)
            if status in ("in-progress", "answered"):
                conf["agent_joined"] = conf["agent_answered"] = True
            elif status in FAILED_LEG or (status == "completed" and not conf.get("agent_answered")):
                if session.state == State.CONNECTED:
                    session.conference = {}
                    _save(session)
                    session = agent_leg_failed(session=session, dial_status=status)
                    redirect_to_queue = session.state == State.QUEUED
                conf = {}
            elif status == "completed":
                conf["agent_joined"] = False
                third = conf.get("third") or {}
                # The agent left: the call is over, unless they handed the caller to someone.
                end_caller = session.state == State.CONNECTED and third.get("state") != "joined"
        elif leg == "third":
            third = dict(conf.get("third") or {})
            if not third or (leg_sid and third.get("leg") not in (None, "", leg_sid)):
                return
            if status == "ringing":
                third["state"] = "ringing"
            elif status in ("in-progress", "answered"):
                third["state"] = "talking"
                if not third.get("warm"):
                    conf["third"] = third
                    session.conference = conf
                    try:
                        _hand_over(session)
                        return
                    except ControlRefused as exc:
                        gateway.get().participant_remove(conference_sid=conf["sid"], call_sid=third["leg"],
                                                         account_sid=session.account_sid)
                        _outcome(session, conf, third, "busy", str(exc))
                        _colleague_told(third)
                        _hold(session, conf, False)
                        third = {}
            elif status in FAILED_LEG or status == "completed":
                if third.get("state") == "joined":
                    # The person the caller was patched to hung up: the caller is alone, so end it.
                    end_caller = True
                    third["state"] = "ended"
                else:
                    outcome = ("caller hung up" if conf.get("caller_left")
                               else "declined" if third.get("state") == "talking" else "no answer")
                    _outcome(session, conf, third, outcome, f"{status}")
                    _colleague_told(third)
                    if conf.get("held") and session.state == State.CONNECTED:
                        _hold(session, conf, False)
                    third = {}
            conf["third"] = third
        if "agent_leg" in conf or "third" in conf:
            session.conference = conf
            _save(session)
            _push(session)
        sid, account = session.call_sid, session.account_sid
        if redirect_to_queue:
            transaction.on_commit(lambda: gateway.get().call_redirect(sid, _url(f"requeue/{sid}"), account_sid=account))
        if end_caller:
            transaction.on_commit(lambda: _end_quietly(sid, account))


def _end_quietly(call_sid: str, account_sid: str) -> None:
    try:
        gateway.get().call_end(call_sid, account_sid=account_sid)
    except gateway.GatewayError as exc:  # already over, most likely
        logger.info("ending %s: %s", call_sid, exc)


def conference_event(*, call_sid: str, conference_sid: str, event: str, participant: str = "",
                     participant_call_sid: str = "") -> None:
    """Twilio's conference callback: the conference's SID is what participant commands need;
    the caller leaving ends it (so a third party dropped then did not decline)."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().filter(call_sid=call_sid).first()
        if session is None or not conference_sid:
            return
        conf = dict(session.conference)
        if event == "participant-leave" and participant_call_sid == call_sid:
            conf["caller_left"] = True
        elif event == "participant-join" and participant_call_sid == call_sid:
            conf = {k: v for k, v in conf.items() if k != "caller_left"}  # a conference of its own
        if conf.get("sid") != conference_sid:
            conf["sid"] = conference_sid
        if conf != session.conference:
            session.conference = conf
            _save(session)
            _push(session)
    logger.info("conference %s of %s: %s %s", conference_sid, call_sid, event, participant)


# --- Hold, hang up ----------------------------------------------------------------------------

def _hold(session: CallSession, conf: dict, hold: bool) -> None:
    if not conf.get("sid"):
        raise ControlRefused("The call is still connecting: try again in a moment.")
    gateway.get().participant_hold(conference_sid=conf["sid"], call_sid=session.call_sid, hold=hold,
                                   hold_url=_url(f"hold-music/{session.call_sid}") if hold else "",
                                   account_sid=session.account_sid)
    # The time on hold is counted as it goes (``held_since`` while held, ``hold_seconds`` done):
    # the call record keeps the total, which billing plans may count or not.
    now = timezone.now()
    if hold and not conf.get("held"):
        conf["held_since"] = now.isoformat()
    elif not hold and conf.get("held_since"):
        since = datetime.fromisoformat(conf.pop("held_since"))
        conf["hold_seconds"] = conf.get("hold_seconds", 0) + max(0.0, (now - since).total_seconds())
    conf["held"] = hold
    session.conference = conf


def call_hold(*, call_id: int, agent: User, hold: bool) -> CallSession:
    """Put the caller on hold (they hear the client's hold audio) or take them off it."""
    with transaction.atomic():
        session = _locked(call_id, agent)
        _hold(session, dict(session.conference), hold)
        _save(session)
        _push(session)
    return session


def call_hangup(*, call_id: int, agent: User) -> None:
    """The agent ends the call: the caller's leg ends, the conference with it, and the
    status callback moves the call to wrap-up as any hang-up does."""
    session = CallSession.objects.filter(pk=call_id, agent=agent, state=State.CONNECTED).first()
    if session is None:
        raise ControlRefused("That call is not connected to you.")
    gateway.get().call_end(session.call_sid, account_sid=session.account_sid)


# --- Transfers and patches --------------------------------------------------------------------

def on_call_now(session: CallSession) -> list[dict]:
    """Who is on call now for the call's client, team by team (name and number)."""
    from answering.models import Team
    from answering.oncall.selectors import on_call_at

    people = []
    with schema_context(session.client.schema_name):
        for team in Team.objects.all():
            person = on_call_at(team=team, at=timezone.now(), time_zone=session.client.time_zone).person
            if person is not None:
                number = str(person.phone or person.mobile or "")
                people.append({"team": team.name, "person": person.pk, "name": person.name, "number": number})
    return people


def call_transfer_start(*, call_id: int, agent: User, to: str = "", person: int | None = None,
                        to_agent: int | None = None, warm: bool = True) -> CallSession:
    """Bring a third party into the call: a number (a transfer) or the client's on-call person
    (a patch, by ``person``). Warm: the caller holds while the agent announces them, then the
    agent joins them (``call_transfer_complete``). Blind: the caller holds until they answer,
    then is theirs."""
    with transaction.atomic():
        session = _locked(call_id, agent)
        conf = dict(session.conference)
        if (conf.get("third") or {}).get("state") in ("dialing", "ringing", "talking"):
            raise ControlRefused("Someone is already being brought into this call.")
        if to_agent is not None:
            colleague = next((a for a in agents_available(session) if a["agent"] == to_agent), None)
            if colleague is None:
                raise ControlRefused("That agent is not available for this client now.")
            kind, name, number = "agent", colleague["name"], colleague["dial"]
        elif person is not None:
            match = next((p for p in on_call_now(session) if p["person"] == person), None)
            if match is None or not match["number"]:
                raise ControlRefused("That person is not on call now, or has no number.")
            kind, name, number = "patch", match["name"], match["number"]
        else:
            try:
                number = to_e164(to)
            except ValidationError:
                raise ControlRefused(f"{to!r} is not a phone number.") from None
            kind, name = "transfer", number
        if not conf.get("held"):
            _hold(session, conf, True)
        leg = gateway.get().participant_add(
            conference=conf["sid"], to=number, from_=session.to_number, label="third",
            status_callback=_url(f"leg/{session.call_sid}?leg=third"), account_sid=session.account_sid, timeout=25)
        conf["third"] = {"leg": leg.sid, "to": number, "name": name, "kind": kind, "warm": bool(warm),
                         "state": "dialing", "agent": to_agent}
        session.conference = conf
        _save(session)
        _push(session)
        if to_agent is not None:
            # The colleague's console says who is calling them, and their phone rings.
            ring = {"type": "transfer_ringing", "leg": leg.sid, "from_agent": str(agent), "client": session.client.name,
                    "caller": session.from_number, "warm": bool(warm)}
            transaction.on_commit(lambda: live.push(live.agent_group(to_agent), ring))
    return session


def agents_available(session: CallSession) -> list[dict]:
    """The other agents who could take this call now: available, serving its client and
    language. ``dial`` is what a transfer dials (their browser phone, or their number)."""
    from tenants.models import AgentProfile

    found = []
    for presence in (AgentPresence.objects.filter(status=Status.AVAILABLE).exclude(agent_id=session.agent_id)
                     .select_related("agent").order_by("idle_since")):
        profile = AgentProfile.objects.filter(user=presence.agent).first()
        if presence.agent.is_active and profile and profile.serves(session.client, session.language):
            found.append({"agent": presence.agent_id, "name": str(presence.agent),
                          "dial": presence.phone_number or f"client:{agent_identity(presence.agent_id)}"})
    return found


def call_transfer_complete(*, call_id: int, agent: User) -> CallSession:
    """Warm: the third party has heard who is calling; the caller joins them, the agent leaves."""
    with transaction.atomic():
        session = _locked(call_id, agent)
        if (session.conference.get("third") or {}).get("state") != "talking":
            raise ControlRefused("Nobody has answered yet.")
        _hand_over(session)
    return session


def call_transfer_cancel(*, call_id: int, agent: User) -> CallSession:
    """The agent gives up on the third party: their leg ends, the caller is back with the agent."""
    with transaction.atomic():
        session = _locked(call_id, agent)
        conf = dict(session.conference)
        third = conf.get("third") or {}
        if not third.get("leg"):
            raise ControlRefused("Nobody is being brought in.")
        gateway.get().participant_remove(conference_sid=conf["sid"], call_sid=third["leg"],
                                         account_sid=session.account_sid)
        _outcome(session, conf, third, "cancelled", "by the agent")
        _colleague_told(third)
        conf["third"] = {}
        if conf.get("held"):
            _hold(session, conf, False)
        session.conference = conf
        _save(session)
        _push(session)
    return session


def _hand_over(session: CallSession) -> None:
    """The caller is theirs now: off hold, the agent's leg out of the conference, the agent
    into wrap-up (the caller's call goes on without them) — or, for a colleague, the call
    becomes theirs. Raises ControlRefused (before any command) when the colleague is busy."""
    conf = dict(session.conference)
    third = dict(conf["third"], state="joined")
    now = timezone.now()
    if third["kind"] == "agent":
        # The colleague must still be free (they may have taken another call while it rang).
        taken = AgentPresence.objects.filter(agent_id=third["agent"], status=Status.AVAILABLE).update(
            status=Status.ON_CALL, since=now, reason=f"Transferred to you by {session.agent}.")
        if not taken:
            raise ControlRefused(f"{third['name']} took another call meanwhile.")
    conf["third"] = third
    _hold(session, conf, False)
    if conf.get("agent_leg"):
        gateway.get().participant_remove(conference_sid=conf["sid"], call_sid=conf["agent_leg"],
                                         account_sid=session.account_sid)
    conf["agent_joined"] = False
    if third["kind"] == "agent":
        _to_colleague(session, conf, third)
        return
    _outcome(session, conf, third, "patched" if third["kind"] == "patch" else "transferred", "")
    session.conference = conf
    _save(session)
    _push(session)
    _agent_released(session, f"{'Patched' if third['kind'] == 'patch' else 'Transferred'} to {third['name']}.")


def _colleague_told(third: dict) -> None:
    """A transfer to a colleague is off (cancelled, unanswered, the caller gone): their console stops ringing."""
    if third.get("kind") == "agent" and third.get("agent"):
        agent_id, leg = third["agent"], third.get("leg", "")
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), {"type": "transfer_ended", "leg": leg}))


def _to_colleague(session: CallSession, conf: dict, third: dict) -> None:
    """The call becomes the colleague's: their leg is the agent's leg now, their console shows
    the call and its script where it stands; the agent who transferred it is free at once."""
    from answering.acd.services.states import _push_presence, _sync_record

    now = timezone.now()
    before, call_id = session.agent_id, session.pk
    _outcome(session, conf, third, "transferred", "")
    conf.update(agent_leg=third["leg"], agent_joined=True, agent_answered=True, third={})
    CallSession.objects.filter(pk=session.pk).update(agent_id=third["agent"], conference=conf)
    session.agent_id, session.conference = third["agent"], conf
    _sync_record(session)
    AgentPresence.objects.filter(agent_id=before).update(status=Status.AVAILABLE, since=now, idle_since=now,
                                                         reason=f"Transferred to {third['name']}.")
    for agent_id in (before, third["agent"]):
        presence = AgentPresence.objects.get(agent_id=agent_id)
        transaction.on_commit(lambda p=presence: _push_presence(p))
        transaction.on_commit(lambda a=agent_id: live.push(live.agent_group(a), {"type": "call_changed",
                                                                                 "call": call_id}))
    _push(session)
    from answering.acd.services.dispatch import _dispatch_soon

    transaction.on_commit(_dispatch_soon)  # the agent who transferred it is free for the next caller


def _agent_released(session: CallSession, why: str) -> None:
    """The agent's part of a call that goes on without them is over: wrap-up, which waits
    while a script's message is still owed (as when a caller hangs up mid-script)."""
    from answering.models import Message

    now = timezone.now()
    with schema_context(session.client.schema_name):
        saved = Message.objects.filter(call_sid=session.call_sid).exists()
    owed = bool(session.script_version_id) and not saved
    wrap = _client_wrap_up_seconds(session.client)
    _transition(session, State.WRAP_UP, ended_at=now, wrap_up_until=None if owed else now + timedelta(seconds=wrap))
    _presence_set(session.agent_id, Status.WRAP_UP, why + (" Save the message." if owed else f" Wrap-up: {wrap} s."))
    if not owed:
        from answering.acd import tasks

        session_id = session.pk
        transaction.on_commit(lambda: tasks.wrap_up_end_task.apply_async((session_id,), countdown=wrap))


# --- The timeline ------------------------------------------------------------------------------

TIMELINE_STATUS = {"patched": "patched", "transferred": "transferred", "no answer": "patch no answer",
                   "declined": "patch declined", "cancelled": "patch cancelled",
                   "caller hung up": "patch caller hung up", "busy": "patch busy"}


def _outcome(session: CallSession, conf: dict, third: dict, outcome: str, detail: str) -> None:
    """A patch's or transfer's outcome, on the message's timeline (or kept in ``conf``, the
    call's conference as the caller saves it, until the message is saved)."""
    what = "patch to" if third.get("kind") == "patch" else "transfer to"
    status = TIMELINE_STATUS[outcome] if third.get("kind") == "patch" else f"transfer {outcome}"[:24]
    if outcome in ("patched", "transferred"):
        status = outcome
    text = f"{what.capitalize()} {third.get('name')} ({third.get('to')}): {outcome}" + (f" ({detail})" if detail else "")
    event = {"status": status, "detail": text[:300], "at": timezone.now().isoformat()}
    if outcome == "patched" and third.get("kind") == "patch":
        # The on-call person has spoken to the caller: that is their acknowledgement, so the
        # escalation stops (no texts to them about the call they just took, no owner woken).
        event["acknowledged_by"] = third.get("name") or third.get("to") or "the on-call person"
    if not _timeline_write(session, [event]):
        conf["events"] = [*conf.get("events", []), event]


def _timeline_write(session: CallSession, events: list[dict]) -> bool:
    # Imported here: answering.messages imports the ACD's models, so the ACD imports it late.
    from answering.messages.acknowledge import message_acknowledge
    from answering.models import DeliveryEvent, Message

    with schema_context(session.client.schema_name):
        message = Message.objects.filter(call_sid=session.call_sid).order_by("-pk").first()
        if message is None:
            return False
        for event in events:
            DeliveryEvent.objects.create(message=message, status=event["status"], detail=event["detail"])
            if event.get("acknowledged_by"):
                message_acknowledge(message=message, by=event["acknowledged_by"], via="patch", client=session.client)
    return True


def timeline_flush(session: CallSession) -> None:
    """The call's message is saved: the outcomes kept on the call go on its timeline."""
    session = CallSession.objects.filter(pk=session.pk).first()
    events = (session.conference or {}).get("events") if session else None
    if events and _timeline_write(session, events):
        session.conference = {k: v for k, v in session.conference.items() if k != "events"}
        _save(session)


# --- The console's view of the controls --------------------------------------------------------

def controls_state(session: CallSession) -> dict:
    conf = session.conference or {}
    third = conf.get("third") or {}
    return {"type": "controls", "call": session.pk, "connected": session.state == State.CONNECTED,
            "ready": bool(conf.get("sid")), "agent_joined": bool(conf.get("agent_joined")),
            "held": bool(conf.get("held")), "agent_leg": conf.get("agent_leg", ""),
            "third": {k: third.get(k) for k in ("name", "to", "kind", "warm", "state")} if third else None}


# --- The simulated browser phone ----------------------------------------------------------------

def phone_register(*, agent: User, on: bool) -> None:
    key = SIM_DEVICE.format(identity=agent_identity(agent.pk))
    if on:
        redis_client(timeout=2).set(key, "1", ex=90)
    else:
        redis_client(timeout=2).delete(key)


def phone_answer(*, agent: User, leg: str) -> None:
    """The simulated browser phone answered the leg the simulator is ringing: the agent's leg
    of their call, or a colleague's transfer to them."""
    from django.db.models import Q

    session = CallSession.objects.filter(Q(agent=agent, conference__agent_leg=leg)
                                         | Q(conference__third__leg=leg, conference__third__agent=agent.pk)).first()
    if session is None:
        raise ControlRefused("No such call is ringing for you.")
    key = SIM_ANSWER.format(leg=leg)
    client = redis_client(timeout=2)
    client.rpush(key, json.dumps({"answered": True}))
    client.expire(key, 120)


# --- The console's actions ----------------------------------------------------------------------

def call_control(*, agent: User, content: dict) -> dict | None:
    """One of the console's CONTROL_ACTIONS (answering/consumers.py): the reply for the console."""
    action = content.get("action")
    try:
        if action == "phone_register":
            if settings.TWILIO_MODE == "simulate":
                phone_register(agent=agent, on=True)
            return None
        if action == "phone_unregister":
            if settings.TWILIO_MODE == "simulate":
                phone_register(agent=agent, on=False)
            return None
        if action == "phone_answer":
            phone_answer(agent=agent, leg=str(content.get("leg", "")))
            return None
        call_id = int(content.get("call") or 0)
        if action == "hangup":
            call_hangup(call_id=call_id, agent=agent)
            return None
        if action in ("hold", "resume"):
            session = call_hold(call_id=call_id, agent=agent, hold=action == "hold")
        elif action == "transfer":
            person, to_agent = content.get("person"), content.get("agent")
            session = call_transfer_start(call_id=call_id, agent=agent, to=str(content.get("to") or ""),
                                          person=int(person) if person not in (None, "") else None,
                                          to_agent=int(to_agent) if to_agent not in (None, "") else None,
                                          warm=bool(content.get("warm", True)))
        elif action == "transfer_complete":
            session = call_transfer_complete(call_id=call_id, agent=agent)
        elif action == "transfer_cancel":
            session = call_transfer_cancel(call_id=call_id, agent=agent)
        else:
            session = CallSession.objects.select_related("client").filter(pk=call_id, agent=agent).first()
            if session is None:
                return {"type": "controls", "call": None}
        return {**controls_state(session), "on_call": on_call_now(session),
                "agents": [{"agent": a["agent"], "name": a["name"]} for a in agents_available(session)]}
    except (ControlRefused, gateway.GatewayError) as exc:
        return {"type": "error", "message": str(exc)}
    except (TypeError, ValueError):
        return {"type": "error", "message": "That control needs a call."}
