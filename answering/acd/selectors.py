"""Reads of the ACD for agents' consoles and supervisors: what an agent's screen shows."""

from __future__ import annotations

from dataclasses import asdict

from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.models import CallRecord, Message, ScriptVersion
from answering.scripts.rendering import ScriptContext, script_render
from answering.scripts.selectors import script_for_call
from answering.selectors import answering_settings_get, knowledge_fact_list
from tenants.models import AgentProfile, Client, User

State = CallSession.State


def call_by_sid(call_sid: str) -> CallSession | None:
    """The call Twilio names, with its client (every webhook reads the client's flow)."""
    return CallSession.objects.select_related("client").filter(call_sid=call_sid).first()


def agent_clients(agent: User) -> list[Client]:
    profile = AgentProfile.objects.filter(user=agent).first()
    return list(profile.clients.order_by("name")) if profile else []


def agent_snapshot(agent: User) -> dict:
    """Everything an agent's console needs, whole: sent on every (re)connect so that no
    screen depends on a push it might have missed."""
    now = timezone.now()
    presence = AgentPresence.objects.filter(agent=agent).first()
    offer = CallSession.objects.select_related("client").filter(state=State.OFFERED, offered_to=agent).first()
    current = (CallSession.objects.select_related("client")
               .filter(agent=agent, state__in=[State.CONNECTED, State.WRAP_UP]).order_by("-answered_at").first())
    return {
        "agent": {"id": agent.pk, "name": str(agent), "first_name": agent.first_name},
        "status": presence.status if presence else AgentPresence.Status.OFFLINE,
        "since": (presence.since if presence else now).isoformat(),
        "offer": offer_payload(offer) if offer else None,
        "call": call_screen(current, agent) if current else None,
        "queues": [queue_snapshot(client) for client in agent_clients(agent)],
    }


def call_screen(session: CallSession, agent: User) -> dict:
    """The screen pop: whose phone this is, what to say, who is calling, what to know."""
    client = session.client
    with schema_context(client.schema_name):
        settings_row = answering_settings_get()
        history = list(CallRecord.objects.filter(caller=session.from_number).exclude(call_sid=session.call_sid)
                       .order_by("-arrived_at")[:5])
        knowledge = [{"title": f.title, "body": f.body} for f in knowledge_fact_list()]
        script = _script_for(session, agent)
        message = Message.objects.filter(call_sid=session.call_sid).values("pk", "urgency", "category").first()
    greeting = (settings_row.greeting if settings_row else f"Thank you for calling {client.name}.")
    return {
        "call": session.pk, "call_sid": session.call_sid, "state": session.state,
        "client": {"name": client.name, "slug": client.schema_name, "time_zone": client.time_zone},
        "caller": session.from_number, "language": session.language, "menu_choice": session.menu_choice,
        "priority": session.get_priority_display(),
        "greeting": greeting.replace("{agent_first_name}", agent.first_name).replace("{client_name}", client.name),
        "answered_at": session.answered_at.isoformat() if session.answered_at else None,
        "wrap_up_until": session.wrap_up_until.isoformat() if session.wrap_up_until else None,
        "history": [{"when": r.arrived_at.isoformat(), "outcome": r.outcome, "menu_choice": r.menu_choice}
                    for r in history],
        "knowledge": knowledge,
        "script": script,
        "message": message,
    }


def _script_for(session: CallSession, agent: User) -> dict | None:
    # The version the call was pinned to when the agent took it (``acd.call_script_pin``);
    # a call taken before any script claimed it shows the one it would be pinned to now.
    version = (ScriptVersion.objects.filter(pk=session.script_version_id).first() if session.script_version_id
               else script_for_call(menu_choice=session.menu_choice))
    if version is None:
        return None
    client = session.client
    rendered = script_render(version=version, language=session.language, context=ScriptContext(
        client_name=client.name, time_zone=client.time_zone, caller_number=session.from_number,
        agent_first_name=agent.first_name))
    return asdict(rendered)


def offer_payload(session: CallSession) -> dict:
    return {
        "type": "offer", "call": session.pk, "call_sid": session.call_sid, "client": session.client.name,
        "client_slug": session.client.schema_name, "caller": session.from_number, "language": session.language,
        "priority": session.get_priority_display(), "waited": round(session.wait_seconds()),
        "expires_at": session.offer_expires_at.isoformat() if session.offer_expires_at else None,
    }


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
