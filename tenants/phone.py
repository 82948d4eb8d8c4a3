"""Phone numbers: parsed and stored as E.164 with `phonenumbers`, never with a regex."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models

DEFAULT_REGION = "US"

# 555-0100 through 555-0199 are reserved for fiction in the North American plan;
# `phonenumbers` calls them invalid, but the demo and the tests use them on purpose.
_FICTIONAL_EXCHANGE = "55501"


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """Parse ``raw`` as a phone number and return it in E.164, or raise ValidationError."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("A phone number is required.", code="phone_required")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"“{text}” is not a phone number ({exc._msg}).", code="phone_malformed") from exc
    if not (phonenumbers.is_valid_number(parsed) or _is_fictional_nanp(parsed)):
        raise ValidationError(f"“{text}” is not a valid phone number.", code="phone_invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _is_fictional_nanp(parsed: phonenumbers.PhoneNumber) -> bool:
    national = str(parsed.national_number)
    return parsed.country_code == 1 and len(national) == 10 and national[3:8] == _FICTIONAL_EXCHANGE


class PhoneNumberField(models.CharField):
    """A CharField that only ever holds E.164."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return to_e164(value) if value else value

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value:
            value = to_e164(value)
            setattr(model_instance, self.attname, value)
        return value
