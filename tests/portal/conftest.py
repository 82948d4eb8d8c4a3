"""The portal's world: Bob's Plumbing's on-call people, a team with a rotation, an escalation
policy for urgent messages, and a helper that takes messages (committed in the test's
transaction, delivered like any message). Charlie's Clinic is the stranger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.messages.delivery import message_deliver
from answering.models import (
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Message,
    Person,
    Rotation,
    RotationMember,
    Team,
)


@dataclass
class OnCall:
    dana: Person  # technician: mobile, phone, email
    eli: Person  # technician: mobile only
    office: Person  # the office: email only
    techs: Team
    policy: EscalationPolicy


@pytest.fixture
def bobs_schema(world):
    with schema_context("bobsplumbing"):
        yield


@pytest.fixture
def oncall(bobs_schema) -> OnCall:
    dana = Person.objects.create(name="Dana Tech", email="dana@bobs.test", mobile="+12125550161", phone="+12125550162")
    eli = Person.objects.create(name="Eli Tech", mobile="+12125550163")
    office = Person.objects.create(name="Office", email="office@bobs.test")
    techs = Team.objects.create(name="Technicians")
    rotation = Rotation.objects.create(team=techs, period=Rotation.Period.DAILY, handover_time=time(8),
                                       starts_on=timezone.localdate() - timedelta(days=10))
    RotationMember.objects.create(rotation=rotation, person=dana, position=1)
    RotationMember.objects.create(rotation=rotation, person=eli, position=2)
    policy = EscalationPolicy.objects.create(name="Emergencies", repeat=2, needs_acknowledgement=True)
    EscalationStep.objects.create(policy=policy, position=1, channel="sms", target="on_call", team=techs, wait_minutes=5)
    EscalationStep.objects.create(policy=policy, position=2, channel="email", target="person", person=office,
                                  wait_minutes=5)
    DeliveryRule.objects.create(position=1, urgency="urgent", policy=policy)
    return OnCall(dana=dana, eli=eli, office=office, techs=techs, policy=policy)


def take(client, *, at=None, deliver: bool = True, **fields) -> Message:
    """A message as message_take commits it (in the active schema), optionally taken at ``at``."""
    defaults = {"caller": "+12125550147", "callback_number": "+12125550147", "caller_name": "Pat Caller",
                "fields": {"problem": "Leak under the sink"}, "urgency": "normal", "category": "service"}
    message = Message.objects.create(**{**defaults, **fields})
    if at is not None:
        Message.objects.filter(pk=message.pk).update(created=at)
        message.refresh_from_db()
    if deliver:
        message_deliver(message=message, client=client)
        message.refresh_from_db()
    return message
