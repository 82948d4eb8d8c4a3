"""A call simulator that plays Twilio's part, for development and end-to-end tests.

It sends correctly signed webhooks for a call to a client's number and follows the TwiML
it gets back: prints what is said, answers ``Gather`` with the digits it was given,
waits in ``Enqueue`` (polling the wait URL) until the ACD connects the call — the gateway,
in simulate mode, hands it the redirect through Redis — answers the agent's ``Dial``,
records voicemails, and sends status callbacks in order with ``SequenceNumber``.

Two transports: HTTP against a running server (the ``simulate_call`` command) and the
Django test client in-process (tests).
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import redis
from django.conf import settings
from twilio.request_validator import RequestValidator

from answering.twilio.gateway import SIM_KEY
from switchboard.redis_clients import redis_client


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def signature(url: str, params: dict, token: str | None = None) -> str:
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


@dataclass
class Response:
    status: int
    body: str


Transport = Callable[[str, dict, dict], Response]  # (absolute url, params, headers) -> response


def http_transport(server: str, host: str = "") -> Transport:
    """POST to a running server at ``server`` (e.g. http://127.0.0.1:8000), signing for the
    public URL; ``host`` overrides the Host header (the platform host)."""
    def send(url: str, params: dict, headers: dict) -> Response:
        parts = urlsplit(url)
        target = server.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        request = urllib.request.Request(target, data=urllib.parse.urlencode(params).encode(), method="POST",
                                         headers={**headers, "Host": host or parts.netloc})
        try:
            with urllib.request.urlopen(request, timeout=15) as reply:
                return Response(reply.status, reply.read().decode())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read().decode())

    return send


def test_client_transport(client, host: str, after_each: Callable[[], None] | None = None) -> Transport:
    """POST through Django's test client (in-process)."""

    def send(url: str, params: dict, headers: dict) -> Response:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        reply = client.post(path, params, HTTP_HOST=host,
                            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
        if after_each:
            after_each()
        return Response(reply.status_code, reply.content.decode())

    return send


@dataclass
class SimulatedCall:
    to: str
    from_: str
    transport: Transport
    digits: list[str] = field(default_factory=list)
    call_sid: str = field(default_factory=new_call_sid)
    account_sid: str = field(default_factory=lambda: settings.TWILIO_ACCOUNT_SID)
    hold_poll_seconds: float = 0.5
    max_queue_seconds: float = 60.0
    hang_up_in_queue_after: float | None = None
    agent_answers: bool = True
    talk_seconds: int = 5
    realtime: bool = False  # sleep through the conversation (the command); tests don't
    on_hold: Callable[["SimulatedCall"], None] | None = None  # called on each wait poll (tests act here)
    said: list[str] = field(default_factory=list)
    say: Callable[[str], None] = print
    log: list[str] = field(default_factory=list)
    sequence: int = 0
    outcome: str = ""
    started: float = field(default_factory=time.monotonic)

    # --- plumbing -------------------------------------------------------------------
    def _base_params(self) -> dict:
        return {"CallSid": self.call_sid, "AccountSid": self.account_sid, "From": self.from_, "To": self.to,
                "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}

    def post(self, url: str, extra: dict | None = None) -> Response:
        params = {**self._base_params(), **(extra or {})}
        headers = {"X-Twilio-Signature": signature(url, params)}
        reply = self.transport(url, params, headers)
        self.log.append(f"POST {urlsplit(url).path} -> {reply.status}")
        if reply.status >= 400:
            raise RuntimeError(f"{url} answered {reply.status}: {reply.body[:300]}")
        return reply

    def status(self, status: str, **extra) -> None:
        self.post(f"{settings.PUBLIC_BASE_URL}/twilio/voice/status",
                  {"CallStatus": status, "SequenceNumber": str(self.sequence), "CallbackSource": "call-progress-events",
                   "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()), **extra})
        self.sequence += 1

    def _mailbox(self) -> redis.Redis:
        # Longer than any BLPOP the simulator waits with.
        return redis_client(timeout=max(5.0, self.hold_poll_seconds * 4))

    def _next_command(self, timeout: float) -> dict | None:
        item = self._mailbox().blpop([SIM_KEY.format(sid=self.call_sid)], timeout=max(timeout, 0.01))
        return json.loads(item[1]) if item else None

    # --- the call --------------------------------------------------------------------
    def run(self) -> str:
        """Place the call and follow it to the end. Returns the outcome as the caller lived it."""
        self.status("ringing")
        reply = self.post(f"{settings.PUBLIC_BASE_URL}/twilio/voice/incoming", {"CallStatus": "ringing"})
        self._follow(reply.body)
        if not self.outcome:
            self.outcome = "hung-up"
        self.status("completed", CallDuration=str(round(time.monotonic() - self.started)))
        return self.outcome

    def _follow(self, body: str) -> None:
        document = body
        hops = 0
        while document is not None and hops < 50:
            hops += 1
            document = self._play(ET.fromstring(document))

    def _play(self, root: ET.Element) -> str | None:
        """Play one TwiML document; return the next document, or None when the call ends."""
        for verb in root:
            tag = verb.tag
            if tag == "Say":
                self._speak(verb)
            elif tag == "Play":
                self.say(f"  (plays {verb.text})")
            elif tag == "Pause":
                pass
            elif tag == "Gather":
                for child in verb:
                    if child.tag == "Say":
                        self._speak(child)
                digit = self.digits.pop(0) if self.digits else ""
                self.say(f"  caller presses {digit or 'nothing'}")
                if not digit and verb.get("actionOnEmptyResult") != "true":
                    continue  # as Twilio does: no input goes on to the next verb
                return self.post(verb.get("action"), {"Digits": digit}).body
            elif tag == "Enqueue":
                return self._queue(verb)
            elif tag == "Dial":
                return self._dial(verb)
            elif tag == "Record":
                self.say("  caller leaves a voicemail")
                extra = {"RecordingSid": "RE" + secrets.token_hex(16),
                         "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/sim",
                         "RecordingDuration": "12", "Digits": "hangup"}
                if verb.get("recordingStatusCallback"):
                    self.post(verb.get("recordingStatusCallback"), {**extra, "RecordingStatus": "completed"})
                self.outcome = self.outcome or "voicemail"
                return self.post(verb.get("action"), extra).body
            elif tag == "Redirect":
                return self.post(verb.text).body
            elif tag == "Hangup":
                return None
            elif tag == "Leave":
                return None
        return None

    def _speak(self, verb: ET.Element) -> None:
        self.said.append(verb.text or "")
        self.say(f"  [{verb.get('language', '')}] {verb.text}")

    def _queue(self, verb: ET.Element) -> str | None:
        self.say("  caller waits in the queue")
        entered = time.monotonic()
        wait_url, action = verb.get("waitUrl"), verb.get("action")
        while True:
            waited = time.monotonic() - entered
            if self.hang_up_in_queue_after is not None and waited >= self.hang_up_in_queue_after:
                self.outcome = "abandoned"
                self.post(action, {"QueueResult": "hangup", "QueueTime": str(round(waited))})
                return None
            if waited > self.max_queue_seconds:
                raise TimeoutError(f"still queued after {self.max_queue_seconds}s")
            hold = ET.fromstring(self.post(wait_url, {"QueuePosition": "1", "QueueTime": str(round(waited)),
                                                      "AvgQueueTime": "0", "CurrentQueueSize": "1"}).body)
            if any(v.tag == "Leave" for v in hold):
                return self.post(action, {"QueueResult": "leave", "QueueTime": str(round(waited))}).body
            for v in hold:
                if v.tag == "Say":
                    self._speak(v)
            if self.on_hold:
                self.on_hold(self)
            command = self._next_command(self.hold_poll_seconds)
            if command and command["verb"] == "redirect":
                self.say("  dequeued: connecting to an agent")
                return self.post(command["url"]).body
            if command and command["verb"] == "hangup":
                return None

    def _dial(self, verb: ET.Element) -> str | None:
        target = next(iter(verb), None)
        who = target.text if target is not None else verb.text
        action = verb.get("action")
        if not action:  # a transfer: Twilio bridges and the call ends with it
            self.say(f"  transferred to {who}")
            self.outcome = "transferred"
            return None
        if not self.agent_answers:
            self.say(f"  {who} does not answer")
            return self.post(action, {"DialCallStatus": "no-answer", "DialCallSid": new_call_sid()}).body
        self.say(f"  connected to {who}; talking {self.talk_seconds}s")
        if verb.get("recordingStatusCallback"):
            self.post(verb.get("recordingStatusCallback"),
                      {"RecordingSid": "RE" + secrets.token_hex(16), "RecordingStatus": "completed",
                       "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/sim",
                       "RecordingDuration": str(self.talk_seconds)})
        if self.realtime:
            time.sleep(self.talk_seconds)
        self.outcome = "answered"
        return self.post(action, {"DialCallStatus": "completed", "DialCallSid": new_call_sid(),
                                  "DialCallDuration": str(self.talk_seconds), "DialBridged": "true"}).body


def send_sms(*, transport: Transport, to: str, from_: str, body: str, account_sid: str | None = None) -> Response:
    """Text a client's number as Twilio would deliver it (signed webhook); returns the TwiML reply."""
    url = f"{settings.PUBLIC_BASE_URL}/twilio/messaging/incoming"
    params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": account_sid or settings.TWILIO_ACCOUNT_SID,
              "From": from_, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
    return transport(url, params, {"X-Twilio-Signature": signature(url, params)})


def answer_callout(*, record: dict, transport: Transport, press: str | None, answer: bool = True,
                   say: Callable[[str], None] = print) -> str:
    """Play the on-call person a call-out rings (``record`` from the simulated gateway's outbox):
    ring, answer, listen, press a key (or not), hang up — with the status callbacks in order.
    Returns "acknowledged", "not acknowledged" or "no answer"."""
    call = SimulatedCall(to=record["to"], from_=record["from"], transport=transport, digits=[press] if press else [],
                         call_sid=record["sid"], say=say)
    callback = record["status_callback"]
    call.post(callback, {"CallStatus": "ringing", "Direction": "outbound-api"})
    if not answer:
        call.post(callback, {"CallStatus": "no-answer", "Direction": "outbound-api"})
        return "no answer"
    call.post(callback, {"CallStatus": "in-progress", "Direction": "outbound-api"})
    reply = call.post(record["url"], {"CallStatus": "in-progress", "Direction": "outbound-api"})
    call._follow(reply.body)
    call.post(callback, {"CallStatus": "completed", "Direction": "outbound-api", "CallDuration": "20"})
    return "acknowledged" if any("The message is acknowledged" in line for line in call.said) else "not acknowledged"
