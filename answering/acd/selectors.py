"""Reads of the ACD for agents' consoles and supervisors: what an agent's screen shows."""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from dataclasses import asdict, dataclass

from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession, PresenceInterval
from answering.models import CallRecord, MenuOption, Message, ScriptVersion, Team
from answering.oncall.selectors import on_call_at
from answering.scripts.rendering import ScriptContext, script_render
from answering.scripts.selectors import script_for_call
from answering.selectors import answering_settings_get, knowledge_fact_list
from tenants.models import AgentProfile, Client, User
from tenants.models.clients import LANGUAGES

State = CallSession.State
LANGUAGE_NAMES = dict(LANGUAGES)

# What the agent says on connect in a language other than the one the client's greeting is
# written in (answering settings hold one greeting, in the client's first language).
AGENT_GREETINGS = {
    "en": "Thank you for calling {client_name}, this is {agent_first_name}.",
    "es": "Gracias por llamar a {client_name}, le atiende {agent_first_name}.",
    "fr": "Merci d'avoir appelé {client_name}, {agent_first_name} à votre écoute.",
    "pt": "Obrigado por ligar para {client_name}, aqui é {agent_first_name}.",
    "zh": "感谢您致电{client_name}，我是{agent_first_name}。",
}


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
        "status_label": presence.get_status_display() if presence else AgentPresence.Status.OFFLINE.label,
        # Why the status last changed, in words (“Set to away: 3 offers missed.”).
        "reason": presence.reason if presence else "",
        "since": (presence.since if presence else now).isoformat(),
        "now": now.isoformat(),  # the server's clock: the console corrects its own by it
        "offer": offer_payload(offer) if offer else None,
        "call": call_screen(current, agent) if current else None,
        "queues": [queue_snapshot(client) for client in agent_clients(agent)],
    }


def call_screen(session: CallSession, agent: User) -> dict:
    """The screen pop: whose phone this is, what to say, who is calling, what to know."""
    if session.direction == CallSession.Direction.OUTBOUND and session.attempt_id:
        from campaigns.screen import outbound_call  # campaigns reads the ACD: imported when used

        return outbound_call(session, agent)  # a campaign call: the contact, its history, the campaign's script
    client = session.client
    tz = zoneinfo.ZoneInfo(client.time_zone)
    with schema_context(client.schema_name):
        settings_row = answering_settings_get()
        history = list(CallRecord.objects.filter(caller=session.from_number).exclude(call_sid=session.call_sid)
                       .order_by("-arrived_at")[:5])
        knowledge = [{"title": f.title, "body": f.body} for f in knowledge_fact_list()[:20]]
        script = _script_for(session, agent)
        message = Message.objects.filter(call_sid=session.call_sid).values("pk", "urgency", "category").first()
        record = CallRecord.objects.filter(call_sid=session.call_sid).values("draft", "disposition").first() or {}
        labels = menu_choice_labels()
        on_call = on_call_now(time_zone=client.time_zone)
    first_say = script["steps"][script["first_step"]]["say"] if script else ""
    return {
        "call": session.pk, "call_sid": session.call_sid, "state": session.state,
        "client": {"name": client.name, "slug": client.schema_name, "time_zone": client.time_zone,
                   "time_zone_label": _zone_label(tz)},
        "caller": session.from_number, "caller_place": _place(session),
        "language": session.language, "language_name": LANGUAGE_NAMES.get(session.language, session.language),
        "menu_choice": session.menu_choice, "menu_label": _menu_label(labels, session.menu_choice),
        "priority": session.get_priority_display(),
        # One greeting: the script's first step says it when there is a script.
        "greeting": None if first_say else agent_greeting(settings_row, client, session.language, agent),
        "answered_at": session.answered_at.isoformat() if session.answered_at else None,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "wrap_up_until": session.wrap_up_until.isoformat() if session.wrap_up_until else None,
        "caller_hung_up": session.caller_hung_up,
        "history": [{"when": r.arrived_at.isoformat(), "when_local": _local(r.arrived_at, tz),
                     "outcome": r.outcome, "outcome_label": r.get_outcome_display(),
                     "menu_choice": r.menu_choice, "menu_label": _menu_label(labels, r.menu_choice),
                     "disposition": r.disposition.replace("_", " "), "caller_hung_up": r.caller_hung_up}
                    for r in history],
        "knowledge": knowledge,
        "on_call": on_call,
        "script": script,
        "draft": record.get("draft") or {},
        "disposition": record.get("disposition", ""),
        "message": message,
    }


def agent_greeting(settings_row, client: Client, language: str, agent: User) -> str:
    """What the agent says on connect, in the caller's language: the client's own greeting
    when the call is in the language it is written in (the client's first), else the
    platform's words for that language."""
    own = settings_row.greeting if settings_row else ""
    if not own or (language != client.languages[0] and language in AGENT_GREETINGS):
        own = AGENT_GREETINGS.get(language, AGENT_GREETINGS["en"])
    return own.replace("{agent_first_name}", agent.first_name).replace("{client_name}", client.name)


def menu_choice_labels() -> dict[str, str]:
    """``open:1`` → “Business hours · Emergency service”, from the client's call flow. In the
    client's schema."""
    flows = dict(MenuOption.Flow.choices)
    return {f"{o.flow}:{o.digit}": f"{flows.get(o.flow, o.flow)} · {o.label}" for o in MenuOption.objects.all()}


def _menu_label(labels: dict[str, str], choice: str) -> str:
    """The words for a menu choice; one no longer in the flow still reads as words, never ``open:2``."""
    if not choice or choice in labels:
        return labels.get(choice, "")
    flow, _, digit = choice.partition(":")
    flow_name = dict(MenuOption.Flow.choices).get(flow, flow.replace("_", " ").capitalize())
    return f"{flow_name} · key {digit}" if digit else flow_name


def on_call_now(*, time_zone: str) -> list[dict]:
    """Who is on call for each of the client's teams right now. In the client's schema."""
    now = timezone.now()
    tz = zoneinfo.ZoneInfo(time_zone)
    people = []
    for team in Team.objects.all()[:10]:
        answer = on_call_at(team=team, at=now, time_zone=time_zone)
        person = answer.person
        people.append({"team": team.name, "name": person.name if person else "",
                       "phone": (person.phone or person.mobile) if person else "",
                       "until": _local(answer.until, tz) if answer.until else ""})
    return people


def _zone_label(tz: zoneinfo.ZoneInfo) -> str:
    return timezone.now().astimezone(tz).strftime("%Z")


def _local(moment, tz: zoneinfo.ZoneInfo) -> str:
    """A time a person reads, in the client's zone, saying which: “Tue 2 Dec, 3:04 PM EST”."""
    local = moment.astimezone(tz)
    return local.strftime("%a %-d %b, %-I:%M %p %Z")


def _place(session: CallSession) -> str:
    return ", ".join(part for part in (session.from_city.title(), session.from_state) if part)


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
        "language_name": LANGUAGE_NAMES.get(session.language, session.language), "caller_place": _place(session),
        "priority": session.get_priority_display(), "waited": round(session.wait_seconds()),
        # The console counts "waited" and the answer countdown itself, from these.
        "queued_at": session.queued_at.isoformat() if session.queued_at else None,
        "offered_at": session.offered_at.isoformat() if session.offered_at else None,
        "now": timezone.now().isoformat(),
        "status": AgentPresence.Status.OFFERED, "reason": f"Offered a call for {session.client.name}.",
        "expires_at": session.offer_expires_at.isoformat() if session.offer_expires_at else None,
    }


def queue_snapshot(client: Client) -> dict:
    """Calls waiting for one client, for consoles and wallboards."""
    now = timezone.now()
    waiting = list(CallSession.objects.filter(client=client, state__in=[State.QUEUED, State.OFFERED])
                   .order_by("-priority", "queued_at"))
    oldest = min((s.queued_at for s in waiting if s.queued_at), default=None)
    return {"client": client.schema_name, "name": client.name, "waiting": len(waiting),
            "longest_wait": round(max((s.wait_seconds(now) for s in waiting), default=0)),
            # Consoles and wallboards count the wait themselves from these (``now`` corrects their clock).
            "oldest_since": oldest.isoformat() if oldest else None, "now": now.isoformat(),
            "calls": [{"call": s.pk, "caller": s.from_number, "priority": s.get_priority_display(),
                       "language": s.language, "language_name": LANGUAGE_NAMES.get(s.language, s.language),
                       "waited": round(s.wait_seconds(now)), "state": s.state,
                       "queued_at": s.queued_at.isoformat() if s.queued_at else None}
                      for s in waiting]}


# Presence history (the log ``PresenceInterval``, written by the database on every change).
# Logged in: there to take calls — waiting, ringing, talking or wrapping up. A break, away
# (missed offers, console lost) and offline are not: nobody can be offered a call then.
Status = AgentPresence.Status
LOGGED_IN = (Status.AVAILABLE, Status.OFFERED, Status.ON_CALL, Status.WRAP_UP)
HANDLING = (Status.ON_CALL, Status.WRAP_UP)


def _local_midnights(start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo) -> list[dt.datetime]:
    """Every local midnight from the one on or before ``start`` to the first after ``end``, as
    instants: local days are 23 or 25 hours long on the days the clocks change."""
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    edges = []
    while day <= last:
        edges.append(dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC))
        day += dt.timedelta(days=1)
    return edges


def presence_seconds(*, agent_ids: list[int] | None, start: dt.datetime, end: dt.datetime,
                     zone: str | zoneinfo.ZoneInfo) -> dict[tuple[int, dt.date], dict[str, float]]:
    """Seconds each agent spent in each status over ``[start, end)``, by local day in ``zone``:
    ``{(agent_id, day): {status: seconds}}``. Intervals are clipped to the window; the open one
    counts up to now; an interval across local midnight is split between its days. Only days
    with presence appear; ``agent_ids=None`` means every agent."""
    tz = zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(zone)
    now = timezone.now()
    end = min(end, now)
    out: dict[tuple[int, dt.date], dict[str, float]] = {}
    if end <= start:
        return out
    rows = PresenceInterval.objects.filter(started__lt=end).filter(Q(ended__isnull=True) | Q(ended__gt=start))
    if agent_ids is not None:
        rows = rows.filter(agent_id__in=agent_ids)
    edges = _local_midnights(start, end, tz)
    for agent_id, status, started, ended in rows.values_list("agent_id", "status", "started", "ended"):
        lo, hi = max(started, start), min(ended or now, end)
        i = bisect.bisect_right(edges, lo) - 1  # the local day ``lo`` falls in
        while lo < hi:
            upto = min(hi, edges[i + 1])
            day = edges[i].astimezone(tz).date()
            bucket = out.setdefault((agent_id, day), {})
            bucket[status] = bucket.get(status, 0.0) + (upto - lo).total_seconds()
            lo, i = upto, i + 1
    return out


@dataclass(frozen=True)
class Occupancy:
    """One agent's day (or period): handled and logged-in seconds, and their ratio."""

    handled: float  # on a call + wrap-up, for every client the agent serves
    logged_in: float  # available, ringing, on a call, wrap-up
    seconds: dict[str, float]  # every status, break and away included

    @property
    def occupancy(self) -> float | None:
        """(Talk + wrap-up) ÷ logged-in time; None when the agent was not logged in."""
        return self.handled / self.logged_in if self.logged_in else None


def occupancy_of(seconds: dict[str, float]) -> Occupancy:
    return Occupancy(sum(seconds.get(s, 0.0) for s in HANDLING), sum(seconds.get(s, 0.0) for s in LOGGED_IN),
                     dict(seconds))


def occupancy_by_agent(agent_ids: list[int] | None, start: dt.datetime, end: dt.datetime,
                       zone: str | zoneinfo.ZoneInfo) -> dict[tuple[int, dt.date], Occupancy]:
    """True occupancy per agent and local day over ``[start, end)``, from the presence log:
    time on a call or in wrap-up ÷ time logged in (not on break, away or offline). It spans
    every client the agent served — platform data, for supervisors: a client's own report
    shows its agents' handled time for that client only, never this."""
    return {key: occupancy_of(seconds)
            for key, seconds in presence_seconds(agent_ids=agent_ids, start=start, end=end, zone=zone).items()}


def occupancy_totals(days: dict[tuple[int, dt.date], Occupancy]) -> dict[int | None, Occupancy]:
    """The days summed per agent, and over everyone (key None): sums of seconds, never an
    average of ratios."""
    sums: dict[int | None, dict[str, float]] = {}
    for (agent_id, _day), one in days.items():
        for key in (agent_id, None):
            bucket = sums.setdefault(key, {})
            for status, seconds in one.seconds.items():
                bucket[status] = bucket.get(status, 0.0) + seconds
    return {key: occupancy_of(seconds) for key, seconds in sums.items()}
