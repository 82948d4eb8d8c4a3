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
from collections.abc import Callable
from dataclasses import dataclass, field
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
    on_hold: Callable[[SimulatedCall], None] | None = None  # called on each wait poll (tests act here)
    # In the call's conference (after an agent accepted): called on each poll (tests act here).
    on_conference: Callable[[SimulatedCall], None] | None = None
    # The person a patch or transfer dials: "answers" (stays until the caller is theirs, then
    # talks and hangs up), "declines" (answers, hears who is calling, hangs up), "no-answer".
    third_party: str = "answers"
    max_conference_seconds: float = 120.0
    caller_hangs_up_after: float | None = None  # seconds after the agent answered (e.g. mid-script)
    heard: list[str] = field(default_factory=list)  # the audio the caller heard (hold music)
    on_hold_now: bool = False
    hanging_up: bool = False  # set by a test (or the command): the caller hangs up at the next poll
    said: list[str] = field(default_factory=list)
    say: Callable[[str], None] = print
    log: list[str] = field(default_factory=list)
    sequence: int = 0
    outcome: str = ""
    started: float = field(default_factory=time.monotonic)
    direction: str = "inbound"  # "outbound-api" for a callee of ours (answer_dial)
    status_url: str = ""  # where status callbacks go; the answering line's by default

    # --- plumbing -------------------------------------------------------------------
    def _base_params(self) -> dict:
        return {"CallSid": self.call_sid, "AccountSid": self.account_sid, "From": self.from_, "To": self.to,
                "CallStatus": "in-progress", "Direction": self.direction, "ApiVersion": "2010-04-01"}

    def post(self, url: str, extra: dict | None = None) -> Response:
        params = {**self._base_params(), **(extra or {})}
        headers = {"X-Twilio-Signature": signature(url, params)}
        reply = self.transport(url, params, headers)
        self.log.append(f"POST {urlsplit(url).path} -> {reply.status}")
        if reply.status >= 400:
            raise RuntimeError(f"{url} answered {reply.status}: {reply.body[:300]}")
        return reply

    def status(self, status: str, **extra) -> None:
        self.post(self.status_url or f"{settings.PUBLIC_BASE_URL}/twilio/voice/status",
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
            elif tag == "Hangup" or tag == "Leave":
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
        if target is not None and target.tag == "Conference":
            return self._conference(target)
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


    # --- the conference (answering/acd/services/controls.py) ----------------------------------
    def hang_up(self) -> None:
        """The caller hangs up (at the conference's next poll)."""
        self.hanging_up = True

    def _hear(self, body: str) -> None:
        for v in ET.fromstring(body):
            if v.tag == "Say":
                self._speak(v)
                self.heard.append(f"say:{v.text}")
            elif v.tag == "Play":
                self.heard.append(f"play:{v.text}")
                self.say(f"  (hears {v.text})")

    def _conference(self, conference: ET.Element) -> str | None:
        """The caller is in their call's conference: play Twilio's part for every leg in it —
        the agent's (answered by the console's simulated phone when one is registered, else
        by this simulator, as the CLI demo's agent), and whoever the agent brings in."""
        import uuid

        from answering.acd.services.controls import SIM_ANSWER, SIM_DEVICE
        from answering.twilio.gateway import SIM_CONFERENCE

        name = conference.text or ""
        self.conference_sid = "CF" + uuid.uuid4().hex
        self._mailbox().set(SIM_CONFERENCE.format(sid=self.conference_sid), self.call_sid, ex=3600)
        callback = conference.get("statusCallback")
        legs: dict[str, dict] = {}
        timers: list[tuple[float, str, str]] = []  # (when, leg, what): a leg's next move

        def event(kind: str, **extra) -> None:
            if callback:
                self.post(callback, {"ConferenceSid": self.conference_sid, "FriendlyName": name,
                                     "StatusCallbackEvent": kind, **extra})

        def leg_status(leg: str, status: str) -> None:
            info = legs[leg]
            info["status"] = status
            self.post(info["status_callback"], {"CallSid": leg, "CallStatus": status, "To": info["to"],
                                                "From": info["from"], "Direction": "outbound-api"})
            if status == "in-progress":
                event("participant-join", CallSid=leg, ParticipantLabel=info["label"])
            elif status == "completed":
                event("participant-leave", CallSid=leg, ParticipantLabel=info["label"])

        def end_all() -> None:
            # The caller leaves first (their leg ends the conference), then every other leg drops.
            event("participant-leave", CallSid=self.call_sid, ParticipantLabel="caller")
            for leg, info in list(legs.items()):
                if info["status"] in ("ringing", "in-progress"):
                    leg_status(leg, "completed" if info["status"] == "in-progress" else "canceled")
            event("conference-end")

        event("participant-join", CallSid=self.call_sid, ParticipantLabel="caller")
        if conference.get("waitUrl"):
            self._hear(self.post(conference.get("waitUrl")).body)
        started = time.monotonic()
        answered_at = None
        talk = self.talk_seconds if self.realtime else 0
        while True:
            if time.monotonic() - started > self.max_conference_seconds:
                raise TimeoutError(f"still in the conference after {self.max_conference_seconds}s")
            if self.on_conference:
                self.on_conference(self)
            if (self.caller_hangs_up_after is not None and answered_at is not None
                    and time.monotonic() - answered_at >= self.caller_hangs_up_after):
                self.hanging_up = True
            if self.hanging_up:
                self.say("  caller hangs up")
                self.outcome = self.outcome or "answered"
                end_all()
                return None
            now = time.monotonic()
            for due in [t for t in timers if t[0] <= now]:
                timers.remove(due)
                if legs[due[1]]["status"] == "in-progress":
                    leg_status(due[1], due[2])
            command = self._next_command(self.hold_poll_seconds)
            if command is None:
                continue
            verb = command["verb"]
            if verb == "hangup":
                end_all()
                return None
            if verb == "redirect":
                end_all()
                return self.post(command["url"]).body
            if verb == "participant_hold" and command["leg"] == self.call_sid:
                self.on_hold_now = command["hold"]
                self.say(f"  caller {'on hold' if command['hold'] else 'back from hold'}")
                if command["hold"] and command.get("hold_url"):
                    self._hear(self.post(command["hold_url"]).body)
            elif verb == "leg_end":
                leg = command["leg"]
                if leg == self.call_sid:
                    end_all()
                    return None
                if leg in legs and legs[leg]["status"] in ("ringing", "in-progress"):
                    leg_status(leg, "completed")
                    if legs[leg]["label"] == "agent":
                        third = next((k for k, v in legs.items() if v["label"] == "third"
                                      and v["status"] == "in-progress"), None)
                        if third and legs[third]["to"].startswith("client:"):
                            legs[third]["label"] = "agent"  # a colleague took the call over
                            if not self.on_conference and not legs[third].get("device"):
                                timers.append((time.monotonic() + talk, third, "completed"))
                        elif third:  # handed over: the caller and the third party talk, then they hang up
                            self.outcome = "patched"
                            timers.append((time.monotonic() + talk, third, "completed"))
            elif verb == "participant_add":
                leg = command["leg"]
                legs[leg] = {"label": command["label"], "to": command["to"], "from": command["from"],
                             "status_callback": command["status_callback"], "status": "queued"}
                leg_status(leg, "ringing")
                if command["label"] == "agent":
                    answered, legs[leg]["device"] = self._agent_answers(leg, command, SIM_DEVICE, SIM_ANSWER)
                    if not answered:
                        self.say(f"  {command['to']} does not answer")
                        leg_status(leg, "no-answer")
                        continue
                    self.say(f"  connected to {command['to']}")
                    self.outcome = "answered"
                    answered_at = time.monotonic()
                    leg_status(leg, "in-progress")
                    if not legs[leg].get("device") and not self.on_conference:
                        # The simulator's own agent talks, then hangs up (a test's hook drives the call instead).
                        timers.append((time.monotonic() + talk, leg, "completed"))
                elif command["to"].startswith("client:"):  # a colleague's browser phone (a transfer)
                    answered, legs[leg]["device"] = self._agent_answers(leg, command, SIM_DEVICE, SIM_ANSWER)
                    leg_status(leg, "in-progress" if answered else "no-answer")
                else:
                    self.say(f"  {command['to']} rings ({self.third_party})")
                    if self.third_party == "no-answer":
                        leg_status(leg, "no-answer")
                        continue
                    leg_status(leg, "in-progress")
                    if self.third_party == "declines":
                        timers.append((time.monotonic(), leg, "completed"))

    @staticmethod
    def _console_open(identity: str) -> bool:
        """A phone registered in a console that is still open (a closed one's registration
        outlives it for up to 90 s)."""
        from answering.acd import consoles

        try:
            return consoles.open_count(int(identity.removeprefix("agent-"))) > 0
        except ValueError:
            return False

    def _agent_answers(self, leg: str, command: dict, device_key: str, answer_key: str) -> tuple[bool, bool]:
        """Ring the agent: a registered simulated browser phone is told (through the agent's
        console, as Twilio's signalling would tell the Voice SDK) and answers; without one,
        the simulator's own agent answers (``agent_answers``). Returns (answered, by the phone)."""
        to = command["to"]
        identity = to.removeprefix("client:")
        ring = max(1, int(command.get("timeout") or 20))
        mailbox = redis_client(timeout=ring + 5)
        if (to.startswith("client:") and mailbox.exists(device_key.format(identity=identity))
                and self._console_open(identity)):
            from answering import live

            self.say(f"  {identity}'s browser phone rings")
            live.push(live.agent_group(int(identity.removeprefix("agent-"))),
                      {"type": "phone_ringing", "leg": leg, "call_sid": self.call_sid, "from": self.from_})
            answered = mailbox.blpop([answer_key.format(leg=leg)], timeout=ring) is not None
            self.say(f"  {identity}'s browser phone {'answers' if answered else 'does not answer'}")
            return answered, True
        return self.agent_answers, False


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


# --- The people our campaigns call (the gateway's "dial" outbox) ------------------------------

CALLEE_BEHAVIOURS = ("person", "machine", "unknown", "no-answer", "busy", "failed")
SIM_CALLEES = "sim:callees"  # hash: behaviour -> probability, plus ring/greeting/talk seconds
SIM_CALLEE_NUMBERS = "sim:callee:numbers"  # hash: number -> behaviour (a test's or demo's choice)
DEFAULT_CALLEES = {"person": 0.45, "machine": 0.2, "unknown": 0.0, "no-answer": 0.25, "busy": 0.05, "failed": 0.05,
                   "ring": 3.0, "greeting": 1.5, "talk": 90.0}


def callees_set(**values: float) -> dict:
    """Set how the simulated callees behave (probabilities per behaviour, and seconds of ring,
    greeting and talk); what is not given keeps its value. Returns the whole setting."""
    r = redis_client(timeout=5)
    r.hset(SIM_CALLEES, mapping={k.replace("_", "-"): float(v) for k, v in values.items()})
    return callees_get()


def callees_get() -> dict:
    stored = {k.decode(): float(v) for k, v in redis_client(timeout=5).hgetall(SIM_CALLEES).items()}
    return {**DEFAULT_CALLEES, **stored}


def callee_behaviour(number: str, rng=None) -> str:
    """What the person at ``number`` does: a behaviour set for that number, else drawn from
    the probabilities."""
    import random

    chosen = redis_client(timeout=5).hget(SIM_CALLEE_NUMBERS, number)
    if chosen:
        return chosen.decode()
    setting = callees_get()
    weights = [max(0.0, setting.get(b, 0.0)) for b in CALLEE_BEHAVIOURS]
    if not any(weights):
        return "no-answer"
    return (rng or random).choices(CALLEE_BEHAVIOURS, weights=weights)[0]


def answer_dial(*, record: dict, transport: Transport, behaviour: str, ring_seconds: float = 0.0,
                greeting_seconds: float = 0.0, talk_seconds: float | None = None, realtime: bool = False,
                say: Callable[[str], None] = print, **call_options) -> SimulatedCall:
    """Play the person (or machine) a campaign's call rings, as Twilio reports it: progress
    callbacks in order (initiated, ringing, then in-progress or busy / no-answer / failed),
    the call's URL when answered, the asynchronous detection's callback after the greeting
    (``human``, ``machine_end_beep`` after a machine's beep, or ``unknown``), then whatever the
    server redirects the call to — the agent's conference, the voicemail drop, the
    safe-harbour message — and the final status. ``record`` is the gateway's outbox entry.
    Returns the call, with what was said to the callee in ``said``."""
    call = SimulatedCall(to=record["to"], from_=record["from"], transport=transport, call_sid=record["sid"],
                         account_sid=record.get("account_sid") or settings.TWILIO_ACCOUNT_SID, direction="outbound-api",
                         status_url=record["status_callback"], say=say, realtime=realtime, **call_options)
    if talk_seconds is not None:
        call.caller_hangs_up_after = talk_seconds
    call.status("initiated")
    call.status("ringing")
    if realtime:
        time.sleep(ring_seconds if behaviour != "no-answer" else float(record.get("ring_seconds") or 25))
    if behaviour in ("no-answer", "busy", "failed"):
        say(f"  {record['to']}: {behaviour}")
        call.outcome = behaviour
        call.status(behaviour, CallDuration="0")
        return call
    call.status("in-progress")
    answered = time.monotonic()
    reply = call.post(record["url"], {"CallStatus": "in-progress"})
    if record.get("amd_callback"):
        if realtime:
            time.sleep(greeting_seconds)
        answered_by = {"person": "human", "machine": "machine_end_beep"}.get(behaviour, "unknown")
        say(f"  {record['to']}: {behaviour}, detected as {answered_by}")
        call.post(record["amd_callback"], {"AnsweredBy": answered_by,
                                           "MachineDetectionDuration": str(int(greeting_seconds * 1000))})
        command = call._next_command(timeout=5.0 if not realtime else 35.0)
        if command and command["verb"] == "redirect":
            call._follow(call.post(command["url"]).body)
        elif command is None:
            call._follow(reply.body)  # the hold runs out: its Redirect asks again
    else:
        call._follow(reply.body)
    call.outcome = call.outcome or ("machine" if behaviour == "machine" else "answered")
    call.status("completed", CallDuration=str(round(time.monotonic() - answered)))
    return call
