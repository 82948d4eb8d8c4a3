"""Reads of the ACD for agents' consoles and supervisors: what an agent's screen shows."""

from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.acd.services import offer_payload, queue_snapshot
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
    from answering.models import CallRecord, Message
    from answering.selectors import answering_settings_get, knowledge_fact_list

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


def call_script_version(session: CallSession):
    """The script version this call is guided by, fixed the first time it is asked for
    (so editing the script mid-call changes nothing for this call). In the client's schema."""
    from answering.models import ScriptVersion
    from answering.selectors import script_for_call

    if session.script_version_id:
        return ScriptVersion.objects.filter(pk=session.script_version_id).first()
    version = script_for_call(menu_choice=session.menu_choice)
    if version is not None:
        CallSession.objects.filter(pk=session.pk, script_version_id__isnull=True).update(script_version_id=version.pk)
        session.script_version_id = version.pk
    return version


def _script_for(session: CallSession, agent: User) -> dict | None:
    from dataclasses import asdict

    from answering.scripts import ScriptContext, script_render

    version = call_script_version(session)
    if version is None:
        return None
    client = session.client
    rendered = script_render(version=version, language=session.language, context=ScriptContext(
        client_name=client.name, time_zone=client.time_zone, caller_number=session.from_number,
        agent_first_name=agent.first_name))
    return asdict(rendered)
