"""The one way out to Twilio's REST API.

Every module that needs Twilio (connecting callers, ending calls, fetching recordings,
later texts and call-outs) calls ``gateway.get()``. In ``live`` mode that wraps
``twilio.rest.Client`` (its base URL configurable, so tests point it at a local server
that speaks Twilio's API); in ``simulate`` mode the same commands go to the call
simulator through Redis. Without credentials in live mode it refuses, clearly.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

logger = logging.getLogger(__name__)

# Permanent failures are not retried (the number or the request is wrong); see TWILIO.md.
PERMANENT_CODES = {21211, 21214, 21216, 21217, 21608, 21610, 21635, 20003}


class GatewayError(Exception):
    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_CODES or (self.status is not None and 400 <= self.status < 500
                                                and self.code not in (20429,))


class NotConfigured(GatewayError):
    pass


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends every request to ``base_url`` instead of https://api.twilio.com (tests, Prism)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        for host in ("https://api.twilio.com",):
            if url.startswith(host):
                url = self.base_url + url[len(host):]
        return super().request(method, url, *args, **kwargs)


@dataclass
class Recording:
    sid: str
    call_sid: str
    duration: int | None
    url: str


class LiveGateway:
    def __init__(self, account_sid: str, auth_token: str, base_url: str = ""):
        if not (account_sid and auth_token):
            raise NotConfigured("Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, "
                                "or TWILIO_MODE=simulate for development.")
        http_client = _BaseUrlHttpClient(base_url, timeout=10) if base_url else TwilioHttpClient(timeout=10)
        self.client = TwilioClient(account_sid, auth_token, http_client=http_client)

    def _call(self, what: str, fn):
        try:
            return fn()
        except TwilioRestException as exc:
            logger.warning("Twilio refused %s: %s %s", what, exc.code, exc.msg)
            raise GatewayError(f"Twilio refused {what}: {exc.msg}", code=exc.code, status=exc.status) from exc

    def call_redirect(self, call_sid: str, url: str) -> None:
        """Send a live call to new TwiML (e.g. connect a queued caller to their agent)."""
        self._call("the redirect", lambda: self.client.calls(call_sid).update(url=url, method="POST"))

    def call_end(self, call_sid: str) -> None:
        self._call("ending the call", lambda: self.client.calls(call_sid).update(status="completed"))

    def queue_dequeue(self, queue_sid: str, call_sid: str, url: str) -> None:
        self._call("the dequeue", lambda: self.client.queues(queue_sid).members(call_sid).update(url=url, method="POST"))

    def recording_fetch(self, recording_sid: str) -> Recording:
        rec = self._call("the recording", lambda: self.client.recordings(recording_sid).fetch())
        return Recording(sid=rec.sid, call_sid=rec.call_sid, duration=int(rec.duration) if rec.duration else None,
                         url=f"https://api.twilio.com{rec.uri.replace('.json', '')}" if rec.uri else "")


SIM_KEY = "sim:call:{sid}"


class SimulatedGateway:
    """Hands each command to the simulator that plays this call (see simulator.py)."""

    def __init__(self, redis_url: str):
        self.redis = redis.Redis.from_url(redis_url)

    def _send(self, call_sid: str, command: dict) -> None:
        key = SIM_KEY.format(sid=call_sid)
        self.redis.rpush(key, json.dumps(command))
        self.redis.expire(key, 3600)

    def call_redirect(self, call_sid: str, url: str) -> None:
        self._send(call_sid, {"verb": "redirect", "url": url})

    def call_end(self, call_sid: str) -> None:
        self._send(call_sid, {"verb": "hangup"})

    def queue_dequeue(self, queue_sid: str, call_sid: str, url: str) -> None:
        self._send(call_sid, {"verb": "redirect", "url": url})

    def recording_fetch(self, recording_sid: str) -> Recording:
        return Recording(sid=recording_sid, call_sid="", duration=None, url="")


def get():
    """The gateway for the configured mode."""
    if settings.TWILIO_MODE == "simulate":
        return SimulatedGateway(settings.REDIS_URL)
    return LiveGateway(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL)
