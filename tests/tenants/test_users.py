"""Users and roles: the database holds the rule that client roles have a client and platform roles don't."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tenants import services
from tenants.models import Role, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "with_client"), [
    (Role.CLIENT_ADMIN, False), (Role.CLIENT_USER, False),
    (Role.AGENT, True), (Role.SUPERVISOR, True), (Role.PLATFORM_ADMIN, True),
])
def test_the_database_refuses_a_role_with_the_wrong_client(world, role, with_client):
    with pytest.raises(IntegrityError), transaction.atomic():
        # .update() skips every Python check: only the database stands in the way.
        User.objects.filter(pk=world.ben.pk).update(role=role, client=world.bobs if with_client else None)


def test_the_database_refuses_a_superuser_who_is_not_a_platform_admin(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=world.ana.pk).update(is_superuser=True)


def test_emails_are_unique_ignoring_case(world):
    with pytest.raises((IntegrityError, ValidationError)), transaction.atomic():
        services.user_create(email="Bob@Bobs.Test", role=Role.CLIENT_USER, client=world.charlies)


def test_user_create_explains_the_role_rule(world):
    with pytest.raises(ValidationError) as caught:
        services.user_create(email="x@y.test", role=Role.CLIENT_USER)
    assert "exactly one client" in str(caught.value)
    with pytest.raises(ValidationError):
        services.user_create(email="x@y.test", role=Role.AGENT, client=world.bobs)


def test_agents_have_skills(world):
    ana = world.ana.agent_profile
    assert set(ana.clients.all()) == {world.bobs, world.charlies}
    assert ana.serves(world.charlies, "es")
    assert world.ben.agent_profile.serves(world.bobs, "en")
    assert not world.ben.agent_profile.serves(world.charlies, "en")
    assert not world.ben.agent_profile.serves(world.bobs, "es")


def test_client_users_have_no_skills(world):
    with pytest.raises(ValidationError):
        services.agent_skills_set(user=world.bob, clients=[world.bobs], languages=["en"])


def test_who_may_use_which_host(world):
    assert world.bob.may_use_host(world.bobs)
    assert not world.bob.may_use_host(world.charlies)
    assert not world.bob.may_use_host(None)
    assert world.ana.may_use_host(None)
    assert not world.ana.may_use_host(world.bobs)


def test_who_may_edit_client_data(world):
    assert world.alice.may_edit_client_data(world.bobs)
    assert world.alice.may_edit_client_data(world.charlies)
    assert world.bob.may_edit_client_data(world.bobs)
    assert not world.bob.may_edit_client_data(world.charlies)
    assert not world.bea.may_edit_client_data(world.bobs)  # a client user, not the client's admin
    assert not world.ana.may_edit_client_data(world.bobs)
