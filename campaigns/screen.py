"""What the console shows of a campaign call: the outbound screen pop and the preview card.

Read at once, in the call's client schema, and sent inside the console's snapshot (the
one the "connected" push redraws the console with), so the contact, its history and the
script arrive with the call, with no round trip of their own.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import asdict

from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import CallSession
from answering.models import ScriptVersion
from answering.scripts.rendering import ScriptContext, script_render
from campaigns.models import CallAttempt, Campaign, Contact
from campaigns.services.dispositions import contact_zone
from tenants.models import Client, User
from tenants.models.clients import LANGUAGES

LANGUAGE_NAMES = dict(LANGUAGES)
HISTORY = 10  # earlier attempts shown


def outbound_call(session: CallSession, agent: User | None = None) -> dict:
    """The screen pop of a connected campaign call (``session.direction`` outbound,
    ``session.attempt_id`` the attempt in the client's schema): shaped as the inbound one
    (``answering.acd.selectors.call_screen``), so the console's call panel, phone and
    clocks work unchanged, plus ``outbound``: the contact, the campaign, why it is called,
    the earlier attempts, the dispositions, and the disposition already given."""
    client = session.client
    agent = agent or session.agent
    with schema_context(client.schema_name):
        attempt = (CallAttempt.objects.select_related("campaign", "contact", "disposition")
                   .filter(pk=session.attempt_id).first())
        contact = attempt.contact if attempt else None
        campaign = attempt.campaign if attempt else None
        version = _pin_script(session, campaign)
        card = contact_card(contact=contact, campaign=campaign, client=client, agent=agent, version=version,
                            exclude_attempt=attempt.pk if attempt else None) if contact and campaign else {}
        disposed = None
        if attempt is not None and attempt.disposition_id:
            d = attempt.disposition
            disposed = {"code": d.code, "label": d.label, "kind": d.kind,
                        "amount": str(attempt.amount) if attempt.amount is not None else None, "notes": attempt.notes,
                        "callback_at": contact.next_attempt_at.isoformat() if contact and contact.next_attempt_at
                        and d.kind == "callback" else None}
    tz = zoneinfo.ZoneInfo(client.time_zone)
    return {
        "direction": "outbound", "call": session.pk, "call_sid": session.call_sid, "state": session.state,
        "client": {"name": client.name, "slug": client.schema_name, "time_zone": client.time_zone,
                   "time_zone_label": timezone.now().astimezone(tz).strftime("%Z")},
        "caller": str(contact.number) if contact else session.to_number, "caller_place": "",
        "language": session.language, "language_name": LANGUAGE_NAMES.get(session.language, session.language),
        "menu_choice": "", "menu_label": card.get("campaign", {}).get("name", ""), "priority": "Normal",
        "greeting": None if card.get("script") else "",
        "answered_at": session.answered_at.isoformat() if session.answered_at else None,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "wrap_up_until": session.wrap_up_until.isoformat() if session.wrap_up_until else None,
        "caller_hung_up": session.caller_hung_up,
        "history": [], "knowledge": [], "on_call": [],  # inbound panels: the contact's history is in ``outbound``
        "script": card.get("script"), "draft": {}, "disposition": disposed["code"] if disposed else "",
        "message": None,
        "outbound": {**card, "attempt": attempt.pk if attempt else None, "disposed": disposed},
    }


def _pin_script(session: CallSession, campaign: Campaign | None) -> ScriptVersion | None:
    """The campaign script's version this call is guided by, fixed on the call at the first
    screen pop (as ``acd.call_script_pin`` does for inbound): the console's Next steps through
    it, and a script edited mid-call changes nothing for this call. In the client's schema."""
    if session.script_version_id:
        return ScriptVersion.objects.filter(pk=session.script_version_id).first()
    version = campaign.script.current_version if campaign and campaign.script_id and campaign.script else None
    if version is not None:
        CallSession.objects.filter(pk=session.pk, script_version_id__isnull=True).update(script_version_id=version.pk)
        session.script_version_id = version.pk
    return version


def contact_card(*, contact: Contact, campaign: Campaign, client: Client, agent: User | None,
                 version: ScriptVersion | None = None, exclude_attempt: int | None = None) -> dict:
    """The contact as the agent sees it (screen pop and preview card alike): who, where and
    what time it is there, the campaign, why, earlier attempts, the script with the
    contact's fields merged in, the dispositions. In the client's schema."""
    zone = contact_zone(contact, client)
    tz = zoneinfo.ZoneInfo(zone)
    now = timezone.now()
    earlier = list(contact.call_attempts.select_related("disposition").exclude(pk=exclude_attempt)
                   .exclude(outcome=CallAttempt.Outcome.PENDING).order_by("-started_at")[:HISTORY])
    names = dict((u.pk, str(u)) for u in User.objects.filter(pk__in={a.agent_id for a in earlier if a.agent_id}))
    if version is None and campaign.script_id and campaign.script:
        version = campaign.script.current_version
    return {
        "client": {"name": client.name, "slug": client.schema_name},
        "contact": {
            "id": contact.pk, "name": contact.name or str(contact.number), "first_name": contact.first_name,
            "last_name": contact.last_name, "number": str(contact.number), "email": contact.email,
            "state": contact.state, "postal_code": contact.postal_code,
            "time_zone": zone, "time_zone_label": now.astimezone(tz).strftime("%Z"),
            "local_time": _local(now, tz), "status": contact.status, "status_label": contact.get_status_display(),
            "attempts": contact.attempts, "fields": {str(k): _text(v) for k, v in (contact.fields or {}).items()},
        },
        "campaign": {"id": campaign.pk, "name": campaign.name, "purpose": campaign.purpose,
                     "purpose_label": campaign.get_purpose_display(), "mode": campaign.mode,
                     "max_attempts": campaign.max_attempts},
        "reason": contact.reason,
        "attempts": [{"when": a.started_at.isoformat(), "when_local": _local(a.started_at, tz),
                      "outcome": a.outcome, "outcome_label": a.get_outcome_display(),
                      "disposition": a.disposition.label if a.disposition_id else "",
                      "amount": str(a.amount) if a.amount is not None else None,
                      "agent": names.get(a.agent_id, ""), "notes": a.notes, "detail": a.detail} for a in earlier],
        "script": _script(version, contact, campaign, client, agent, zone) if version else None,
        "dispositions": [{"code": d.code, "label": d.label, "kind": d.kind, "final": d.final}
                         for d in campaign.dispositions.all()],
    }


def _text(value) -> str:
    return "" if value is None else str(value)


def _local(moment, tz: zoneinfo.ZoneInfo) -> str:
    """“Tue 2 Dec, 3:04 PM CST”: a time a person reads, saying in which zone."""
    return moment.astimezone(tz).strftime("%a %-d %b, %-I:%M %p %Z")


def contact_values(contact: Contact) -> dict[str, str]:
    """What a script's ``{…}`` can name of a contact (``answering.scripts.validation``'s
    CONTACT_MERGE_FIELDS): its own fields, and its list's custom columns as
    ``{fields.policy_number}``. A custom column the contact lacks merges as nothing."""
    own = {"first_name": contact.first_name, "last_name": contact.last_name, "name": contact.name,
           "number": str(contact.number), "email": contact.email, "state": contact.state,
           "postal_code": contact.postal_code, "reason": contact.reason}
    return {**{f"fields.{k}": _text(v) for k, v in (contact.fields or {}).items()}, **own}


def _merge_contact(text: str, values: dict[str, str]) -> str:
    # After script_render, which leaves the names it does not know as they are: those are ours.
    def fill(match: re.Match) -> str:
        name = match.group(1)
        return values.get(name, "" if name.startswith("fields.") else match.group(0))

    return re.sub(r"\{([\w.]+)\}", fill, text)


def _script(version: ScriptVersion, contact: Contact, campaign: Campaign, client: Client, agent: User | None,
            zone: str) -> dict:
    # “Good morning” in the contact's morning, not the client's.
    rendered = asdict(script_render(version=version, language=client.languages[0], context=ScriptContext(
        client_name=client.name, time_zone=zone, caller_number=str(contact.number),
        agent_first_name=agent.first_name if agent else "")))
    values = contact_values(contact)
    for step in rendered["steps"].values():
        step["say"] = _merge_contact(step["say"], values)
    return rendered


def preview_card(*, contact: Contact, client: Client, agent: User) -> dict:
    """The preview card (preview campaigns): the contact, history and script before the
    agent dials or skips, and until when it is held for them. In the client's schema."""
    campaign = contact.campaign
    return {**contact_card(contact=contact, campaign=campaign, client=client, agent=agent),
            "reserved_until": contact.reserved_until.isoformat() if contact.reserved_until else None,
            "callback_for_you": contact.status == Contact.Status.CALLBACK and contact.callback_agent_id == agent.pk}



def console_outbound(agent: User) -> dict:
    """The console's outbound part, sent in every snapshot: the mode the agent works in and
    the modes they may choose, and the preview card of the contact held for them (if any;
    held only: a snapshot never takes a contact, the agent's Next does)."""
    from answering.acd.models import AgentPresence
    from answering.acd.services.agents import agent_mode, agent_modes
    from campaigns.services.preview import preview_clients, preview_held

    modes = agent_modes(agent)
    mode = agent_mode(AgentPresence.objects.filter(agent=agent).first(), modes)
    preview, previewing = None, False
    if mode != "inbound":
        previewing = bool(preview_clients(agent))
        held = preview_held(agent=agent) if previewing else None
        if held is not None:
            client, contact = held
            with schema_context(client.schema_name):
                preview = preview_card(contact=contact, client=client, agent=agent)
    return {"mode": mode, "modes": list(modes), "preview": preview, "preview_campaigns": previewing}
