"""Fixtures for answering: flows for the world's clients, agents at work, and the simulator."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client as HttpClient
from django.utils import timezone
from django_tenants.utils import schema_context
from websockets.sync.client import connect

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession
from answering.flow import cache as flow_cache
from answering.flow.services import call_flow_replace
from answering.models import BusinessHours, CallRecord, MenuOption, Prompt
from answering.twilio.simulator import SimulatedCall, new_call_sid, signature, test_client_transport
from tests.conftest import PASSWORD, PLATFORM_HOST

PUBLIC = "http://localhost:8000"  # what the test settings' PUBLIC_BASE_URL is: webhooks are signed for it
ALWAYS = [(d, "00:00", "23:59:59") for d in range(7)]

BOB_FLOW = {
    "hours": ALWAYS,
    "options": [
        {"flow": "open", "digit": "1", "label": "Emergency", "action": "queue", "priority": 2},
        {"flow": "open", "digit": "2", "label": "Service", "action": "queue", "priority": 0},
        {"flow": "open", "digit": "3", "label": "Hours", "action": "info", "info_text": {"en": "Open seven to seven."}},
        {"flow": "open", "digit": "4", "label": "Messages", "action": "voicemail"},
        {"flow": "open", "digit": "5", "label": "Office", "action": "transfer", "transfer_to": "+12125550190"},
        {"flow": "open", "digit": "0", "label": "Repeat", "action": "repeat"},
        {"flow": "after_hours", "digit": "1", "label": "Emergency", "action": "queue", "priority": 2},
        {"flow": "after_hours", "digit": "2", "label": "Message", "action": "voicemail"},
    ],
    "prompts": [
        {"key": "greeting", "text": "Thanks for calling Bob's Plumbing."},
        {"key": "menu", "text": "Emergencies press 1. Service press 2."},
        {"key": "after_hours_greeting", "text": "Bob's Plumbing is closed."},
        {"key": "after_hours_menu", "text": "Emergencies press 1, messages press 2."},
    ],
}

CHARLIE_FLOW = {
    "hours": ALWAYS,
    "options": [{"flow": "open", "digit": "1", "label": "Appointments", "action": "queue", "priority": 0}],
    "prompts": [
        {"key": "greeting", "text": "Charlie's Clinic, thank you for calling."},
        {"key": "greeting", "language": "es", "text": "Clínica de Charlie, gracias por llamar.",
         "voice": "Polly.Mia", "tts_language": "es-MX"},
        {"key": "language_choice", "language": "es", "text": "Para español, oprima dos.", "voice": "Polly.Mia",
         "tts_language": "es-MX"},
        {"key": "menu", "text": "Appointments press 1."},
        {"key": "menu", "language": "es", "text": "Para citas, oprima uno.", "voice": "Polly.Mia",
         "tts_language": "es-MX"},
    ],
}

BOB_NUMBER = "+12125550111"
CHARLIE_NUMBER = "+13125550113"


def emergency(**changes) -> dict:
    """Bob's emergency script: is anyone in danger? yes → dispatch; no → take a message."""
    doc = {
        "key": "emergency", "name": "Emergency", "used_for": ["open:1", "after_hours:1"],
        "steps": [
            {"key": "danger", "say": {"en": "{greeting_time}, {client_name}, this is {agent_first_name}. "
                                            "Is anyone in danger?"},
             "fields": [{"name": "in_danger", "label": "Anyone in danger?", "type": "yes_no", "required": True}],
             "branches": [{"field": "in_danger", "equals": "yes", "goto": "dispatch"},
                          {"field": "in_danger", "equals": "no", "goto": "details"}]},
            {"key": "dispatch", "say": {"en": "Hang up and call 911. I am sending our technician."},
             "fields": [{"name": "address", "label": "Address", "type": "address", "required": True}],
             "end": {"action": "dispatch", "urgency": "urgent", "category": "Emergency"}},
            {"key": "details", "say": {"en": "What is the problem, and where can we call you back?"},
             "fields": [{"name": "problem", "label": "Problem", "type": "choice", "required": True,
                         "options": ["Leak", "No heat", "Other"]},
                        {"name": "callback_number", "label": "Callback number", "type": "phone", "required": True},
                        {"name": "email", "label": "Email", "type": "email"},
                        {"name": "units", "label": "Units affected", "type": "number", "min": 1, "max": 50},
                        {"name": "visit", "label": "Visit", "type": "datetime"}],
             "end": {"action": "message", "urgency": "normal", "category": "Service"}},
        ],
    }
    doc.update(changes)
    return doc


def _until(ws, predicate, timeout=15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if predicate(message):
            return message
    raise AssertionError("the expected message never came")


def _wallboard(port: int, session_key: str | None):
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"} if session_key else {}
    sock = socket.create_connection(("127.0.0.1", port))
    return connect(f"ws://localhost:{port}/ws/wallboard/", sock=sock, origin=f"http://localhost:{port}",
                   additional_headers=headers, open_timeout=10)


@pytest.fixture
def flows(world):
    with schema_context("bobsplumbing"):
        call_flow_replace(**BOB_FLOW)
    with schema_context("charlieclinic"):
        call_flow_replace(**CHARLIE_FLOW)


@pytest.fixture
def simulate(flows, eager_celery, django_capture_on_commit_callbacks):
    """simulate(to, digits=[...], on_hold=fn, ...) -> SimulatedCall, run in-process."""
    client = HttpClient()

    def transport_with_commit_hooks():
        plain = test_client_transport(client, PLATFORM_HOST)

        def send(url, params, headers):
            with django_capture_on_commit_callbacks(execute=True):
                return plain(url, params, headers)

        return send

    def make(to: str, *, digits=(), from_: str = "+12125559876", **kwargs) -> SimulatedCall:
        if kwargs.get("on_hold"):
            hook = kwargs["on_hold"]

            def on_hold_then_commit_hooks(call):
                with django_capture_on_commit_callbacks(execute=True):
                    hook(call)

            kwargs["on_hold"] = on_hold_then_commit_hooks
        return SimulatedCall(to=to, from_=from_, transport=transport_with_commit_hooks(), digits=list(digits),
                             hold_poll_seconds=0.05, max_queue_seconds=10, say=lambda line: None, **kwargs)

    return make


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run a block and then its on-commit hooks (pushes, redirects, dispatch)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def available(world, eager_celery, on_commit):
    """available(agent) -> makes the agent available (and so eligible for offers)."""

    def make(agent):
        with on_commit():
            return acd.agent_status_set(agent=agent, status="available")

    return make


# --- Helpers shared by the console, phone and webhook tests -----------------------------------

def _open_console(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/console/")
    page.locator("#status").filter(has_text="offline").wait_for()


def _queue_call(world, django_db_blocker, **fields) -> CallSession:
    """A committed queued call for Bob's Plumbing, handed to the real worker to dispatch — what
    the queueing webhook does (this thread holds Playwright's event loop, so no inline push)."""
    from answering.acd import tasks

    with django_db_blocker.unblock():
        call = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111",
            state=CallSession.State.QUEUED, queued_at=timezone.now(), **fields)
    tasks.acd_dispatch_task.delay()
    return call


def _forget(world, django_db_blocker, call: CallSession | None) -> None:
    """Remove what a test committed: the call, its record and message, Ben's presence."""
    from answering.models import Message

    with django_db_blocker.unblock():
        if call is not None:
            with schema_context("bobsplumbing"):
                Message.objects.filter(call_sid=call.call_sid).delete()
                CallRecord.objects.filter(call_sid=call.call_sid).delete()
            CallSession.objects.filter(pk=call.pk).delete()
        AgentPresence.objects.filter(agent=world.ben).delete()


def _console(port: int, session_key: str | None, host: str = "localhost"):
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"} if session_key else {}
    sock = socket.create_connection(("127.0.0.1", port))
    return connect(f"ws://{host}:{port}/ws/agent/", sock=sock, origin=f"http://{host}:{port}",
                   additional_headers=headers, open_timeout=10)


@pytest.fixture
def clean(world, django_db_blocker):
    """Committed rows for other processes; removed afterwards."""
    from answering.acd import consoles

    made: list[CallSession] = []
    for agent in (world.ana, world.ben):
        consoles.forget(agent.pk)

    def queued_call(client) -> CallSession:
        with django_db_blocker.unblock():
            session = CallSession.objects.create(
                call_sid="CA" + uuid.uuid4().hex, client=client, to_number="+12125550111",
                from_number="+12125550042", state=CallSession.State.QUEUED, queued_at=timezone.now())
        made.append(session)
        return session

    yield queued_call
    with django_db_blocker.unblock():
        for session in made:
            with schema_context(session.client.schema_name):
                CallRecord.objects.filter(call_sid=session.call_sid).delete()
            CallSession.objects.filter(pk=session.pk).delete()
        AgentPresence.objects.filter(agent__in=[world.ana, world.ben]).delete()


def _post(path: str, params: dict, *, sign_url: str | None = None, token: str | None = None, signed: bool = True,
          host: str = "localhost"):
    headers = {}
    if signed:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature(sign_url or PUBLIC + path, params, token)
    return HttpClient().post(path, params, HTTP_HOST=host, **headers)


def _incoming(call_sid: str | None = None, **extra) -> dict:
    return {"CallSid": call_sid or new_call_sid(), "AccountSid": "AC" + "0" * 32, "From": "+12125559876",
            "To": BOB_NUMBER, "CallStatus": "ringing", "Direction": "inbound", **extra}


@pytest.fixture
def open_flow(world, django_db_blocker):
    """Bob's flow, open at every hour, committed for the server; the flow before it put back after."""
    models = (BusinessHours, MenuOption, Prompt)
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        kept = {model: list(model.objects.all()) for model in models}
        call_flow_replace(**BOB_FLOW)
    yield
    with django_db_blocker.unblock(), schema_context("bobsplumbing"), transaction.atomic():
        for model in models:
            model.objects.all().delete()
            model.objects.bulk_create(kept[model])
        flow_cache.flow_changed("bobsplumbing")


def _in_thread(django_db_blocker, work) -> None:
    """Run ``work`` (which commits and pushes) off this thread, which holds Playwright's loop."""
    failures = []

    def run():
        try:
            with django_db_blocker.unblock():
                work()
        except Exception as exc:  # noqa: BLE001 — re-raised below, in the test
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(15)
    if failures:
        raise failures[0]
