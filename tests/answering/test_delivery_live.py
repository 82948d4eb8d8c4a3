"""Escalation reaching people live: the supervisors' wallboard shows an unacknowledged message
the moment its chain ends, and drops it when someone acknowledges (real ASGI server, Redis)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer, SupervisorAlert
from answering.messages import acknowledge, delivery
from answering.models import DeliveryRule, EscalationPolicy, EscalationStep, Message, Person
from tests.answering.conftest import _until, _wallboard

pytestmark = pytest.mark.processes


def _in_thread(fn, django_db_blocker):
    """Run ``fn`` committed, on its own connection, as a view or a task would."""
    errors = []

    def run():
        try:
            with django_db_blocker.unblock(), schema_context("bobsplumbing"):
                fn()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert not errors, errors


def test_an_unacknowledged_message_alerts_the_wallboard_until_acknowledged(world, asgi_server, django_db_blocker):
    made = {}

    def setup_and_take():
        person = Person.objects.create(name="Nobody Home")  # no address: the one step reaches nobody
        policy = EscalationPolicy.objects.create(name="Straight to supervisors", repeat=1)
        EscalationStep.objects.create(policy=policy, position=1, channel="sms", target="person", person=person)
        DeliveryRule.objects.create(position=0, urgency="urgent", policy=policy)
        with transaction.atomic():
            made["message"] = Message.objects.create(caller="+12125550123", callback_number="+12125550123",
                                                     urgency="urgent")
            delivery.message_deliver(message=made["message"], client=world.bobs)
        made.update(person=person, policy=policy)

    try:
        with _wallboard(asgi_server, world.sessions["sam@switchboard.test"]) as ws:
            _until(ws, lambda m: m["type"] == "snapshot")
            _in_thread(setup_and_take, django_db_blocker)
            alerted = _until(ws, lambda m: m["type"] == "snapshot" and any(
                a["client"] == "bobsplumbing" and "not acknowledged" in a["text"] for a in m["alerts"]))
            assert "+12125550123" in next(a["text"] for a in alerted["alerts"] if a["client"] == "bobsplumbing")
            _in_thread(lambda: acknowledge.message_acknowledge(message=made["message"], by="Bob", via="portal",
                                                            client=world.bobs), django_db_blocker)
            _until(ws, lambda m: m["type"] == "snapshot" and not any(
                a["client"] == "bobsplumbing" for a in m["alerts"]))
    finally:
        with django_db_blocker.unblock():
            SupervisorAlert.objects.filter(client=world.bobs).delete()
            OutboxTimer.objects.filter(client=world.bobs).delete()
            with schema_context("bobsplumbing"):
                Message.objects.filter(caller="+12125550123").delete()
                DeliveryRule.objects.filter(policy__name="Straight to supervisors").delete()
                EscalationPolicy.objects.filter(name="Straight to supervisors").delete()
                Person.objects.filter(name="Nobody Home").delete()
