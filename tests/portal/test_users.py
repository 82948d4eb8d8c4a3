"""The client's people: an admin invites (a set-password link on the client's host) and removes them."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.core import mail

from tenants.models import Role, User
from tests.conftest import BOB_HOST, CHARLIE_HOST, http

pytestmark = pytest.mark.django_db


def _invite(client, **fields):
    return client.post("/users/", {"email": "newtech@bobs.test", "full_name": "New Tech", "role": "client_user",
                                   **fields})


def test_an_admin_invites_someone_who_sets_a_password_on_the_clients_host(world, logged_in,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(logged_in(world.bob, BOB_HOST), recordings_allowed="on")
    assert response.status_code == HTTPStatus.FOUND
    invited = User.objects.get(email="newtech@bobs.test")
    assert (invited.role, invited.client, invited.is_active) == (Role.CLIENT_USER, world.bobs, True)
    assert not invited.has_usable_password() and invited.recordings_allowed

    (email,) = mail.outbox
    assert email.to == ["newtech@bobs.test"] and "Bob's Plumbing" in email.subject
    link = re.search(r"http://bobsplumbing\.localhost(/accounts/reset/\S+/)", email.body).group(1)

    # The link works on Bob's host only, and lets them choose a password, then log in.
    assert http(CHARLIE_HOST).get(link, follow=True).context["validlink"] is False
    visitor = http(BOB_HOST)
    form_page = visitor.get(link, follow=True)
    assert form_page.context["validlink"] is True
    new_password = "a long new password 4 Bob"
    done = visitor.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == HTTPStatus.FOUND
    assert http(BOB_HOST).post("/accounts/login/", {"username": "newtech@bobs.test", "password": new_password}) \
        .status_code == HTTPStatus.FOUND


def test_an_email_with_an_account_is_refused_without_saying_where(world, logged_in):
    page = _invite(logged_in(world.bob, BOB_HOST), email="charlie@charlies.test").content.decode()
    assert "That email address already has an account." in page
    assert User.objects.get(email="charlie@charlies.test").client == world.charlies
    assert not mail.outbox


def test_an_admin_removes_someone_but_not_themselves(world, logged_in):
    bob = logged_in(world.bob, BOB_HOST)
    assert bob.post(f"/users/{world.bob.pk}/remove").status_code == HTTPStatus.FOUND
    assert User.objects.get(pk=world.bob.pk).is_active
    assert "You cannot remove yourself" in bob.get("/users/").content.decode()

    bea_session = logged_in(world.bea, BOB_HOST)
    assert bob.post(f"/users/{world.bea.pk}/remove").status_code == HTTPStatus.FOUND
    assert not User.objects.get(pk=world.bea.pk).is_active
    # Her open session is worth nothing now.
    assert bea_session.get("/messages/").status_code == HTTPStatus.FOUND


def test_only_admins_of_this_client_manage_people(world, logged_in):
    bea = logged_in(world.bea, BOB_HOST)
    assert "Invite someone" not in bea.get("/users/").content.decode()
    assert _invite(bea).status_code == HTTPStatus.FORBIDDEN
    assert bea.post(f"/users/{world.bob.pk}/remove").status_code == HTTPStatus.FORBIDDEN
    assert bea.post(f"/users/{world.bea.pk}/recordings", {"allowed": "1"}).status_code == HTTPStatus.FORBIDDEN
    assert not User.objects.filter(email="newtech@bobs.test").exists()
    # Charlie's admin cannot reach Bob's people from Charlie's host: they are not his.
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert charlie.post(f"/users/{world.bea.pk}/remove").status_code == HTTPStatus.NOT_FOUND
    assert "bea@bobs.test" not in charlie.get("/users/").content.decode()
    assert User.objects.get(pk=world.bea.pk).is_active


def test_an_admin_lets_a_user_hear_recordings(world, logged_in):
    bob = logged_in(world.bob, BOB_HOST)
    bob.post(f"/users/{world.bea.pk}/recordings", {"allowed": "1"})
    assert User.objects.get(pk=world.bea.pk).may_hear_recordings(world.bobs)
    bob.post(f"/users/{world.bea.pk}/recordings", {"allowed": "0"})
    assert not User.objects.get(pk=world.bea.pk).may_hear_recordings(world.bobs)


def test_an_admin_sends_a_lost_invitation_again_until_a_password_is_chosen(world, logged_in,
                                                                           django_capture_on_commit_callbacks):
    bob = logged_in(world.bob, BOB_HOST)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(bob)
    invited = User.objects.get(email="newtech@bobs.test")
    assert "Send the invitation again" in bob.get("/users/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = bob.post(f"/users/{invited.pk}/invite-again")
    assert response.status_code == HTTPStatus.FOUND
    first, again = mail.outbox
    assert again.to == ["newtech@bobs.test"] and "/accounts/reset/" in again.body

    invited.set_password("a long new password 4 Bob")
    invited.save()
    with django_capture_on_commit_callbacks(execute=True):
        bob.post(f"/users/{invited.pk}/invite-again", follow=True)
    assert len(mail.outbox) == 2  # they have a password now: nothing sent
    assert "Send the invitation again" not in bob.get("/users/").content.decode()
    # Only admins of this client: Bea (a client user) and Charlie (another client) get nothing sent.
    invited.set_unusable_password()
    invited.save()
    assert logged_in(world.bea, BOB_HOST).post(f"/users/{invited.pk}/invite-again").status_code == HTTPStatus.FORBIDDEN
    assert logged_in(world.charlie, CHARLIE_HOST).post(f"/users/{invited.pk}/invite-again").status_code \
        == HTTPStatus.NOT_FOUND
    assert len(mail.outbox) == 2
