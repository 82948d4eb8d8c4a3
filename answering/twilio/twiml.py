"""TwiML, built with twilio.twiml — never by string formatting. Pure functions: no database."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse


@dataclass(frozen=True)
class Spoken:
    """Something said to a caller: text in a voice, or a recording played."""

    text: str = ""
    voice: str = ""
    language: str = ""
    audio_url: str = ""


def url(path: str) -> str:
    """Absolute URLs everywhere: Twilio requires them in TwiML sent with calls.update()."""
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/{path}"


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


# The platform's own voice (call-outs, not-in-service): the client's prompts choose theirs.
DEFAULT_VOICE = {"voice": "Polly.Joanna", "language": "en-US"}


def response(twiml: VoiceResponse | MessagingResponse) -> HttpResponse:
    return HttpResponse(str(twiml), content_type="text/xml")


def speak(target: VoiceResponse | Gather, spoken: Spoken | None) -> None:
    if spoken is None:
        return
    if spoken.audio_url:
        target.play(spoken.audio_url)
    elif spoken.text:
        target.say(spoken.text, voice=spoken.voice or None, language=spoken.language or None)


def not_in_service() -> VoiceResponse:
    vr = VoiceResponse()
    vr.say("The number you have called is not in service. Goodbye.", voice="Polly.Joanna", language="en-US")
    vr.hangup()
    return vr


def gather(action: str, prompts: list[Spoken | None], *, timeout: int = 5, language: str = "") -> VoiceResponse:
    """Ask for one key; with no input, go to the same action with no Digits (handled there)."""
    vr = VoiceResponse()
    g = vr.gather(input="dtmf", num_digits=1, timeout=timeout, action=action, method="POST",
                  action_on_empty_result=True)
    for spoken in prompts:
        speak(g, spoken)
    return vr


def enqueue(*, queue: str, session_sid: str, notice: Spoken | None, before: list[Spoken | None] = ()) -> VoiceResponse:
    vr = VoiceResponse()
    for spoken in (*before, notice):
        speak(vr, spoken)
    vr.enqueue(queue, wait_url=url(f"wait/{session_sid}"), wait_url_method="POST",
               action=url(f"queue-exit/{session_sid}"), method="POST")
    return vr


def hold(announcement: Spoken | None, pause: int) -> VoiceResponse:
    vr = VoiceResponse()
    speak(vr, announcement)
    vr.pause(length=pause)
    return vr


def leave() -> VoiceResponse:
    vr = VoiceResponse()
    vr.leave()
    return vr


def voicemail(session_sid: str, prompt: Spoken | None, before: list[Spoken | None] = ()) -> VoiceResponse:
    vr = VoiceResponse()
    for spoken in (*before, prompt):
        speak(vr, spoken)
    vr.record(action=url(f"voicemail/{session_sid}"), method="POST", max_length=180, play_beep=True,
              recording_status_callback=url(f"recording/{session_sid}"), recording_status_callback_method="POST")
    vr.hangup()
    return vr


def say_then_hangup(spoken: list[Spoken | None]) -> VoiceResponse:
    vr = VoiceResponse()
    for s in spoken:
        speak(vr, s)
    vr.hangup()
    return vr


def transfer(number: str, caller_id: str) -> VoiceResponse:
    vr = VoiceResponse()
    vr.dial(number, caller_id=caller_id or None, timeout=30)
    vr.hangup()
    return vr


def dial_agent(*, session_sid: str, identity: str, phone: str, record: bool) -> VoiceResponse:
    vr = VoiceResponse()
    options = {"action": url(f"dial-status/{session_sid}"), "method": "POST", "timeout": 20, "answer_on_bridge": True}
    if record:
        options.update(record="record-from-answer-dual", recording_status_callback=url(f"recording/{session_sid}"),
                       recording_status_callback_method="POST")
    dial = vr.dial(**options)
    if phone:
        dial.number(phone)
    else:
        dial.client(identity)
    return vr


def hangup() -> VoiceResponse:
    vr = VoiceResponse()
    vr.hangup()
    return vr


def empty() -> VoiceResponse:
    return VoiceResponse()


def fallback(recorded: bool) -> VoiceResponse:
    """The fallback URL's answer: no database, no Redis — only Twilio keeps the message."""
    vr = VoiceResponse()
    if recorded:
        vr.say("Thank you. Your message has been recorded. Goodbye.", voice="Polly.Joanna", language="en-US")
        vr.hangup()
        return vr
    vr.say("We're sorry, we can't take your call right now. Please leave your name, number and message "
           "after the tone.", voice="Polly.Joanna", language="en-US")
    vr.record(action=f"{settings.PUBLIC_BASE_URL}/twilio/voice/fallback?recorded=1", method="POST",
              max_length=180, play_beep=True)
    vr.hangup()
    return vr


def sms_reply(text: str | None) -> MessagingResponse:
    mr = MessagingResponse()
    if text:
        mr.message(text)
    return mr


# --- Call-outs to the client's on-call people (message delivery) ---------------------------

def callout(text: str, *, action: str, already_acknowledged: bool = False) -> VoiceResponse:
    """Read the message, then ask for 1 to acknowledge (twice; silence after that hangs up)."""
    vr = VoiceResponse()
    en = DEFAULT_VOICE
    if already_acknowledged:
        vr.say(text + " Someone has already acknowledged this message. Goodbye.", **en)
        vr.hangup()
        return vr
    for _ in range(2):
        g = vr.gather(input="dtmf", num_digits=1, timeout=6, action=absolute(action), method="POST")
        g.say(text, **en)
        g.say("Press 1 to acknowledge this message. Press 2 to hear it again.", **en)
    vr.say("The message was not acknowledged. Goodbye.", **en)
    vr.hangup()
    return vr


def callout_acknowledged() -> VoiceResponse:
    vr = VoiceResponse()
    vr.say("Thank you. The message is acknowledged. Goodbye.", **DEFAULT_VOICE)
    vr.hangup()
    return vr


def redirect(path: str) -> VoiceResponse:
    vr = VoiceResponse()
    vr.redirect(absolute(path), method="POST")
    return vr


# --- The connected call's conference (answering/acd/services/controls.py) -------------------

# What a caller on hold hears when the client has no hold audio of its own: Twilio's own
# hold music (its documented default wait music).
DEFAULT_HOLD_MUSIC = "https://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"


def conference_join(*, session_sid: str, name: str) -> VoiceResponse:
    """The caller joins their call's conference. They hear the hold audio until the agent's
    leg joins (the agent starts it); the conference ends when the caller leaves; after it
    the call ends."""
    vr = VoiceResponse()
    dial = vr.dial()
    dial.conference(name, start_conference_on_enter=False, end_conference_on_exit=True, beep="false",
                    wait_url=url(f"hold-music/{session_sid}"), wait_method="POST", participant_label="caller",
                    status_callback=url(f"conference/{session_sid}"), status_callback_method="POST",
                    status_callback_event="start end join leave hold")
    vr.hangup()
    return vr


def hold_music(announcement: Spoken | None, music_url: str) -> VoiceResponse:
    """On hold: the client's hold audio (looped), or a short line and the default music."""
    vr = VoiceResponse()
    speak(vr, announcement)
    vr.play(music_url or DEFAULT_HOLD_MUSIC, loop=0)
    return vr
