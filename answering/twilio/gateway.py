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
import time
import uuid
from dataclasses import dataclass

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from switchboard.redis_clients import redis_client

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
class Sent:
    """What Twilio answered when a text or call was created."""

    sid: str
    status: str


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
        except (requests.RequestException, TwilioException) as exc:
            # Timeouts and broken connections: transient (no code, no status), so retried.
            logger.warning("Twilio unreachable for %s: %s", what, exc)
            raise GatewayError(f"Twilio unreachable for {what}: {type(exc).__name__}") from exc

    def _account(self, account_sid: str = ""):
        """The (sub)account that owns the call: a subaccount's calls and conferences live under
        its own /Accounts/{SID}/ (the platform's credentials may act on them); the platform's
        paths would answer 404."""
        return self.client.api.v2010.accounts(account_sid or self.client.account_sid)

    def call_redirect(self, call_sid: str, url: str, *, account_sid: str = "") -> None:
        """Send a live call to new TwiML (e.g. connect a queued caller to their agent)."""
        self._call("the redirect", lambda: self._account(account_sid).calls(call_sid).update(url=url, method="POST"))

    def call_end(self, call_sid: str, *, account_sid: str = "") -> None:
        self._call("ending the call", lambda: self._account(account_sid).calls(call_sid).update(status="completed"))

    # --- Conferences: a connected caller and their agent meet in one, named per call ------------
    def participant_add(self, *, conference: str, to: str, from_: str, label: str, status_callback: str,
                        account_sid: str = "", timeout: int = 20, end_conference_on_exit: bool = False) -> Sent:
        """Dial ``to`` (a number, or ``client:agent-N``, the agent's browser) into ``conference``
        (its SID, or its friendly name: Twilio takes either)."""
        leg = self._call("adding to the conference", lambda: self._account(account_sid).conferences(conference)
                         .participants.create(from_=from_, to=to, label=label, timeout=timeout, beep="false",
                                              status_callback=status_callback, status_callback_method="POST",
                                              status_callback_event=["ringing", "answered", "completed"],
                                              start_conference_on_enter=True,
                                              end_conference_on_exit=end_conference_on_exit, early_media=True))
        return Sent(sid=leg.call_sid, status=leg.status or "queued")

    def participant_hold(self, *, conference_sid: str, call_sid: str, hold: bool, hold_url: str = "",
                         account_sid: str = "") -> None:
        options = {"hold": hold}
        if hold and hold_url:
            options.update(hold_url=hold_url, hold_method="POST")
        self._call("the hold", lambda: self._account(account_sid).conferences(conference_sid)
                   .participants(call_sid).update(**options))

    def participant_remove(self, *, conference_sid: str, call_sid: str, account_sid: str = "") -> None:
        self._call("leaving the conference", lambda: self._account(account_sid).conferences(conference_sid)
                   .participants(call_sid).delete())

    def queue_dequeue(self, queue_sid: str, call_sid: str, url: str) -> None:
        self._call("the dequeue", lambda: self.client.queues(queue_sid).members(call_sid).update(url=url, method="POST"))

    # Texts and call-outs go from a client's number, on the (sub)account that owns it: Twilio
    # refuses a From that is not on the account the request is made under (21606 / 21210).
    def sms_send(self, *, to: str, from_: str, body: str, status_callback: str, account_sid: str = "") -> Sent:
        msg = self._call("the text", lambda: self._account(account_sid).messages.create(
            to=to, from_=from_, body=body, status_callback=status_callback))
        return Sent(sid=msg.sid, status=msg.status or "queued")

    def call_create(self, *, to: str, from_: str, url: str, status_callback: str, account_sid: str = "") -> Sent:
        call = self._call("the call", lambda: self._account(account_sid).calls.create(
            to=to, from_=from_, url=url, method="POST", status_callback=status_callback, status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"], timeout=30))
        return Sent(sid=call.sid, status=call.status or "queued")

    def call_dial(self, *, to: str, from_: str, url: str, status_callback: str, ring_seconds: int,
                  amd_callback: str = "", account_sid: str = "") -> Sent:
        """A campaign's call: rings ``ring_seconds`` (the dialer passes at least 15), reports
        every progress event, and — with ``amd_callback`` — detects a machine asynchronously,
        waiting for the end of its greeting (the beep) so a voicemail drop lands whole, while
        ``url``'s TwiML holds the callee until the detection's answer arrives."""
        amd = {"machine_detection": "DetectMessageEnd", "async_amd": "true",  # the string: see TWILIO.md
               "async_amd_status_callback": amd_callback, "async_amd_status_callback_method": "POST"} if amd_callback else {}
        call = self._call("the call", lambda: self._account(account_sid).calls.create(
            to=to, from_=from_, url=url, method="POST", status_callback=status_callback, status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"], timeout=ring_seconds, **amd))
        return Sent(sid=call.sid, status=call.status or "queued")

    def sent_find(self, *, channel: str, to: str, from_: str, body: str, since, account_sid: str = "") -> str | None:
        """The SID of a text (same body) or call already made to ``to`` from ``from_`` since
        ``since``, if any: how a send interrupted by a crash learns whether it went out."""
        account = self._account(account_sid)
        if channel == "sms":
            # One page is enough (a crash is minutes old at most); never follow next pages.
            found = self._call("the text lookup", lambda: list(account.messages.page(
                to=to, from_=from_, date_sent_after=since, page_size=20)))
            return next((m.sid for m in found if (m.body or "") == body), None)
        # Newest first; filtered here by creation time (a call not yet started has no start time).
        found = self._call("the call lookup", lambda: list(account.calls.page(to=to, from_=from_, page_size=20)))
        return next((c.sid for c in found if c.date_created is None or c.date_created >= since), None)

    def recording_fetch(self, recording_sid: str) -> Recording:
        rec = self._call("the recording", lambda: self.client.recordings(recording_sid).fetch())
        return Recording(sid=rec.sid, call_sid=rec.call_sid, duration=int(rec.duration) if rec.duration else None,
                         url=f"https://api.twilio.com{rec.uri.replace('.json', '')}" if rec.uri else "")


SIM_KEY = "sim:call:{sid}"
SIM_OUTBOX = "sim:outbox:{kind}"  # kind: sms, call (call-outs) or dial (campaigns)
SIM_DIALED = "sim:dialed"  # campaign calls not yet picked up by a simulated callee
SIM_FAIL = "sim:fail"  # hash: number -> Twilio error code to answer with
SIM_HOLD = "sim:hold"  # hash: number -> "before" or "after" (see SimulatedGateway._hold)
SIM_LEG = "sim:leg:{sid}"  # a leg dialed into a simulated conference -> the caller's CallSid
SIM_CONFERENCE = "sim:conference:{sid}"  # a simulated ConferenceSid -> the caller's CallSid
CONFERENCE_PREFIX = "call-"


def conference_name(call_sid: str) -> str:
    """Each connected call's conference: the caller, the agent, and whoever they bring in."""
    return CONFERENCE_PREFIX + call_sid


class SimulatedGateway:
    """Hands each command to the simulator that plays this call (see simulator.py)."""

    def __init__(self):
        self.redis = redis_client(timeout=10)  # one pool per process, not a connection per command

    def _send(self, call_sid: str, command: dict) -> None:
        key = SIM_KEY.format(sid=call_sid)
        self.redis.rpush(key, json.dumps(command))
        self.redis.expire(key, 3600)

    def call_redirect(self, call_sid: str, url: str, *, account_sid: str = "") -> None:
        self._send(call_sid, {"verb": "redirect", "url": url})

    def call_end(self, call_sid: str, *, account_sid: str = "") -> None:
        # A leg the simulator dialed into a conference has no mailbox of its own: the caller's
        # simulator plays every leg of its conference and reads this one (SIM_LEG).
        owner = self.redis.get(SIM_LEG.format(sid=call_sid))
        if owner:
            self._send(owner.decode(), {"verb": "leg_end", "leg": call_sid})
        else:
            self._send(call_sid, {"verb": "hangup"})

    # Conferences: the caller's simulator plays the conference, so each command goes to the
    # caller's mailbox (the conference is named after the caller's CallSid: see conference_name).
    def participant_add(self, *, conference: str, to: str, from_: str, label: str, status_callback: str,
                        account_sid: str = "", timeout: int = 20, end_conference_on_exit: bool = False) -> Sent:
        code = self.redis.hget(SIM_FAIL, to)
        if code is not None:
            raise GatewayError(f"Simulated Twilio error {int(code)}", code=int(code), status=400)
        sid = "CA" + uuid.uuid4().hex
        caller = self._conference_owner(conference)
        self.redis.set(SIM_LEG.format(sid=sid), caller, ex=3600)
        self._send(caller, {"verb": "participant_add", "leg": sid, "to": to, "from": from_, "label": label,
                            "status_callback": status_callback, "timeout": timeout})
        return Sent(sid=sid, status="queued")

    def participant_hold(self, *, conference_sid: str, call_sid: str, hold: bool, hold_url: str = "",
                         account_sid: str = "") -> None:
        self._send(self._conference_owner(conference_sid),
                   {"verb": "participant_hold", "leg": call_sid, "hold": hold, "hold_url": hold_url})

    def participant_remove(self, *, conference_sid: str, call_sid: str, account_sid: str = "") -> None:
        self._send(self._conference_owner(conference_sid), {"verb": "leg_end", "leg": call_sid})

    def _conference_owner(self, conference: str) -> str:
        owner = self.redis.get(SIM_CONFERENCE.format(sid=conference))
        return owner.decode() if owner else conference.removeprefix(CONFERENCE_PREFIX)

    def queue_dequeue(self, queue_sid: str, call_sid: str, url: str) -> None:
        self._send(call_sid, {"verb": "redirect", "url": url})

    def recording_fetch(self, recording_sid: str) -> Recording:
        return Recording(sid=recording_sid, call_sid="", duration=None, url="")

    # Outbound texts and calls go to the simulator's outbox (a Redis list per kind), where
    # `simulate_callout` answers call-outs and the worker's log shows each text. Numbers in
    # the set SIM_FAIL map to a Twilio error code, so the error paths can be played too.
    def _outbound(self, kind: str, record: dict) -> Sent:
        code = self.redis.hget(SIM_FAIL, record["to"])
        if code is not None:
            code = int(code)
            raise GatewayError(f"Simulated Twilio error {code}", code=code, status=400 if code != 20429 else 429)
        self._hold(record["to"], "before")
        record["sid"] = ("SM" if kind == "sms" else "CA") + uuid.uuid4().hex
        record["at"] = time.time()
        self.redis.rpush(SIM_OUTBOX.format(kind=kind), json.dumps(record))
        logger.info("simulated %s to %s: %s", {"sms": "text", "call": "call-out"}.get(kind, "campaign call"), record["to"],
                    record.get("body") or record.get("url"))
        self._hold(record["to"], "after")
        return Sent(sid=record["sid"], status="queued")

    def _hold(self, to: str, when: str) -> None:
        """Play a slow network: while SIM_HOLD says so for this number, the send waits (before
        Twilio got it, or after Twilio took it but before we heard back)."""
        while self.redis.hget(SIM_HOLD, to) == when.encode():
            time.sleep(0.05)

    def sms_send(self, *, to: str, from_: str, body: str, status_callback: str, account_sid: str = "") -> Sent:
        return self._outbound("sms", {"to": to, "from": from_, "body": body, "status_callback": status_callback,
                                      "account_sid": account_sid})

    def call_create(self, *, to: str, from_: str, url: str, status_callback: str, account_sid: str = "") -> Sent:
        return self._outbound("call", {"to": to, "from": from_, "url": url, "status_callback": status_callback,
                                       "account_sid": account_sid})

    def call_dial(self, *, to: str, from_: str, url: str, status_callback: str, ring_seconds: int,
                  amd_callback: str = "", account_sid: str = "") -> Sent:
        # Their own outbox ("dial"): the simulated callees (simulate_dialer) answer these,
        # while simulate_callout keeps answering the on-call call-outs.
        record = {"to": to, "from": from_, "url": url, "status_callback": status_callback,
                  "ring_seconds": ring_seconds, "amd_callback": amd_callback, "account_sid": account_sid}
        sent = self._outbound("dial", record)
        # The outbox stays whole (sent_find reads it); the callees take their calls from here.
        self.redis.rpush(SIM_DIALED, json.dumps(record))
        return sent

    def sent_find(self, *, channel: str, to: str, from_: str, body: str, since, account_sid: str = "") -> str | None:
        since_ts = since.timestamp()
        for raw in self.redis.lrange(SIM_OUTBOX.format(kind=channel), 0, -1):
            record = json.loads(raw)
            if (record["to"] == to and record["from"] == from_ and record["at"] >= since_ts
                    and (channel != "sms" or record["body"] == body)):
                return record["sid"]
        return None


def get():
    """The gateway for the configured mode."""
    if settings.TWILIO_MODE == "simulate":
        return SimulatedGateway()
    return LiveGateway(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL)
