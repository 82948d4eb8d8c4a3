"""Reads of answering data. Every function here runs inside one client's schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from answering.models import (
    AnsweringSettings,
    BusinessHours,
    Closure,
    KnowledgeFact,
    MenuOption,
    Prompt,
    ScriptVersion,
)


def answering_settings_get() -> AnsweringSettings | None:
    return AnsweringSettings.objects.first()


def knowledge_fact_list() -> QuerySet[KnowledgeFact]:
    return KnowledgeFact.objects.all()


# --- The call flow ---------------------------------------------------------------------


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


@dataclass(frozen=True)
class Spoken:
    text: str = ""
    voice: str = ""
    language: str = ""
    audio_url: str = ""


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
        import zoneinfo

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
    from django.utils import timezone

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


# --- Scripts and knowledge ---------------------------------------------------------------


def script_for_call(*, menu_choice: str) -> ScriptVersion | None:
    """The published script version a call with ``menu_choice`` (e.g. "open:1") is guided by:
    the script that claims the choice, else the default script, else None. The call should
    keep the returned version (not the script), so later edits do not change it."""
    from answering.models import Script

    published = Script.objects.filter(current_version__isnull=False).select_related("current_version")
    script = published.filter(used_for__contains=[menu_choice]).first() if menu_choice else None
    if script is None:
        script = published.filter(is_default=True).first()
    return script.current_version if script else None


def knowledge_search(*, query: str, limit: int = 10) -> list[KnowledgeFact]:
    """Facts matching ``query``, best first: PostgreSQL full-text search over title (weighted
    higher) and body; queries under three characters, or that full text does not match (a
    word's beginning, a number), fall back to a case-insensitive substring match."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
    from django.db.models import Q

    query = (query or "").strip()
    if not query:
        return list(KnowledgeFact.objects.all()[:limit])
    if len(query) >= 3:
        vector = SearchVector("title", weight="A", config="english") + SearchVector("body", weight="B", config="english")
        search = SearchQuery(query, search_type="websearch", config="english")
        found = list(KnowledgeFact.objects.annotate(document=vector, rank=SearchRank(vector, search))
                     .filter(document=search).order_by("-rank", "position", "title")[:limit])
        if found:
            return found
    return list(KnowledgeFact.objects.filter(Q(title__icontains=query) | Q(body__icontains=query))[:limit])
