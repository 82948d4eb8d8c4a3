"""What every /twilio/ URL does before its view runs: check the signature, and answer a
retried request with the answer it already got.

The signature is checked against the URL Twilio called, rebuilt from PUBLIC_BASE_URL
(so it validates behind a TLS-terminating proxy), with the platform's auth token or the
token of the (sub)account that owns the number.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
from http import HTTPStatus
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import BadRequest, TooManyFieldsSent
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from answering.acd.models import TwilioAccount, TwilioRequest
from switchboard import db

logger = logging.getLogger("switchboard.twilio")


def public_url(request: HttpRequest) -> str:
    """The URL as Twilio called it: public base + path + the raw query string."""
    url = settings.PUBLIC_BASE_URL + request.path
    query = request.META.get("QUERY_STRING", "")
    return f"{url}?{query}" if query else url


def _tokens(account_sid: str, *, use_database: bool) -> list[str]:
    tokens = [settings.TWILIO_AUTH_TOKEN] if settings.TWILIO_AUTH_TOKEN else []
    if use_database and account_sid and account_sid != settings.TWILIO_ACCOUNT_SID and not db.database_down():
        try:
            token = TwilioAccount.objects.filter(sid=account_sid).values_list("auth_token", flat=True).first()
            if token:
                tokens.insert(0, token)
        except DatabaseError as exc:
            logger.warning("database unreachable: only the platform token can validate %s", account_sid)
            if isinstance(exc, db.UNREACHABLE):
                db.database_unreachable(exc)
    return tokens


def signature_valid(request: HttpRequest, *, use_database: bool = True) -> bool:
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not signature:
        return False
    url = public_url(request)
    params = request.POST
    return any(_signed_by(token, url, params, signature)
               for token in _tokens(params.get("AccountSid", ""), use_database=use_database))


def _signed_by(token: str, url: str, params: MultiValueDict, signature: str) -> bool:
    """The URL exactly as we rebuilt it is what Twilio signs: one HMAC, on every call's every
    webhook. Anything else (the URL with the default port added or removed) goes to the
    library's full check, which computes the other variants."""
    return (hmac.compare_digest(_signature(token, url, params).encode(), signature.encode())
            or RequestValidator(token).validate(url, params, signature))


def _signature(token: str, url: str, params: MultiValueDict) -> str:
    """``RequestValidator.compute_signature``, the same string signed the same way (the URL,
    then each name and value, sorted) in one join instead of a concatenation per parameter:
    a third of the time for the two dozen parameters of a voice webhook. Tests compare the
    two."""
    signed = url + "".join(name + value for name, values in sorted(params.lists()) for value in sorted(set(values)))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def request_key(request: HttpRequest) -> str:
    """What makes two requests the same request: path, query and every parameter."""
    parts = [request.path, request.META.get("QUERY_STRING", "")]
    parts += (f"{name}\0{value}" for name, values in sorted(request.POST.lists()) for value in sorted(values))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


_FORM = "application/x-www-form-urlencoded"


def _read_form(request: HttpRequest) -> None:
    """Parse Twilio's form-encoded parameters into ``request.POST``, as Django would, but in a
    sixth of the time: Django's ``QueryDict`` adds them one at a time through three layers,
    0.15 ms for the two dozen parameters of every voice webhook (measured; docs/figures.md).
    Same rules as ``QueryDict``: UTF-8 (else Latin-1), ``+`` and ``%xx``
    decoded with bad bytes replaced, blank values kept, at most
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` fields; the size limit is ``request.body``'s; the
    result reads like a ``QueryDict`` (a ``MultiValueDict``, its base). Any other content
    type or charset is left to Django."""
    if request.content_type != _FORM or request.content_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return
    body = request.body
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = body.decode("iso-8859-1")
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if limit is not None and text.count("&") + 1 > limit:
        raise TooManyFieldsSent("The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")
    form: dict[str, list[str]] = {}
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name, value = unquote_plus(name), unquote_plus(value)
        form.setdefault(name, []).append(value)
    request.POST = MultiValueDict(form)


# A CallSid as Twilio makes them: "CA" and 32 hex digits. Anything else never came from
# Twilio for a call, and would be written into every table the call touches.
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    logger.warning("malformed Twilio request refused (400): %s from %s: %s",
                   request.path, request.META.get("REMOTE_ADDR"), reason)
    return HttpResponse(f"Bad request: {reason}", status=HTTPStatus.BAD_REQUEST, content_type="text/plain")


def _unreadable(request: HttpRequest) -> str | None:
    """Why the form cannot even be read (and so its signature not checked), or None. Twilio
    sends UTF-8; Django refuses a form in any other charset it knows (BadRequest) and would
    read one it does not know as UTF-8: both are refused here, with the charset named."""
    charset = request.content_params.get("charset", "utf-8")
    if request.content_type == _FORM and charset.lower() not in ("utf-8", "utf8"):
        return f"the form cannot be read: charset={charset[:40]!r} (Twilio sends UTF-8)"
    try:
        _read_form(request)
        request.POST  # noqa: B018 — parsed here, where a failure is a clear 400
    except TooManyFieldsSent:
        raise  # Django's own 400 (a SuspiciousOperation), logged by Django
    except (BadRequest, LookupError, MultiPartParserError, UnicodeDecodeError, ValueError) as exc:
        return f"the form cannot be read ({request.content_type[:60]}; charset={charset[:40]!r}): {exc}"
    return None


def _unstorable(request: HttpRequest, kwargs: dict) -> str | None:
    """A NUL anywhere in the parameters or the URL: no PostgreSQL text can hold one, and
    Twilio never sends one."""
    for where, params in (("parameter", request.POST), ("query parameter", request.GET)):
        for name, values in params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return f"a NUL byte in the {where} {name!r}"
    for name, value in kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            return f"a NUL byte in the URL's {name}"
    return None


def _malformed_call(request: HttpRequest, kwargs: dict, *, call_sid_required: bool) -> str | None:
    """A call's webhook that names no call, or names one the way Twilio never does."""
    in_path = kwargs.get("call_sid")
    if in_path is not None and not CALL_SID.fullmatch(in_path):
        return f"the URL's CallSid {in_path[:40]!r} is not a Twilio CallSid (CA and 32 hex digits)"
    sent = request.POST.get("CallSid")
    if sent is None:
        return "no CallSid parameter" if call_sid_required else None
    if not CALL_SID.fullmatch(sent):
        return f"the CallSid {sent[:40]!r} is not a Twilio CallSid (CA and 32 hex digits)"
    return None


def twilio_webhook(view=None, *, idempotent: bool = True, use_database: bool = True, call_sid_required: bool = False,
                   database_down=None):
    """Decorate a Twilio webhook view: POST only, signed (403 otherwise, logged), and —
    when ``idempotent`` — a retried request (identical path and parameters) gets the
    stored answer and runs nothing again. The view and the stored answer commit together.

    A form Twilio never sends is a 400, logged, before anything is written: one that cannot
    be read (another charset), one with a NUL byte, a CallSid (in the form, or the URL's
    ``call_sid``) that is not Twilio's shape, and — with ``call_sid_required`` (a call's
    webhooks) — none at all.

    ``database_down(request)`` answers instead of the view while the database cannot be
    reached: at once when this process already knows it is down (``switchboard.db``), or
    when the view (or the stored-answer claim) fails to reach it — a caller hears something
    within a second, not Twilio's silence until its 15 s timeout."""

    def decorate(view_func):
        @csrf_exempt
        @functools.wraps(view_func)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method != "POST":
                return HttpResponse(status=HTTPStatus.METHOD_NOT_ALLOWED)
            if reason := _unreadable(request) or _unstorable(request, kwargs):
                return _refused(request, reason)
            if not signature_valid(request, use_database=use_database):
                logger.warning("forged or unsigned Twilio request refused: %s from %s (CallSid=%s MessageSid=%s)",
                               request.path, request.META.get("REMOTE_ADDR"), request.POST.get("CallSid", ""),
                               request.POST.get("MessageSid", ""))
                return HttpResponse("Invalid Twilio signature", status=HTTPStatus.FORBIDDEN, content_type="text/plain")
            if reason := _malformed_call(request, kwargs, call_sid_required=call_sid_required):
                return _refused(request, reason)
            if database_down is not None and db.database_down():
                return database_down(request)  # signed: what it says (a recording) may be kept
            try:
                if not idempotent:
                    return view_func(request, *args, **kwargs)
                return _once(request, view_func, args, kwargs)
            except db.UNREACHABLE as exc:
                if database_down is None:
                    raise
                db.database_unreachable(exc)
                return database_down(request)

        return wrapper

    return decorate(view) if view is not None else decorate


def _once(request: HttpRequest, view_func, args, kwargs) -> HttpResponse:
    """Claim the request's key first (INSERT ... ON CONFLICT DO NOTHING): the claimant runs
    the view and stores its answer in the same transaction; a copy arriving meanwhile
    waits on the claim's row, then reads the stored answer."""
    key = request_key(request)
    table = connection.ops.quote_name(TwilioRequest._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f'INSERT INTO {table} (key, path, status, content_type, body, created) '
                           "VALUES (%s, %s, 0, '', '', now()) ON CONFLICT (key) DO NOTHING RETURNING key",
                           [key, request.path[:200]])
            claimed = cursor.fetchone() is not None
        if not claimed:
            stored = TwilioRequest.objects.get(key=key)
            logger.info("retried Twilio request %s answered from the record", request.path)
            return HttpResponse(stored.body, status=stored.status, content_type=stored.content_type)
        response = view_func(request, *args, **kwargs)
        TwilioRequest.objects.filter(key=key).update(
            status=response.status_code, content_type=response.get("Content-Type", "text/xml"),
            body=response.content.decode())
        return response


# --- The connected call's conference: its webhooks (answering/acd/services/controls.py) -------
# Signed and idempotent like the others (a retry changes nothing twice); the call is the
# caller's, named in the URL, so a leg's callback (its own CallSid) still finds it.

def _caller(call_sid: str):
    from answering.acd import selectors as acd_selectors

    session = acd_selectors.call_by_sid(call_sid)
    if session is None:
        from django.http import Http404

        raise Http404("No such call.")
    return session


@twilio_webhook(call_sid_required=True)
def voice_conference(request: HttpRequest, call_sid: str) -> HttpResponse:
    """Twilio's conference events: its SID (which participant commands need), joins, leaves."""
    from answering.acd import services as acd

    p = request.POST
    acd.conference_event(call_sid=_caller(call_sid).call_sid, conference_sid=p.get("ConferenceSid", ""),
                         event=p.get("StatusCallbackEvent", ""), participant=p.get("ParticipantLabel", ""),
                         participant_call_sid=p.get("CallSid", ""))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


@twilio_webhook(call_sid_required=True)
def voice_leg(request: HttpRequest, call_sid: str) -> HttpResponse:
    """A leg dialed into the conference (``?leg=agent`` or ``third``) rang, answered or ended."""
    from answering.acd import services as acd

    leg = request.GET.get("leg", "")
    if leg not in ("agent", "third"):
        return _refused(request, "the leg must be agent or third")
    acd.leg_status(call_sid=_caller(call_sid).call_sid, leg=leg, leg_sid=request.POST.get("CallSid", ""),
                   status=request.POST.get("CallStatus", ""))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


@twilio_webhook(call_sid_required=True)
def voice_hold_music(request: HttpRequest, call_sid: str) -> HttpResponse:
    from answering.flow import ivr
    from answering.twilio import twiml

    return twiml.response(ivr.hold_music(_caller(call_sid)))


@twilio_webhook(call_sid_required=True)
def voice_requeue(request: HttpRequest, call_sid: str) -> HttpResponse:
    from answering.flow import ivr
    from answering.twilio import twiml

    return twiml.response(ivr.requeue(_caller(call_sid)))
