"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed
with the base64-decoded part of the endpoint's ``whsec_`` secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from webhooks.models import SECRET_PREFIX, WebhookEndpoint


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(endpoint: WebhookEndpoint, *, event_id: str, timestamp: int, body: bytes, now: datetime) -> dict[str, str]:
    """The request's headers. During a rotation the old secret signs too (space-separated, as the
    spec says), so a receiver still holding it keeps verifying until it switches."""
    signatures = [signature(endpoint.secret, event_id, timestamp, body)]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        signatures.append(signature(endpoint.previous_secret, event_id, timestamp, body))
    return {"Content-Type": "application/json", "User-Agent": "Switchboard-Webhooks/1",
            "webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": " ".join(signatures)}
