"""Opt-outs from every path land here, and take effect before the next attempt.

An opt-out is an entry in the client's DNC list: it blocks every channel and campaign of
that client at once (the gate reads the list on every decision) and revokes the
number's consents. A re-subscribe by text (START) lifts a text opt-out and restores what
that opt-out revoked. Every change is written to the audit ledger.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from compliance.models import Consent, DncEntry, LedgerEntry
from compliance.platform.models import SmsKeyword
from compliance.rules import TEXT_OPT_OUT_SOURCES, Channel, OptOutSource, sms_text_normalize
from tenants.models import Client, PhoneNumber
from tenants.phone import to_e164

TWILIO_UNSUBSCRIBED = 21610  # "Attempt to send to unsubscribed recipient"

log = logging.getLogger(__name__)


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
            # Each revoked consent names the entry that revoked it, so a START can give back
            # exactly what this opt-out took (and nothing withdrawn some other way).
            revoked = Consent.objects.filter(number=e164, revoked_at__isnull=True).update(
                revoked_at=at, revoked_reason=_revoked_by(entry))
            counted = f" {revoked} consent{'' if revoked == 1 else 's'} revoked." if revoked else ""
            _ledger(LedgerEntry.Event.OPT_OUT, e164, at=at, asked_by=added_by, code=source,
                    text=f"Opted out: {OptOutSource(source).label}.{counted}", detail=reason)
            from webhooks import events  # contact.opted_out, committed with the entry

            events.contact_opted_out(entry, client=client)
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


def consent_revoke(*, consent: Consent, by: str, reason: str = "", at: dt.datetime | None = None) -> bool:
    """Withdraw one consent (or business relationship): kept, stamped revoked, on the ledger; the
    gate stops counting it from the next decision. Idempotent: True the first time, and a second
    revoke changes nothing (the first stamp and reason stay)."""
    at = at or timezone.now()
    with transaction.atomic():
        # The row lock makes two concurrent revokes one: the second sees it revoked.
        current = Consent.objects.select_for_update().get(pk=consent.pk)
        if current.revoked_at is not None:
            return False
        said = f"Revoked by {by}" + (f": {reason.strip()}" if reason.strip() else "")
        current.revoked_at, current.revoked_reason = at, said[:300]
        current.save(update_fields=["revoked_at", "revoked_reason"])
        # No event of its own yet (a new choice needs a compliance migration): a consent event
        # whose reason code says it is a revocation.
        _ledger(LedgerEntry.Event.CONSENT, current.number, at=at, asked_by=by, code="consent_revoked",
                text=f"Consent revoked: {current.get_kind_display()} ({current.get_source_display()}, "
                     f"consent #{current.pk}).", detail=reason)
    consent.revoked_at, consent.revoked_reason = current.revoked_at, current.revoked_reason
    return True


def consents_revoke(*, number: str, by: str, reason: str = "", kind: str | None = None) -> list[Consent]:
    """Withdraw ``number``'s consents still in force (only those of ``kind`` if given), each with
    ``consent_revoke``; returns those revoked now ([] when there was none). Raises ValidationError
    for a malformed number or an unknown kind."""
    e164 = to_e164(number)
    if kind is not None and kind not in Consent.Kind.values:
        raise ValidationError({"kind": f"Unknown consent kind “{kind}”."})
    found = Consent.objects.filter(number=e164, revoked_at__isnull=True)
    if kind is not None:
        found = found.filter(kind=kind)
    at = timezone.now()
    with transaction.atomic():
        return [c for c in found.order_by("pk") if consent_revoke(consent=c, by=by, reason=reason, at=at)]


def twilio_send_error_record(*, client: Client, number: str, error_code: int | str, added_by: str = "twilio") -> bool:
    """A failed send: Twilio's 21610 means the recipient texted STOP to that sender. True if it opted out."""
    if str(error_code).strip() != str(TWILIO_UNSUBSCRIBED):
        return False
    opt_out_record(client=client, number=number, source=OptOutSource.TWILIO_21610, added_by=added_by,
                   reason=f"Twilio error {TWILIO_UNSUBSCRIBED}: recipient unsubscribed")
    return True


# --- Inbound texts ------------------------------------------------------------------------

# The replies, per language. A keyword's reply is in the keyword's language where the client
# serves it, else in the client's first language (English where we have no wording for it).
# Each names the keywords of its own language, which this module also honours.
_REPLIES = {
    "en": {
        "opt_out": "{name}: you are unsubscribed and will get no more messages or calls from us. "
                   "Reply START to get texts again.",
        "opt_in": "{name}: you are subscribed to our texts again. Reply STOP to opt out.",
        "help": "{name}: {contact}Reply STOP to opt out of messages. Msg & data rates may apply.",
        "contact": "for help call {phone}. ",
    },
    "es": {
        "opt_out": "{name}: se ha dado de baja y no recibirá más mensajes ni llamadas de nuestra parte. "
                   "Responda INICIO para volver a recibir mensajes.",
        "opt_in": "{name}: se ha vuelto a suscribir a nuestros mensajes. Responda ALTO para darse de baja.",
        "help": "{name}: {contact}Responda ALTO para no recibir más mensajes. "
                "Pueden aplicarse tarifas de mensajes y datos.",
        "contact": "para obtener ayuda, llame al {phone}. ",
    },
}

# Which keyword wins when several match: opting out first, a possible opt-out last; within
# an action the most specific match (a keyword said alone or first beats a phrase).
_ACTION_ORDER = [SmsKeyword.Action.OPT_OUT, SmsKeyword.Action.OPT_IN, SmsKeyword.Action.HELP, SmsKeyword.Action.REVIEW]
_MATCH_ORDER = [SmsKeyword.Match.EXACT, SmsKeyword.Match.FIRST_WORD, SmsKeyword.Match.PHRASE]


def sms_keyword_match(body: str) -> tuple[str, SmsKeyword] | None:
    """(action, the keyword that matched) for an inbound text, or None. Opting out wins over anything else.

    Every language's keywords are matched, whatever the client serves: a revocation is
    honoured in any language we know (the FCC: consent may be revoked by any reasonable means).
    """
    text = sms_text_normalize(body)
    if not text:
        return None
    padded = f" {text} "
    keywords = sorted(SmsKeyword.objects.all(),
                      key=lambda kw: (_ACTION_ORDER.index(kw.action), _MATCH_ORDER.index(kw.match), kw.text))
    for kw in keywords:
        if kw.match == SmsKeyword.Match.EXACT and text == kw.text:
            return kw.action, kw
        if kw.match == SmsKeyword.Match.FIRST_WORD and (text == kw.text or text.startswith(kw.text + " ")):
            return kw.action, kw
        if kw.match == SmsKeyword.Match.PHRASE and f" {kw.text} " in padded:
            return kw.action, kw
    return None


def inbound_sms_handle(*, client: Client, from_number: str, body: str) -> str | None:
    """Act on an inbound text's opt-out, re-subscribe or help keywords; return the reply to send.

    At most one confirmation: a repeated STOP from a number already opted out returns
    None. START / UNSTOP / YES (INICIO, SÍ …) lift an opt-out only if it was made by text,
    and restore what it revoked. A possible opt-out (“not interested”, “no gracias”) is
    flagged in the ledger for a person and returns None. None means "not a keyword": the
    caller treats the text as a message. Runs in the client's schema.
    """
    match = sms_keyword_match(body)
    if match is None:
        return None
    action, keyword = match
    asked_by = f"sms from {from_number}"
    replies = _REPLIES[_reply_language(client, keyword)]
    if action == SmsKeyword.Action.OPT_OUT:
        source = OptOutSource.SMS_TEXT if keyword.match == SmsKeyword.Match.PHRASE else OptOutSource.SMS_KEYWORD
        _, created = opt_out_record(client=client, number=from_number, source=source, added_by=asked_by,
                                    reason=(body or "").strip())
        if not created:
            return None
        return replies["opt_out"].format(name=client.name)
    if action == SmsKeyword.Action.OPT_IN:
        if not _opt_in_by_text(client=client, number=from_number, body=body, asked_by=asked_by):
            return None
        return replies["opt_in"].format(name=client.name)
    if action == SmsKeyword.Action.REVIEW:
        _opt_out_review_flag(client=client, number=from_number, body=body, keyword=keyword, asked_by=asked_by)
        return None
    phone = _help_phone(client)
    contact = replies["contact"].format(phone=phone.national_format) if phone else ""
    return replies["help"].format(name=client.name, contact=contact)


def _reply_language(client: Client, keyword: SmsKeyword) -> str:
    served = list(client.languages or ["en"])
    language = keyword.language if keyword.language in served else served[0]
    return language if language in _REPLIES else "en"


def _opt_in_by_text(*, client: Client, number: str, body: str, asked_by: str) -> bool:
    """Lift a text opt-out and give back what it revoked. False when there was nothing to lift."""
    e164 = to_e164(number)
    now = timezone.now()
    said = (body or "").strip()
    with transaction.atomic():
        entry = DncEntry.objects.select_for_update().filter(number=e164, removed_at__isnull=True).first()
        if entry is None:
            return False  # not opted out: nothing to confirm
        if entry.source not in TEXT_OPT_OUT_SOURCES:
            # Opted out another way (a call, the portal, an agent): a text can't undo that.
            _ledger(LedgerEntry.Event.OPT_IN_REFUSED, e164, at=now, asked_by=asked_by, code="opt_in_refused",
                    text=f"Re-subscribe by text refused: the opt-out was by {entry.get_source_display()}.", detail=body)
            return False
        entry.removed_at, entry.removed_by, entry.removed_reason = now, asked_by, f"Re-subscribed by text: {said}"[:300]
        entry.save(update_fields=["removed_at", "removed_by", "removed_reason"])
        # What trusted senders do: the re-subscription re-enables what the opt-out disabled.
        # The consents it revoked come back as new rows with their own proof and dates (an
        # EBR's window still runs from its transaction); the revoked rows stay as they were.
        restored = [
            Consent.objects.create(
                number=e164, kind=old.kind, source=old.source, obtained_at=old.obtained_at, expires_at=old.expires_at,
                recorded_by=asked_by[:200],
                evidence=f"{old.evidence}\n[Restored by the text “{said}” on {now:%Y-%m-%d}: consent #{old.pk}, "
                         f"revoked by the opt-out.]".lstrip())
            for old in _consents_revoked_by(entry).order_by("pk")
        ]
        Consent.objects.create(number=e164, kind=Consent.Kind.EXPRESS, source=Consent.Source.SMS, obtained_at=now,
                               evidence=f"Texted “{said}” to re-subscribe", recorded_by=asked_by[:200])
        text = "Re-subscribed to texts by text."
        if restored:
            text += " Restored what the opt-out revoked: " + "; ".join(
                f"{c.get_kind_display()}, {c.get_source_display().lower()}" for c in restored) + "."
        _ledger(LedgerEntry.Event.OPT_IN, e164, at=now, asked_by=asked_by, code="opt_in", text=text, detail=body,
                channel=Channel.SMS)
    return True


def _revoked_by(entry: DncEntry) -> str:
    return f"Opt-out ({OptOutSource(entry.source).label}), DNC entry #{entry.pk}"


def _consents_revoked_by(entry: DncEntry):
    """The consents ``entry``'s opt-out revoked. Opt-outs recorded before revocations named
    their entry said only “Opt-out (<source>)”, stamped as the entry was written."""
    legacy = Q(revoked_reason=f"Opt-out ({OptOutSource(entry.source).label})",
               revoked_at__gte=entry.created - dt.timedelta(minutes=1), revoked_at__lte=entry.created)
    return Consent.objects.filter(Q(revoked_reason=_revoked_by(entry)) | legacy, number=entry.number)


def _opt_out_review_flag(*, client: Client, number: str, body: str, keyword: SmsKeyword, asked_by: str) -> None:
    """A text that may mean “stop” but is not clear enough to act on: write it to the client's
    ledger (the portal's and the admin's ledger list it under “Possible opt-out”) for a person
    to read, and opt the number out in the portal if it does mean stop."""
    try:
        e164 = to_e164(number)
    except ValidationError:
        e164 = number  # kept as Twilio gave it: the flag is still worth a look
    if DncEntry.objects.filter(number=e164, removed_at__isnull=True).exists():
        return  # already opted out: nothing left to decide
    entry = LedgerEntry.objects.create(
        at=timezone.now(), event=LedgerEntry.Event.OPT_OUT_REVIEW, number=e164[:32], asked_by=asked_by[:200],
        channel=Channel.SMS, detail=body or "",
        reasons=[{"code": "possible_opt_out", "deny": False,
                  "text": f"Possible opt-out (“{keyword.text}”), not acted on: if it means stop, add the number "
                          f"to the DNC list."}])
    log.warning("possible opt-out in a text to %s flagged for a person (ledger entry #%s)", client.schema_name, entry.pk)


def _help_phone(client: Client) -> PhoneNumber | None:
    return client.phone_numbers.filter(purpose=PhoneNumber.Purpose.ANSWERING).order_by("number").first()


def _ledger(event: str, number: str, *, at, asked_by: str, code: str, text: str, detail: str = "", channel: str = "") -> None:
    LedgerEntry.objects.create(at=at, event=event, number=number, asked_by=asked_by[:200], channel=channel,
                               reasons=[{"code": code, "text": text, "deny": False}], detail=detail or "")
