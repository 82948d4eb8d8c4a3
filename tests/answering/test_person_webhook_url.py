"""A person's webhook URL is held to event webhooks' rule when it is saved — by the service, the
portal's person editor and the client-data admin: a loopback, private or link-local address is
refused on the field (production's rule); the development setting allows them."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from answering.models import Person
from answering.oncall import services as schedules
from tests.conftest import BOB_HOST

pytestmark = pytest.mark.django_db

REFUSED = ["http://127.0.0.1:8099/", "http://localhost/hooks", "http://169.254.169.254/latest/meta-data/",
           "http://10.1.2.3/", "http://[::1]/"]


@pytest.fixture
def production(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url", REFUSED)
def test_the_service_refuses_a_private_address_on_the_field(world, production, url):
    with schema_context("bobsplumbing"):
        with pytest.raises(ValidationError) as refused:
            schedules.person_save(name="Office system", webhook_url=url)
        [message] = refused.value.message_dict["webhook_url"]
        assert "we connect to public addresses only" in message
        assert not Person.objects.filter(name="Office system").exists()


def test_the_development_setting_allows_a_local_receiver(world, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with schema_context("bobsplumbing"):
        saved = schedules.person_save(name="Office system", webhook_url=" http://127.0.0.1:8099/ ")
        assert Person.objects.get(pk=saved.pk).webhook_url == "http://127.0.0.1:8099/"


def test_a_name_that_does_not_resolve_is_refused_even_in_development(world, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with schema_context("bobsplumbing"):
        with pytest.raises(ValidationError) as refused:
            schedules.person_save(name="Office system", webhook_url="https://no-such-host.invalid/hooks")
        assert "does not resolve" in refused.value.message_dict["webhook_url"][0]


def test_the_portal_editor_shows_the_refusal_on_the_field(world, logged_in, production):
    bob = logged_in(world.bob, BOB_HOST)
    page = bob.post("/oncall/people/new", {"name": "Office system", "webhook_url": "http://169.254.169.254/",
                                           "active": "on"})
    assert page.status_code == HTTPStatus.OK
    form = page.context["form"]
    assert "169.254.169.254 is a link-local address" in form.errors["webhook_url"][0]
    with schema_context("bobsplumbing"):
        assert not Person.objects.filter(name="Office system").exists()


def test_the_admin_refuses_it_too_and_an_edit_keeps_the_old_url(world, logged_in, production):
    with schema_context("bobsplumbing"):
        person = Person.objects.create(name="Office system", webhook_url="https://example.com/hooks")
    bob = logged_in(world.bob, BOB_HOST)
    page = bob.post(f"/admin/answering/person/{person.pk}/change/", {
        "name": "Office system", "email": "", "mobile": "", "phone": "", "webhook_url": "http://127.0.0.1:6379/",
        "active": "on"})
    assert page.status_code == HTTPStatus.OK, page.status_code
    assert "127.0.0.1 is a loopback address" in page.context["adminform"].form.errors["webhook_url"][0]
    with schema_context("bobsplumbing"):
        assert Person.objects.get(pk=person.pk).webhook_url == "https://example.com/hooks"
