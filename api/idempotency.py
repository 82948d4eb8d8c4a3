"""``Idempotency-Key`` on POSTs: a retried request gets the first answer, and nothing happens twice.

The row for (key, Idempotency-Key) is inserted in the same transaction as the request's
effects, and its answer stored before that transaction commits. A concurrent retry's insert
waits on the unique index until the first commits — then it finds the answer and returns it —
or rolls back (a crash, a 5xx): then the retry runs as if first. So an answer exists exactly
when the effects do, and no retry ever sees effects without an answer. (Inserting the row in
a transaction of its own first, then polling, would leave a row with no answer forever when
a process dies between the two.) A retry waits at most API_IDEMPOTENCY_WAIT_SECONDS, then 409.
A retry whose method, path or body differ from the first's is refused 422.
"""

from __future__ import annotations

import hashlib
import re

from django.db import IntegrityError, OperationalError, connection, transaction
from rest_framework.response import Response

from api.data.models import IdempotentRequest
from api.errors import Problem

HEADER = "Idempotency-Key"
WAIT_SECONDS = 10
_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples


class Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request._request.body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def claim(request, *, api_key_id: int) -> IdempotentRequest | None:
    """In the request's transaction: the row that will hold this request's answer (None without the
    header). Raises Replay with the stored answer, or a Problem for a reused or malformed key."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not _VALID.match(value):
        raise Problem(400, "invalid-idempotency-key", "Idempotency-Key not valid",
                      "An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good one).",
                      errors=[{"field": "Idempotency-Key", "message": "1 to 255 visible ASCII characters."}])
    print_ = fingerprint(request)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s'")
            row = IdempotentRequest.objects.create(api_key_id=api_key_id, key=value, fingerprint=print_)
    except IntegrityError:
        row = None  # answered already: the first request committed
    except OperationalError as exc:  # lock_timeout: the first is still running
        raise Problem(409, "idempotency-in-progress", "A request with this Idempotency-Key is still running",
                      f"The first request with this key has not finished after {WAIT_SECONDS} s; retry later.",
                      headers={"Retry-After": "5"}) from exc
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = 0")
    if row is not None:
        return row
    first = IdempotentRequest.objects.get(api_key_id=api_key_id, key=value)
    if first.fingerprint != print_:
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused with another request",
                      "This Idempotency-Key was sent before with another method, path or body; use a new key "
                      "for a new request.", errors=[{"field": "Idempotency-Key", "message": "Already used for "
                                                     "another request."}])
    headers = {"Idempotent-Replayed": "true"}
    if first.location:
        headers["Location"] = first.location
    raise Replay(Response(first.body, status=first.status, headers=headers, content_type=first.content_type or None))


def store(row: IdempotentRequest, response: Response) -> None:
    """Keep ``response`` as the answer to ``row``'s key (before the transaction commits)."""
    # Not the Content-Type header: before rendering, a DRF Response still carries Django's default
    # text/html there. What it will be is the explicit content type (problem details) or the renderer's.
    renderer = getattr(response, "accepted_renderer", None)
    content_type = getattr(response, "content_type", None) or (renderer.media_type if renderer else "") or ""
    IdempotentRequest.objects.filter(pk=row.pk).update(
        status=response.status_code, body=getattr(response, "data", None), content_type=content_type[:60],
        location=response.get("Location", "")[:300])


def idempotency_prune(*, now=None) -> int:
    """Delete this client's answers older than API_IDEMPOTENCY_HOURS; a key is then free for a new request."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    return IdempotentRequest.objects.filter(created__lt=cutoff).delete()[0]
