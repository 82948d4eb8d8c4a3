"""Event webhooks' tests: a real local HTTP receiver (a thread) that records every request and
answers what the test says; Bob's plumbing's schema; tasks run inline on commit."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from tests.answering.conftest import flows, simulate  # noqa: F401 (fixtures: a simulated call)
from webhooks import services
from webhooks.models import WebhookEndpoint


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str

    def verify(self, secret: str) -> dict:
        """The standardwebhooks package's verdict (raises WebhookVerificationError if it refuses)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # codes to answer, in turn; then 200
    delay: float = 0

    def answer(self, *codes: int) -> None:
        self.answers[:] = list(codes)


@pytest.fixture
def receiver():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            rec: Receiver = state["receiver"]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, self.path))
            if rec.delay:
                time.sleep(rec.delay)
            code = rec.answers.pop(0) if rec.answers else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def bobs(world, eager_celery, settings, django_capture_on_commit_callbacks):
    """Inside Bob's plumbing's schema; ``bobs.commit()`` runs a block and then its on-commit hooks
    (the hand-off to the — inline — worker)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1

    class Bobs:
        client = world.bobs

        @staticmethod
        def commit():
            return django_capture_on_commit_callbacks(execute=True)

        @staticmethod
        def endpoint(url: str, **kwargs) -> WebhookEndpoint:
            return services.endpoint_create(url=url, **kwargs)

        @staticmethod
        def emit(type: str = "message.created", data: dict | None = None, subject: str = ""):
            with django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic():
                    return services.event_emit(type, data or {"id": 1}, subject=subject)

    with schema_context("bobsplumbing"):
        yield Bobs
