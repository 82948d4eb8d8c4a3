"""Opt-outs from every path land here, and take effect before the next attempt.

An opt-out is an entry in the client's DNC list: it blocks every channel and campaign of
that client at once (the gate reads the list on every decision) and revokes the
number's consents. Every change is written to the audit ledger.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.models import Consent, DncEntry, LedgerEntry
from compliance.platform.models import SmsKeyword
from compliance.rules import TEXT_OPT_OUT_SOURCES, Channel, OptOutSource
from tenants.models import Client, PhoneNumber
from tenants.phone import to_e164

TWILIO_UNSUBSCRIBED = 21610  # "Attempt to send to unsubscribed recipient"


def opt_out_record(
    *, client: Client, number: str, source: str, added_by: str, reason: str = "", at: dt.datetime | None = None,
) -> tuple[DncEntry, bool]:
    """Put ``number`` on the client's DNC list, revoke its consents, write the ledger.

    Idempotent: a number already on the list keeps its entry (returned with False), so a
    repeated STOP or a retried webhook changes nothing and confirms nothing twice.
    Raises ValidationError for a malformed number.
    """
    e164 = to_e164(number)
    at = at or timezone.now()
    if source not in OptOutSource.values:
        raise ValidationError(f"Unknown opt-out source “{source}”.")
    existing = DncEntry.objects.filter(number=e164, removed_at__isnull=True).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            entry = DncEntry.objects.create(number=e164, source=source, reason=reason[:300], added_by=added_by[:200])
            Consent.objects.filter(number=e164, revoked_at__isnull=True).update(
                revoked_at=at, revoked_reason=f"Opt-out ({OptOutSource(source).label})")
            _ledger(LedgerEntry.Event.OPT_OUT, e164, at=at, asked_by=added_by, code=source,
                    text=f"Opted out: {OptOutSource(source).label}.", detail=reason)
    except IntegrityError:
        # A concurrent opt-out of the same number won the race: the partial unique index
        # keeps one active entry. Theirs is as good as ours.
        return DncEntry.objects.get(number=e164, removed_at__isnull=True), False
    return entry, True


def dnc_entry_remove(*, client: Client, number: str, removed_by: str, reason: str = "") -> DncEntry | None:
    """Take a number off the client's DNC list. The entry is kept (5 years), stamped removed."""
    e164 = to_e164(number)
    with transaction.atomic():
        entry = DncEntry.objects.select_for_update().filter(number=e164, removed_at__isnull=True).first()
        if entry is None:
            return None
        now = timezone.now()
        entry.removed_at, entry.removed_by, entry.removed_reason = now, removed_by[:200], reason[:300]
        entry.save(update_fields=["removed_at", "removed_by", "removed_reason"])
        _ledger(LedgerEntry.Event.DNC_REMOVED, e164, at=now, asked_by=removed_by, code="dnc_removed",
                text=f"Removed from the DNC list (was: {entry.get_source_display()}).", detail=reason)
    return entry


def consent_record(
    *, client: Client, number: str, kind: str, source: str, obtained_at: dt.datetime, recorded_by: str,
    evidence: str = "", expires_at: dt.datetime | None = None,
) -> Consent:
    """Record consent or an established business relationship, and write the ledger."""
    e164 = to_e164(number)
    consent = Consent(number=e164, kind=kind, source=source, evidence=evidence, obtained_at=obtained_at,
                      expires_at=expires_at, recorded_by=recorded_by)
    consent.full_clean()
    with transaction.atomic():
        consent.save()
        _ledger(LedgerEntry.Event.CONSENT, e164, at=obtained_at, asked_by=recorded_by, code=kind,
                text=f"{consent.get_kind_display()} ({consent.get_source_display()}).", detail=evidence)
    return consent


def twilio_send_error_record(*, client: Client, number: str, error_code: int | str, added_by: str = "twilio") -> bool:
    """A failed send: Twilio's 21610 means the recipient texted STOP to that sender. True if it opted out."""
    if str(error_code).strip() != str(TWILIO_UNSUBSCRIBED):
        return False
    opt_out_record(client=client, number=number, source=OptOutSource.TWILIO_21610, added_by=added_by,
                   reason=f"Twilio error {TWILIO_UNSUBSCRIBED}: recipient unsubscribed")
    return True


# --- Inbound texts ------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['’`]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def sms_text_normalize(body: str) -> str:
    """“Don't text me!!” → “dont text me”: lowercase, no apostrophes, words split by one space."""
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", (body or "").lower())).strip()


def sms_keyword_match(body: str) -> tuple[str, SmsKeyword] | None:
    """(action, the keyword that matched) for an inbound text, or None. Opting out wins over anything else."""
    text = sms_text_normalize(body)
    if not text:
        return None
    padded = f" {text} "
    keywords = list(SmsKeyword.objects.all())
    order = [SmsKeyword.Action.OPT_OUT, SmsKeyword.Action.OPT_IN, SmsKeyword.Action.HELP]
    for action in order:
        for kw in keywords:
            if kw.action != action:
                continue
            if kw.match == SmsKeyword.Match.EXACT and text == kw.text:
                return action, kw
            if kw.match == SmsKeyword.Match.FIRST_WORD and (text == kw.text or text.startswith(kw.text + " ")):
                return action, kw
            if kw.match == SmsKeyword.Match.PHRASE and f" {kw.text} " in padded:
                return action, kw
    return None


def inbound_sms_handle(*, client: Client, from_number: str, body: str) -> str | None:
    """Act on an inbound text's opt-out, re-subscribe or help keywords; return the reply to send.

    At most one confirmation: a repeated STOP from a number already opted out returns
    None. START / UNSTOP / YES lift an opt-out only if it was made by text. None means
    "not a keyword": the caller treats the text as a message. Runs in the client's schema.
    """
    match = sms_keyword_match(body)
    if match is None:
        return None
    action, keyword = match
    asked_by = f"sms from {from_number}"
    if action == SmsKeyword.Action.OPT_OUT:
        source = OptOutSource.SMS_TEXT if keyword.match == SmsKeyword.Match.PHRASE else OptOutSource.SMS_KEYWORD
        _, created = opt_out_record(client=client, number=from_number, source=source, added_by=asked_by,
                                    reason=(body or "").strip())
        if not created:
            return None
        return (f"{client.name}: you are unsubscribed and will get no more messages or calls from us. "
                f"Reply START to get texts again.")
    if action == SmsKeyword.Action.OPT_IN:
        return _opt_in_by_text(client=client, number=from_number, body=body, asked_by=asked_by)
    return (f"{client.name}: {_help_contact(client)}Reply STOP to opt out of messages. "
            f"Msg & data rates may apply.")


def _opt_in_by_text(*, client: Client, number: str, body: str, asked_by: str) -> str | None:
    e164 = to_e164(number)
    now = timezone.now()
    with transaction.atomic():
        entry = DncEntry.objects.select_for_update().filter(number=e164, removed_at__isnull=True).first()
        if entry is None:
            return None  # not opted out: nothing to confirm
        if entry.source not in TEXT_OPT_OUT_SOURCES:
            # Opted out another way (a call, the portal, an agent): a text can't undo that.
            _ledger(LedgerEntry.Event.OPT_IN_REFUSED, e164, at=now, asked_by=asked_by, code="opt_in_refused",
                    text=f"Re-subscribe by text refused: the opt-out was by {entry.get_source_display()}.", detail=body)
            return None
        entry.removed_at, entry.removed_by, entry.removed_reason = now, asked_by, f"Re-subscribed by text: {body.strip()}"[:300]
        entry.save(update_fields=["removed_at", "removed_by", "removed_reason"])
        Consent.objects.create(number=e164, kind=Consent.Kind.EXPRESS, source=Consent.Source.SMS, obtained_at=now,
                               evidence=f"Texted “{body.strip()}” to re-subscribe", recorded_by=asked_by)
        _ledger(LedgerEntry.Event.OPT_IN, e164, at=now, asked_by=asked_by, code="opt_in",
                text="Re-subscribed to texts by text.", detail=body, channel=Channel.SMS)
    return f"{client.name}: you are subscribed to our texts again. Reply STOP to opt out."


def _help_contact(client: Client) -> str:
    phone = client.phone_numbers.filter(purpose=PhoneNumber.Purpose.ANSWERING).order_by("number").first()
    return f"for help call {phone.national_format}. " if phone else ""


def _ledger(event: str, number: str, *, at, asked_by: str, code: str, text: str, detail: str = "", channel: str = "") -> None:
    LedgerEntry.objects.create(at=at, event=event, number=number, asked_by=asked_by[:200], channel=channel,
                               reasons=[{"code": code, "text": text, "deny": False}], detail=detail or "")


# --- CSV import ---------------------------------------------------------------------------

@dataclass
class DncImportResult:
    added: int = 0
    already: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)


def dnc_csv_import(*, client: Client, data: str | bytes, added_by: str, source: str = OptOutSource.CSV_IMPORT) -> DncImportResult:
    """Add the numbers of a CSV (``number[,reason]``, header optional) to the client's DNC list.

    Every row is checked first; the good rows are written in one transaction and the bad
    ones reported by line — so the list gets all the good rows or, on a failure, none.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig", errors="replace")
    result = DncImportResult()
    good: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line_no, row in enumerate(csv.reader(io.StringIO(data)), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        raw = row[0].strip()
        if line_no == 1 and raw.lower() in ("number", "phone", "phone number", "telephone"):
            continue  # header
        try:
            e164 = to_e164(raw)
        except ValidationError as exc:
            result.errors.append((line_no, exc.messages[0]))
            continue
        if e164 in seen:
            result.errors.append((line_no, f"{e164} is listed twice; the first row is kept."))
            continue
        seen.add(e164)
        good.append((e164, row[1].strip() if len(row) > 1 else ""))
    with transaction.atomic():
        for e164, reason in good:
            _, created = opt_out_record(client=client, number=e164, source=source, added_by=added_by, reason=reason)
            result.added += created
            result.already += not created
    return result
