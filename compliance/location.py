"""Where might the called party be? Numbers to E.164, NANP validity and time zones — fast.

The gate asks this for every number of a million-row scrub, so the answers come from
libphonenumber's own metadata compiled once into one regular expression and a prefix
table (microseconds instead of the library's ~20 µs per call). A test checks that they
agree with ``phonenumbers`` itself on random numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import PhoneMetadata
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from tenants.phone import to_e164

_GEOGRAPHIC_TYPES = ("fixed_line", "mobile")
_OTHER_TYPES = ("toll_free", "premium_rate", "shared_cost", "personal_number", "voip", "pager", "uan", "voicemail")
_E164_NANP = re.compile(r"\+1(\d{10})")
_FICTIONAL_EXCHANGE = "55501"  # as tenants.phone: 555-0100..0199 are for fiction, and valid here


def _nanp_pattern(types: tuple[str, ...]) -> re.Pattern:
    patterns = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = PhoneMetadata.metadata_for_region(region)
        for kind in types:
            desc = getattr(metadata, kind)
            if desc is not None and desc.national_number_pattern:
                patterns.append(f"(?:{desc.national_number_pattern})")
    return re.compile("|".join(patterns))


_VALID = _nanp_pattern(_GEOGRAPHIC_TYPES + _OTHER_TYPES)
_NON_GEOGRAPHIC = _nanp_pattern(_OTHER_TYPES)
_UNKNOWN_ZONE = "Etc/Unknown"


def normalize(raw: str) -> str | None:
    """E.164 for a valid number, None otherwise. Agrees with ``tenants.phone.to_e164``."""
    text = (raw or "").strip()
    match = _E164_NANP.fullmatch(text)
    if match:  # the common case, and the whole of a scrub's input: no parsing needed
        national = match.group(1)
        return text if (_VALID.fullmatch(national) or national[3:8] == _FICTIONAL_EXCHANGE) else None
    try:
        return to_e164(text)
    except ValidationError:
        return None


@lru_cache(maxsize=100_000)
def _zones_for_prefix(prefix: str) -> tuple[str, ...]:
    for length in range(min(len(prefix), TIMEZONE_LONGEST_PREFIX), 0, -1):
        zones = TIMEZONE_DATA.get(prefix[:length])
        if zones:
            return tuple(z for z in zones if z != _UNKNOWN_ZONE)
    return ()


def is_non_geographic(e164: str) -> bool:
    """Toll-free and other numbers that say nothing about where the person is."""
    return e164.startswith("+1") and bool(_NON_GEOGRAPHIC.fullmatch(e164[2:]))


def number_time_zones(e164: str) -> tuple[str, ...]:
    """IANA zones the number may ring in (libphonenumber's prefix data, down to the exchange)."""
    if is_non_geographic(e164):
        return ()
    # NANP time-zone prefixes are at most 7 digits (1 + area code + exchange).
    return _zones_for_prefix(e164[1:8])


@dataclass(frozen=True)
class ContactAddress:
    """Where the contact lives, when known: a state code is what the gate uses."""

    state: str = ""
    zip: str = ""

    @classmethod
    def of(cls, value) -> "ContactAddress | None":
        if value is None or isinstance(value, ContactAddress):
            return value
        if isinstance(value, str):
            return cls(state=value.strip().upper()) if value.strip() else None
        return cls(state=str(value.get("state", "")).strip().upper(), zip=str(value.get("zip", "")).strip())
