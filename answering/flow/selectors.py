"""Reads of a client's call flow: hours, closures, menu options and prompts, with the
platform's defaults where a client has not written its own. In the client's schema."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from answering.models import AnsweringSettings, BusinessHours, Closure, MenuOption, Prompt
from answering.twilio.twiml import Spoken

# Spoken when a client has not written its own prompt: never silence, never another client's words.
DEFAULT_PROMPTS = {
    ("greeting", "en"): "Thank you for calling {client}.",
    ("greeting", "es"): "Gracias por llamar a {client}.",
    ("language_choice", "es"): "Para español, oprima {digit}.",
    ("language_choice", "en"): "For English, press {digit}.",
    ("menu", "en"): "Please stay on the line and we will be right with you.",
    ("menu", "es"): "Por favor permanezca en la línea.",
    ("after_hours_greeting", "en"): "Thank you for calling {client}. Our office is closed.",
    ("after_hours_greeting", "es"): "Gracias por llamar a {client}. Nuestra oficina está cerrada.",
    ("recording_notice", "en"): "This call may be recorded.",
    ("recording_notice", "es"): "Esta llamada puede ser grabada.",
    ("hold", "en"): "You are caller number {position}. Your estimated wait is {wait}.",
    ("hold", "es"): "Usted es la llamada número {position}. Su espera estimada es de {wait}.",
    ("voicemail", "en"): "Please leave your name, number and message after the tone.",
    ("voicemail", "es"): "Por favor deje su nombre, número y mensaje después del tono.",
    ("invalid", "en"): "Sorry, that is not an option.",
    ("invalid", "es"): "Lo siento, esa no es una opción.",
    ("suspended", "en"): "This number is temporarily unavailable. Please call again later.",
    ("suspended", "es"): "Este número no está disponible temporalmente.",
}
DEFAULT_VOICES = {"en": ("Polly.Joanna", "en-US"), "es": ("Polly.Mia", "es-MX"), "fr": ("Polly.Lea", "fr-FR"),
                  "pt": ("Polly.Camila", "pt-BR"), "zh": ("Polly.Zhiyu", "cmn-CN")}


@dataclass
class CallFlow:
    """Everything one client's call flow needs, read once per webhook."""

    client_name: str
    languages: list[str]
    time_zone: str
    settings: AnsweringSettings
    prompts: dict[tuple[str, str], Prompt]
    options: dict[tuple[str, str], MenuOption]
    hours: list[BusinessHours]
    closures: list[Closure] = field(default_factory=list)
    # Answers written out once for this flow (ivr.call_start_text): kept on the flow itself,
    # so a changed flow — a new object — starts with none.
    answers: dict = field(default_factory=dict, repr=False, compare=False)

    def say(self, key: str, language: str, **values) -> Spoken | None:
        """The prompt ``key`` in ``language`` (the client's own, else a neutral default)."""
        voice, tts = DEFAULT_VOICES.get(language, DEFAULT_VOICES["en"])
        prompt = self.prompts.get((key, language))
        if prompt is not None:
            if prompt.audio_url:
                return Spoken(audio_url=prompt.audio_url)
            return Spoken(_fill(prompt.text, client=self.client_name, **values), prompt.voice or voice,
                          prompt.tts_language or tts)
        default = DEFAULT_PROMPTS.get((key, language))
        if default is None:
            return None
        return spoken(_fill(default, client=self.client_name, **values), language)

    def menu(self, flow: str) -> dict[str, MenuOption]:
        return {digit: option for (f, digit), option in self.options.items() if f == flow}

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        if any(c.starts <= at < c.ends for c in self.closures):
            return False
        return any(h.weekday == local.weekday() and h.opens <= local.time() < h.closes for h in self.hours)


def spoken(text: str, language: str) -> Spoken:
    """``text`` in the default voice for ``language``."""
    voice, tts = DEFAULT_VOICES.get(language, DEFAULT_VOICES["en"])
    return Spoken(text, voice, tts)


def _fill(text: str, **values) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def call_flow_get(client) -> CallFlow:
    """Read the client's flow (call inside the client's schema)."""
    now = timezone.now()
    return CallFlow(
        client_name=client.name,
        languages=list(client.languages),
        time_zone=client.time_zone,
        settings=AnsweringSettings.objects.first() or AnsweringSettings(greeting=""),
        prompts={(p.key, p.language): p for p in Prompt.objects.all()},
        options={(o.flow, o.digit): o for o in MenuOption.objects.all()},
        hours=list(BusinessHours.objects.all()),
        closures=list(Closure.objects.filter(ends__gt=now)),
    )
