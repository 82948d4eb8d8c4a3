"""The two admins: the platform's (public data) and the client-data admin (one schema at a time)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django_tenants.utils import schema_context, schema_exists

from answering.models import KnowledgeFact
from tenants.models import Client, User
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST

pytestmark = pytest.mark.django_db


def test_the_platform_admin_lists_clients_with_domains_and_numbers(world, logged_in):
    admin = logged_in(world.alice, PLATFORM_HOST)
    page = admin.get("/admin/tenants/client/").content.decode()
    assert "bobsplumbing.localhost" in page and "+12125550111" in page
    change = admin.get(f"/admin/tenants/client/{world.bobs.pk}/change/").content.decode()
    assert "phone_numbers-0-number" in change and "domains-0-domain" in change


def test_adding_a_client_in_the_admin_provisions_it(world, logged_in):
    admin = logged_in(world.alice, PLATFORM_HOST)
    response = admin.post("/admin/tenants/client/add/", {
        "name": "Iris Insurance", "slug": "irisinsurance", "time_zone": "America/Phoenix",
        "languages": ["en", "es"], "domain": "", "numbers": "+1 602 555 0109\n",
    })
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    client = Client.objects.get(schema_name="irisinsurance")
    assert schema_exists("irisinsurance")
    assert list(client.phone_numbers.values_list("number", flat=True)) == ["+16025550109"]


def test_the_admin_add_form_shows_what_is_wrong(world, logged_in):
    admin = logged_in(world.alice, PLATFORM_HOST)
    response = admin.post("/admin/tenants/client/add/", {
        "name": "Jo's Joinery", "slug": "josjoinery", "time_zone": "Europe/Atlantis",
        "languages": ["en"], "numbers": "+12125550111",
    })
    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "not an IANA time zone" in page and "already belongs to Bob" in page
    assert not schema_exists("josjoinery")


def test_supervisors_see_but_do_not_change(world, logged_in):
    sup = logged_in(world.sam, PLATFORM_HOST)
    assert sup.get("/admin/tenants/user/").status_code == HTTPStatus.OK
    assert sup.get("/admin/tenants/client/add/").status_code == HTTPStatus.FORBIDDEN


def test_agents_have_no_admin(world, logged_in):
    assert logged_in(world.ana, PLATFORM_HOST).get("/admin/").status_code == HTTPStatus.FOUND


def test_the_admin_manages_agents_skills(world, logged_in):
    page = logged_in(world.alice, PLATFORM_HOST).get(f"/admin/tenants/user/{world.ana.pk}/change/").content.decode()
    assert "agent_profile-0-languages" in page


# --- client data -----------------------------------------------------------------------

def test_a_client_admin_edits_their_own_data_on_their_host(world, logged_in):
    bob = logged_in(world.bob, BOB_HOST)
    page = bob.get("/admin/answering/knowledgefact/").content.decode()
    assert "Hours" in page
    response = bob.post("/admin/answering/knowledgefact/add/", {"title": "Gate code", "body": "4711", "position": 1})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        assert KnowledgeFact.objects.filter(title="Gate code").exists()
    with schema_context("charlieclinic"):
        assert not KnowledgeFact.objects.filter(title="Gate code").exists()


def test_a_client_user_who_is_not_an_admin_cannot_edit(world, logged_in):
    response = logged_in(world.bea, BOB_HOST).get("/admin/answering/knowledgefact/", follow=True)
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_a_client_admin_cannot_reach_another_clients_data(world, logged_in):
    # Through the other client's host: his session does not count there.
    bob_on_charlies = logged_in(world.bob, CHARLIE_HOST)
    assert bob_on_charlies.get("/admin/answering/knowledgefact/").status_code == HTTPStatus.FOUND
    # Through the platform's door: he is not platform staff.
    bob_on_platform = logged_in(world.bob, PLATFORM_HOST)
    response = bob_on_platform.get("/clients/charlieclinic/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "Log in to Switchboard" in response.content.decode()


def test_a_platform_admin_reaches_any_clients_data(world, logged_in):
    alice = logged_in(world.alice, PLATFORM_HOST)
    bobs = alice.get("/clients/bobsplumbing/admin/answering/knowledgefact/").content.decode()
    charlies = alice.get("/clients/charlieclinic/admin/answering/knowledgefact/").content.decode()
    assert "Bob&#x27;s Plumbing" in bobs and "Charlie&#x27;s Clinic" not in bobs
    assert "Charlie&#x27;s Clinic" in charlies
    # Links inside stay under the client's prefix.
    assert 'href="/clients/bobsplumbing/admin/answering/knowledgefact/' in bobs
    response = alice.post("/clients/charlieclinic/admin/answering/knowledgefact/add/",
                          {"title": "Parking", "body": "Free in the back lot", "position": 3})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/clients/charlieclinic/admin/")
    with schema_context("charlieclinic"):
        assert KnowledgeFact.objects.filter(title="Parking").exists()
    with schema_context("bobsplumbing"):
        assert not KnowledgeFact.objects.filter(title="Parking").exists()


def test_supervisors_and_agents_cannot_edit_client_data(world, logged_in):
    for user in (world.sam, world.ana):
        response = logged_in(user, PLATFORM_HOST).get("/clients/bobsplumbing/admin/", follow=True)
        assert response.status_code == HTTPStatus.FORBIDDEN


def test_an_unknown_client_prefix_is_404(world, logged_in):
    assert logged_in(world.alice, PLATFORM_HOST).get("/clients/nosuch/admin/").status_code == HTTPStatus.NOT_FOUND


def test_the_platform_admin_is_not_served_on_client_hosts(world, logged_in):
    # /admin/ on a client host is the client-data admin; users and clients are not there.
    bob = logged_in(world.bob, BOB_HOST)
    assert bob.get("/admin/tenants/user/").status_code == HTTPStatus.NOT_FOUND
    assert User.objects.filter(email="bob@bobs.test").exists()
