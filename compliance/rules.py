"""The vocabulary the gate speaks, shared by the public and the tenant models.

Numbers the law fixes live in the rule tables (compliance.platform.models), with their
sources; what stays here is the vocabulary: purposes, channels, opt-out sources, the one
spelling of an SMS keyword, and the abandonment rate with its cap, which the gate and the
selectors both speak of.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import models


class Purpose(models.TextChoices):
    TELEMARKETING = "telemarketing", "Telemarketing (sales, lead follow-up, win-back)"
    INFORMATIONAL = "informational", "Informational (reminders, confirmations, surveys)"
    DEBT_COLLECTION = "debt_collection", "Debt collection"
    STAFF = "staff", "The client's own staff (on-call, message delivery)"


class Channel(models.TextChoices):
    VOICE = "voice", "Live voice (dialed by a person)"
    AUTODIALED = "autodialed", "Autodialed voice (power / predictive dialer)"
    PRERECORDED = "prerecorded", "Prerecorded or artificial voice"
    SMS = "sms", "SMS"


# Channels the TCPA treats as robocalls: they need consent (texts count as calls).
ROBO_CHANNELS = frozenset({Channel.AUTODIALED, Channel.PRERECORDED, Channel.SMS})
VOICE_CHANNELS = frozenset({Channel.VOICE, Channel.AUTODIALED, Channel.PRERECORDED})


class OptOutSource(models.TextChoices):
    """Every path an opt-out can arrive by; all of them land in the client's DNC list."""

    SMS_KEYWORD = "sms_keyword", "SMS keyword (STOP…)"
    SMS_TEXT = "sms_text", "SMS words that revoke consent"
    TWILIO_21610 = "twilio_21610", "Twilio error 21610 (recipient unsubscribed)"
    AGENT = "agent", "Agent disposition “do not call”"
    IVR_KEY = "ivr_key", "Key pressed on an outbound call"
    PORTAL = "portal", "Client portal"
    ADMIN = "admin", "Admin"
    CSV_IMPORT = "csv_import", "CSV import"
    API = "api", "API"


# Opt-outs made by text: only these may be lifted by a START / UNSTOP / YES text.
TEXT_OPT_OUT_SOURCES = frozenset({OptOutSource.SMS_KEYWORD, OptOutSource.SMS_TEXT, OptOutSource.TWILIO_21610})


_APOSTROPHES = re.compile(r"['’`]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def sms_text_normalize(body: str) -> str:
    """“¡NO MÁS!” → “no mas”, “Don't text me!!” → “dont text me”: the form inbound texts and
    SMS keywords are compared in. Lowercase, accents folded (texters type “mas” as often as
    “más”, and some phones drop accents), no apostrophes, words split by one space."""
    text = unicodedata.normalize("NFKD", (body or "").lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", text)).strip()


# A campaign's abandonment rate over a rolling window (compliance.selectors computes it,
# the gate stops autodialing at the cap).
ABANDONMENT_CAP = 0.03  # TSR 310.4(b)(4)(i); 47 CFR 64.1200(a)(7)(i)
ABANDONMENT_SLOW_DOWN = 0.025  # where the dialer starts easing off
ABANDONMENT_DAYS = 30


@dataclass(frozen=True)
class AbandonmentRate:
    abandoned: int
    live_answered: int  # every call a person picked up: connected to an agent or abandoned
    rate: float
    status: str  # ok, slow_down, stop
