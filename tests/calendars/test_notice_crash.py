"""A confirmation goes out exactly once: with a worker killed by a real SIGKILL in the middle of
the send (before Twilio got it, or after Twilio took it but before the row was updated), and
with two workers sending it at the same instant. Real Celery worker processes (with beat, for
the outbox sweep) and threads on the test database; the simulated gateway's "slow network"
holds the send at the moment we kill.

Committed data (the workers are other processes), in a client of its own, dropped afterwards.
The federal calling window is opened all day for the test's duration (a newer version of the
rule, removed afterwards): the worker's gate decides on the real clock, and the suite runs at
any hour; the hours themselves are tested in test_notices.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.twilio.gateway import SIM_HOLD, SIM_OUTBOX
from calendars.models import AppointmentNotice, AppointmentType, Calendar, ReminderRule, WorkingHours
from calendars.selectors import appointment_slots
from calendars.services import booking, notices
from compliance.platform.models import CallingRule
from tenants import services
from tenants.models import Client
from tests.conftest import until
from tests.processes import _stop, solo_worker

pytestmark = pytest.mark.processes

OPEN_ALL_DAY = "test: the federal window opened all day (test_notice_crash.py)"




@pytest.fixture
def crash_client(django_db_setup, django_db_blocker):
    """A client of its own with one calendar open all day and a text confirmation rule."""
    from switchboard.celery import app

    slug = f"ncrash{uuid.uuid4().hex[:6]}"
    number = f"+1212555{uuid.uuid4().int % 10000:04d}"
    queue = f"ncrash-{uuid.uuid4().hex[:8]}"  # nobody else's worker takes these tasks
    previous_queue, app.conf.task_default_queue = app.conf.task_default_queue, queue
    with django_db_blocker.unblock():
        CallingRule.objects.filter(source=OPEN_ALL_DAY).delete()  # a run killed before its clean-up
        CallingRule.objects.create(jurisdiction="US", name="Calling hours", purposes=["informational"],
                                   window_start=dt.time(0), window_end=dt.time(23, 59, 59), source=OPEN_ALL_DAY,
                                   effective_from=timezone.now().date() - dt.timedelta(days=1))
        client = services.client_provision(name="Crash Test Plumbing", slug=slug, time_zone="America/New_York",
                                           numbers=[services.NumberSpec(number)])
        with schema_context(slug):
            tom = Calendar.objects.create(name="Tom", time_zone="America/New_York")
            WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(0),
                                                           end=dt.time(23, 59, 59)) for d in range(7)])
            type_ = AppointmentType.objects.create(name="Repair visit", duration_minutes=60, step_minutes=60,
                                                   min_notice_minutes=60, horizon_days=14)
            type_.calendars.add(tom)
            ReminderRule.objects.create(kind="confirmation", channel="sms")
    try:
        yield client, type_, tom, queue
    finally:
        app.conf.task_default_queue = previous_queue
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
        with django_db_blocker.unblock():
            from answering.acd.models import OutboxTimer

            CallingRule.objects.filter(source=OPEN_ALL_DAY).delete()
            OutboxTimer.objects.filter(client=client).delete()
            Client.objects.get(pk=client.pk).delete(force_drop=True)


def _book(client: Client, type_, tom, phone: str):
    with schema_context(client.schema_name):
        slot = appointment_slots(type_, count=1)[0]
        # Committed; its on-commit hook hands the confirmation to the worker.
        appointment = booking.appointment_book(type_=type_, calendar=tom, start=slot.start, by="ana", name="Pat",
                                               phone=phone)
        return AppointmentNotice.objects.get(appointment=appointment)


@pytest.mark.parametrize("killed", ["before", "after"], ids=["before-twilio-got-it", "after-twilio-took-it"])
def test_a_worker_killed_mid_send_texts_the_confirmation_exactly_once(crash_client, django_db_blocker, tmp_path,
                                                                      killed):
    client, type_, tom, queue = crash_client
    r = redis.Redis.from_url(settings.REDIS_URL)
    outbox = SIM_OUTBOX.format(kind="sms")
    phone = "+12125550399"
    r.delete(outbox)
    r.hset(SIM_HOLD, phone, killed)  # the send will hang here until we say
    log = tmp_path / "worker.log"
    first = solo_worker(queue, log, beat=False, schedule=tmp_path / "beat")
    second = None
    try:
        with django_db_blocker.unblock():
            notice = _book(client, type_, tom, phone)

            def status() -> str:
                with schema_context(client.schema_name):
                    notice.refresh_from_db()
                return notice.status

            until(lambda: status() == "sending", "the worker to start sending")
            if killed == "after":
                until(lambda: r.llen(outbox) == 1, "Twilio (the simulator) to take the text")
            else:
                time.sleep(0.3)
                assert r.llen(outbox) == 0
            os.kill(first.pid, signal.SIGKILL)  # mid-send, no warning
            first.wait(timeout=10)
            r.hdel(SIM_HOLD, phone)

            second = solo_worker(queue, log, beat=True, schedule=tmp_path / "beat")
            until(lambda: status() == "sent", "the restarted worker to finish the send")
            time.sleep(2.5)  # a lease and two sweeps more: nothing else may go out
            texts = [json.loads(raw) for raw in r.lrange(outbox, 0, -1)]
            assert [t["to"] for t in texts] == [phone]
            assert status() == "sent" and notice.provider_sid == texts[0]["sid"] and notice.tries == 2
            with schema_context(client.schema_name):
                [sent] = notice.appointment.events.filter(kind="confirmation_sent")
            assert ("after an interrupted try" in sent.detail) is (killed == "after")
    finally:
        r.hdel(SIM_HOLD, phone)
        r.delete(outbox)
        for process in (first, second):
            if process is not None and process.poll() is None:
                _stop(process)


def test_two_workers_sending_one_notice_at_the_same_instant_send_it_once(crash_client, django_db_blocker):
    client, type_, tom, queue = crash_client
    r = redis.Redis.from_url(settings.REDIS_URL)
    outbox = SIM_OUTBOX.format(kind="sms")
    phone = "+12125550398"
    r.delete(outbox)
    r.hset(SIM_HOLD, phone, "after")  # whoever sends is held after Twilio took it, while the other tries
    outcomes: list[str] = []
    try:
        with django_db_blocker.unblock():
            notice = _book(client, type_, tom, phone)  # its task waits in a queue no worker reads
            barrier = threading.Barrier(2)

            def send():
                with django_db_blocker.unblock():
                    try:
                        with schema_context(client.schema_name):
                            barrier.wait(10)
                            outcomes.append(notices.notice_send(notice_id=notice.pk, client=client).status)
                    finally:
                        connection.close()

            threads = [threading.Thread(target=send) for _ in range(2)]
            for t in threads:
                t.start()
            # One has given way while the other is inside the send (Twilio has the text).
            until(lambda: len(outcomes) == 1 and r.llen(outbox) == 1, "one to give way while the other sends")
            assert outcomes == ["busy"]
            r.hdel(SIM_HOLD, phone)
            for t in threads:
                t.join(30)
            assert sorted(outcomes) == ["busy", "sent"]
            assert [json.loads(raw)["to"] for raw in r.lrange(outbox, 0, -1)] == [phone]
            with schema_context(client.schema_name):
                notice.refresh_from_db()
                assert notice.status == "sent" and notice.tries == 1
                assert notice.appointment.events.filter(kind="confirmation_sent").count() == 1
    finally:
        r.hdel(SIM_HOLD, phone)
        r.delete(outbox)
