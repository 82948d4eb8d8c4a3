"""The caller's path through a client's flow: greeting, language, menu, queue, voicemail.

Each function is one step: it reads the flow, moves the call (through the ACD services)
and returns the TwiML for what the caller hears next. Views only parse Twilio's
parameters and call these.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from twilio.twiml.voice_response import VoiceResponse

from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.flow import cache as flow_cache
from answering.flow.selectors import CallFlow, call_flow_get, spoken
from answering.messages.services import voicemail_message_take
from answering.models import CallRecord, MenuOption, VoicemailMessage
from answering.twilio import gateway, twiml
from tenants import selectors as tenant_selectors

logger = logging.getLogger(__name__)
State = CallSession.State
MAX_INVALID_ENTRIES = 2


def _flow_load(client) -> CallFlow:
    with schema_context(client.schema_name):
        return call_flow_get(client)


def flow_for(session: CallSession) -> CallFlow:
    return flow_cache.flow_get(session.client.schema_name, lambda: _flow_load(session.client))


def client_and_flow(number: str):
    """Who answers calls to ``number`` (None: nobody), and how."""
    return flow_cache.client_and_flow(number, lambda: tenant_selectors.client_for_number(number), _flow_load)


def call_start(session: CallSession, flow: CallFlow | None = None, *, at: datetime | None = None) -> VoiceResponse:
    """The first thing the caller hears: the client's greeting, then the language choice
    (when the client offers several) or the menu (the open-hours one or the after-hours
    one, as it is ``at``). ``session`` may not be written yet (see ``acd.call_new``)."""
    flow = flow or flow_for(session)
    if not session.client.is_active:
        return _suspended(session, flow)
    if len(flow.languages) > 1:
        acd.call_enter_menu(session=session)
        default = flow.languages[0]
        prompts = [flow.say("greeting", default)]
        prompts += [flow.say("language_choice", lang, digit=index + 1)
                    for index, lang in enumerate(flow.languages) if index > 0]
        return twiml.gather(twiml.url(f"language/{session.call_sid}"), prompts, timeout=3)
    return _menu(session, flow, flow.languages[0], greet=True, at=at)


# A CallSid as Twilio makes them ("CA" and 32 hex digits): nothing in it to escape in XML.
_PLAIN_SID = re.compile(r"[A-Za-z]{2}[0-9a-fA-F]{32}")
_STAND_IN = "\x00"  # the CallSid's place in a kept answer: a character no XML text can hold


def call_start_text(session: CallSession, flow: CallFlow) -> str:
    """``call_start``'s answer as the text Twilio gets, for a call not written yet.

    Nearly every call starts in the menu (or the language choice), and for those the answer
    is the same text from one call to the next but for the CallSid, while the flow, the hour
    (open or after hours) and the client's standing stay the same; building and writing it
    out was the biggest piece of the first webhook's own Python. So the flow keeps it (a
    changed flow is a new object, with nothing kept), with a stand-in for the CallSid, and
    the next call is moved the one way such an answer moves a call: into the menu, in the
    language it chose. Any other first answer (straight to the queue or to voicemail) is
    built every time."""
    at = timezone.now()
    sid = session.call_sid
    key = ("first", _flow_name(flow, at), session.client.is_active)
    kept = flow.answers.get(key) if _PLAIN_SID.fullmatch(sid) else None
    if kept is not None:
        template, language = kept
        acd.call_enter_menu(session=session, language=language)
        return template.replace(_STAND_IN, sid)
    text = str(call_start(session, flow, at=at))
    if session.state == State.IN_MENU and _PLAIN_SID.fullmatch(sid):
        flow.answers[key] = (text.replace(sid, _STAND_IN), session.language)
    return text


def language_chosen(session: CallSession, digits: str) -> VoiceResponse:
    flow = flow_for(session)
    languages = flow.languages
    index = int(digits) - 1 if digits.isdigit() else 0
    language = languages[index] if 0 <= index < len(languages) else languages[0]
    acd.call_enter_menu(session=session, language=language)
    # A caller who chose another language hears the greeting again, in theirs.
    return _menu(session, flow, language, greet=language != languages[0])


def _flow_name(flow: CallFlow, at: datetime | None = None) -> str:
    return MenuOption.Flow.OPEN if flow.is_open(at or timezone.now()) else MenuOption.Flow.AFTER_HOURS


def _menu(session: CallSession, flow: CallFlow, language: str, *, greet: bool, before=(),
          at: datetime | None = None) -> VoiceResponse:
    name = _flow_name(flow, at)
    acd.call_enter_menu(session=session, language=language)
    greeting_key = "greeting" if name == MenuOption.Flow.OPEN else "after_hours_greeting"
    intro = [*before, flow.say(greeting_key, language)] if greet else list(before)
    options = flow.menu(name)
    if not options:
        # No menu: open hours go straight to the queue, after hours to voicemail.
        if name == MenuOption.Flow.OPEN:
            return _queue(session, flow, priority=0, choice="open:direct", before=intro)
        return _voicemail(session, flow, before=intro)
    menu_key = "menu" if name == MenuOption.Flow.OPEN else "after_hours_menu"
    return twiml.gather(twiml.url(f"menu/{session.call_sid}?flow={name}"), [*intro, flow.say(menu_key, language)])


def menu_chosen(session: CallSession, flow_name: str, digits: str) -> VoiceResponse:
    flow = flow_for(session)
    language = session.language
    if session.state not in (State.RINGING, State.IN_MENU):
        return twiml.empty()  # a stray second submission; the call has moved on
    option = flow.menu(flow_name).get(digits)
    if option is None:
        attempts = acd.call_note_menu_attempt(session=session)
        if attempts < MAX_INVALID_ENTRIES:
            return _menu(session, flow, language, greet=False, before=[flow.say("invalid", language)])
        logger.info("%s: no valid menu entry after %d tries; queueing", session.call_sid, attempts)
        return _queue(session, flow, priority=0, choice=f"{flow_name}:invalid")
    choice = f"{flow_name}:{option.digit}"
    match option.action:
        case MenuOption.Action.QUEUE:
            return _queue(session, flow, priority=option.priority, choice=choice)
        case MenuOption.Action.VOICEMAIL:
            return _voicemail(session, flow, menu_choice=choice)
        case MenuOption.Action.INFO:
            text = option.info_text.get(language) or option.info_text.get(flow.languages[0], "")
            return _menu(session, flow, language, greet=False, before=[spoken(text, language)])
        case MenuOption.Action.TRANSFER:
            acd.call_transfer(session=session, menu_choice=choice)
            return twiml.transfer(option.transfer_to, caller_id=session.to_number)
        case _:
            return _menu(session, flow, language, greet=False)


def _queue(session: CallSession, flow: CallFlow, *, priority: int, choice: str, before=()) -> VoiceResponse:
    record = flow.settings.record_calls
    acd.call_enqueue(session=session, priority=priority, menu_choice=choice, record=record)
    notice = flow.say("recording_notice", session.language) if record else None
    return twiml.enqueue(queue=session.client.schema_name, session_sid=session.call_sid, notice=notice, before=before)


def _voicemail(session: CallSession, flow: CallFlow, before=(), *, menu_choice: str = "") -> VoiceResponse:
    acd.call_to_voicemail(session=session, menu_choice=menu_choice)
    return twiml.voicemail(session.call_sid, flow.say("voicemail", session.language), before=before)


def _suspended(session: CallSession, flow: CallFlow) -> VoiceResponse:
    notice = flow.say("suspended", flow.languages[0])
    if flow.settings.suspended_action == flow.settings.SuspendedAction.VOICEMAIL:
        return _voicemail(session, flow, before=[notice])
    return twiml.say_then_hangup([notice])


def queue_wait(session: CallSession, *, position: int, queue_time: int, average: int) -> VoiceResponse:
    """Twilio asks what to play while the caller waits (again after each answer)."""
    flow = flow_for(session)
    if session.state not in (State.QUEUED, State.OFFERED):
        return twiml.hold(None, 1)  # accepted: the redirect is on its way
    if queue_time >= flow.settings.max_wait_seconds:
        return twiml.leave()  # the queue's action sends the caller to voicemail
    estimate = max(average, 30) * max(position, 1)
    wait = _spoken_minutes(estimate, session.language)
    return twiml.hold(flow.say("hold", session.language, position=position, wait=wait),
                      flow.settings.hold_announcement_seconds)


def _spoken_minutes(seconds: int, language: str) -> str:
    minutes = round(seconds / 60)
    if language == "es":
        return "menos de un minuto" if minutes < 1 else f"{minutes} minuto{'s' if minutes > 1 else ''}"
    return "less than a minute" if minutes < 1 else f"about {minutes} minute{'s' if minutes > 1 else ''}"


def queue_exited(session: CallSession, result: str) -> VoiceResponse:
    """The caller left Twilio's queue: hung up (abandoned), was sent out (maximum wait), or errored."""
    if result == "hangup":
        acd.call_status_update(session=session, status="completed", sequence=None)
        return twiml.empty()
    if result in ("leave", "error", "system-error", "queue-full") and session.state in (State.QUEUED, State.OFFERED):
        return _voicemail(session, flow_for(session))
    return twiml.empty()


def connect(session: CallSession) -> VoiceResponse:
    """After an agent accepts: the caller joins the call's conference (hearing the hold audio)
    and the agent's leg — browser identity or phone — is dialed into it, so hold, transfer
    and patch are conference commands (answering/acd/services/controls.py)."""
    if session.state != State.CONNECTED or session.agent_id is None:
        flow = flow_for(session)
        return _queue(session, flow, priority=session.priority, choice=session.menu_choice)
    transaction.on_commit(lambda: acd.agent_leg_dial(session))
    return twiml.conference_join(session_sid=session.call_sid, name=gateway.conference_name(session.call_sid))


def requeue(session: CallSession) -> VoiceResponse:
    """The agent's leg never joined: the caller, back at the head of the queue
    (``acd.agent_leg_failed``), waits in Twilio's queue again."""
    if session.state in (State.QUEUED, State.OFFERED):
        return twiml.enqueue(queue=session.client.schema_name, session_sid=session.call_sid, notice=None)
    return twiml.hangup()


def hold_music(session: CallSession) -> VoiceResponse:
    """What a caller on hold (or waiting for their agent's leg) hears: the client's hold audio
    when its hold prompt is a recording, else a short line and the default music."""
    flow = flow_for(session)
    prompt = flow.say("hold", session.language, position=1, wait="")
    if prompt is not None and prompt.audio_url:
        return twiml.hold_music(None, prompt.audio_url)
    line = {"es": "Por favor, espere."}.get(session.language, "Please hold.")
    return twiml.hold_music(spoken(line, session.language), "")


def agent_identity(agent_id: int) -> str:
    return f"agent-{agent_id}"


def dial_ended(session: CallSession, dial_status: str) -> VoiceResponse:
    if dial_status in ("completed", "answered"):
        return twiml.hangup()
    session = acd.agent_leg_failed(session=session, dial_status=dial_status)
    if session.state == State.QUEUED:
        return twiml.enqueue(queue=session.client.schema_name, session_sid=session.call_sid, notice=None)
    return twiml.hangup()


def voicemail_left(session: CallSession, *, recording_sid: str, recording_url: str, duration: int | None) -> VoiceResponse:
    """The caller finished recording: the voicemail becomes a message for the client. Idempotent."""
    with schema_context(session.client.schema_name):
        record = CallRecord.objects.filter(call_sid=session.call_sid).first()
        with transaction.atomic():
            VoicemailMessage.objects.update_or_create(
                call_sid=session.call_sid,
                defaults={"call": record, "caller": session.from_number, "recording_sid": recording_sid,
                          "recording_url": recording_url, "duration": duration},
            )
            voicemail_message_take(session=session, record=record, recording_sid=recording_sid, duration=duration)
    thanks = {"es": "Gracias. Su mensaje ha sido grabado. Adiós."}.get(
        session.language, "Thank you. Your message has been recorded. Goodbye.")
    return twiml.say_then_hangup([spoken(thanks, session.language)])


def recording_ready(session: CallSession, *, recording_sid: str, recording_url: str, duration: int | None) -> None:
    with schema_context(session.client.schema_name):
        CallRecord.objects.filter(call_sid=session.call_sid).update(
            recording_sid=recording_sid, recording_url=recording_url, recording_duration=duration)
        VoicemailMessage.objects.filter(call_sid=session.call_sid).update(
            recording_sid=recording_sid, recording_url=recording_url, duration=duration)
