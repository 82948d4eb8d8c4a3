"""A worker killed by a real SIGKILL in the middle of a delivery: after a restart the text goes
out exactly once. Real Celery worker processes (with beat, for the outbox sweep) on the test
database; the simulated gateway's "slow network" holds the send at the moment we kill.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django_tenants.utils import schema_context

from answering.messages import delivery
from answering.models import Delivery, DeliveryRule, EscalationPolicy, EscalationStep, Message, Person
from answering.twilio.gateway import SIM_HOLD, SIM_OUTBOX
from tenants import services
from tenants.models import Client
from tests.conftest import until as _until
from tests.processes import _stop, solo_worker

pytestmark = pytest.mark.processes






@pytest.fixture
def crash_client(django_db_setup, django_db_blocker):
    """A client of its own, committed (the workers are other processes), dropped afterwards."""
    slug = f"crash{uuid.uuid4().hex[:6]}"
    number = f"+1212555{uuid.uuid4().int % 10000:04d}"
    with django_db_blocker.unblock():
        client = services.client_provision(name="Crash Test Heating", slug=slug, time_zone="America/New_York",
                                           numbers=[services.NumberSpec(number)])
        with schema_context(slug):
            tech = Person.objects.create(name="Terry Tech", mobile="+12125550301")
            policy = EscalationPolicy.objects.create(name="Text the tech", needs_acknowledgement=False, repeat=1)
            EscalationStep.objects.create(policy=policy, position=1, channel="sms", target="person", person=tech)
            DeliveryRule.objects.create(policy=policy)
    try:
        yield client
    finally:
        with django_db_blocker.unblock():
            from answering.acd.models import OutboxTimer, SupervisorAlert

            OutboxTimer.objects.filter(client=client).delete()
            SupervisorAlert.objects.filter(client=client).delete()
            Client.objects.get(pk=client.pk).delete(force_drop=True)


@pytest.mark.parametrize("killed", ["before", "after"], ids=["before-twilio-got-it", "after-twilio-took-it"])
def test_a_worker_killed_mid_delivery_delivers_exactly_once_after_a_restart(crash_client, django_db_blocker,
                                                                           tmp_path, killed):
    from switchboard.celery import app

    r = redis.Redis.from_url(settings.REDIS_URL)
    outbox = SIM_OUTBOX.format(kind="sms")
    mobile = "+12125550301"
    r.delete(outbox)
    r.hset(SIM_HOLD, mobile, killed)  # the send will hang here until we say
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    previous_queue, app.conf.task_default_queue = app.conf.task_default_queue, queue
    log = tmp_path / "worker.log"
    first = solo_worker(queue, log, beat=False, schedule=tmp_path / "beat")
    second = None
    try:
        with django_db_blocker.unblock(), schema_context(crash_client.schema_name):
            with transaction.atomic():  # committed; its on-commit hook queues the send for the worker
                message = Message.objects.create(caller="+12125559876", callback_number="+12125559876",
                                                 fields={"problem": "No heat"})
                delivery.message_deliver(message=message, client=crash_client)
            attempt = Delivery.objects.get(message=message)

            def sending():
                attempt.refresh_from_db()
                return attempt.status == "sending"

            _until(sending, "the worker to start sending")
            if killed == "after":
                _until(lambda: r.llen(outbox) == 1, "Twilio (the simulator) to take the text")
            else:
                time.sleep(0.3)
                assert r.llen(outbox) == 0
            os.kill(first.pid, signal.SIGKILL)  # mid-delivery, no warning
            first.wait(timeout=10)
            r.hdel(SIM_HOLD, mobile)

            second = solo_worker(queue, log, beat=True, schedule=tmp_path / "beat")

            def done():
                attempt.refresh_from_db()
                return attempt.status == "sent"

            _until(done, "the restarted worker to finish the delivery")
            time.sleep(2.5)  # a lease and two sweeps more: nothing else may go out
            texts = [json.loads(raw) for raw in r.lrange(outbox, 0, -1)]
            attempt.refresh_from_db()
            assert [t["to"] for t in texts] == [mobile]
            assert attempt.provider_sid == texts[0]["sid"] and attempt.tries == 2
            events = list(message.events.values_list("status", "detail"))
            found_again = any("after an interrupted try" in detail for _, detail in events)
            assert found_again is (killed == "after")
    finally:
        r.hdel(SIM_HOLD, mobile)
        r.delete(outbox)
        app.conf.task_default_queue = previous_queue
        for process in (first, second):
            if process is not None and process.poll() is None:
                _stop(process)
