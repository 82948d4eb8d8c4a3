"""The portal's demo seed: idempotent, in the client's own schema only."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from answering.models import CallRecord, Message
from portal.demo import portal_demo_seed
from tenants.models import Role, User

pytestmark = pytest.mark.django_db


def test_it_seeds_a_client_user_and_examples_once(world):
    portal_demo_seed(world.bobs)
    portal_demo_seed(world.bobs)
    staff = User.objects.get(email="staff@bobsplumbing.example")
    assert (staff.role, staff.client, staff.recordings_allowed) == (Role.CLIENT_USER, world.bobs, False)
    with schema_context("bobsplumbing"):
        assert CallRecord.objects.count() == 3
        assert sorted(Message.objects.values_list("source", flat=True)) == ["call", "voicemail"]
        assert not Message.objects.filter(deliveries__isnull=False).exists()  # nobody is texted by a seed
    with schema_context("charlieclinic"):
        assert not CallRecord.objects.exists()
