"""A message's page: what was captured, the delivery timeline, acknowledge (escalation stops), file."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db.models import Max
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer
from answering.models import Delivery, Message
from tests.conftest import BOB_HOST, CHARLIE_HOST
from tests.portal.conftest import take

pytestmark = pytest.mark.django_db


@pytest.fixture
def urgent(world, oncall):
    """An urgent message escalating: a text queued for whoever is on call."""
    with schema_context("bobsplumbing"):
        message = take(world.bobs, urgency="urgent", category="emergency", caller_name="Uma Urgent",
                       callback_number="+12125550177", fields={"problem": "Burst pipe", "gas_smell": "no"})
        assert message.escalation == Message.Escalation.ACTIVE
        assert message.deliveries.filter(status=Delivery.Status.QUEUED).exists()
    return message


def test_it_shows_the_message_and_its_timeline(world, logged_in, urgent):
    page = logged_in(world.bea, BOB_HOST).get(f"/messages/{urgent.pk}/").content.decode()
    assert "Uma Urgent" in page
    assert 'href="tel:+12125550177"' in page
    assert "<dt>Problem</dt><dd>Burst pipe</dd>" in page and "<dt>Gas smell</dt><dd>no</dd>" in page
    assert "Following “Emergencies”" in page  # the timeline, from message_timeline
    assert "Text message to" in page  # the queued attempt
    assert 'id="acknowledge"' in page


def test_acknowledging_in_the_portal_stops_the_escalation(world, logged_in, urgent):
    client = logged_in(world.bea, BOB_HOST)
    response = client.post(f"/messages/{urgent.pk}/acknowledge")
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        message = Message.objects.get(pk=urgent.pk)
        assert message.acknowledged_at is not None
        assert message.acknowledged_via == "portal" and "bea@bobs.test" in message.acknowledged_by
        assert message.escalation == Message.Escalation.ACKNOWLEDGED
        statuses = set(message.deliveries.values_list("status", flat=True))
        assert statuses == {Delivery.Status.CANCELLED}
    assert not OutboxTimer.objects.filter(client=world.bobs, object_id=urgent.pk,
                                          kind=OutboxTimer.Kind.ESCALATION).exists()
    page = client.get(f"/messages/{urgent.pk}/").content.decode()
    assert "Acknowledged" in page and 'id="acknowledge"' not in page
    assert "pending attempt cancelled" in page  # the timeline's acknowledgement

    # A second click changes nothing and says so.
    client.post(f"/messages/{urgent.pk}/acknowledge")
    with schema_context("bobsplumbing"):
        assert Message.objects.get(pk=urgent.pk).acknowledged_at == message.acknowledged_at
        assert message.events.filter(status="acknowledged").count() == 1


def test_acknowledge_is_a_post(world, logged_in, urgent):
    assert logged_in(world.bea, BOB_HOST).get(f"/messages/{urgent.pk}/acknowledge").status_code == \
        HTTPStatus.METHOD_NOT_ALLOWED
    with schema_context("bobsplumbing"):
        assert Message.objects.get(pk=urgent.pk).acknowledged_at is None


def test_file_and_unfile(world, logged_in, urgent):
    client = logged_in(world.bea, BOB_HOST)
    client.post(f"/messages/{urgent.pk}/file", {"filed": "1"})
    with schema_context("bobsplumbing"):
        assert Message.objects.get(pk=urgent.pk).filed_at is not None
    assert f'data-message-id="{urgent.pk}"' not in client.get("/messages/").content.decode()
    client.post(f"/messages/{urgent.pk}/file", {"filed": "0"})
    with schema_context("bobsplumbing"):
        assert Message.objects.get(pk=urgent.pk).filed_at is None


def test_the_live_part_refreshes_alone(world, logged_in, urgent):
    response = logged_in(world.bea, BOB_HOST).get(f"/messages/{urgent.pk}/?partial=1")
    page = response.content.decode()
    assert 'id="timeline"' in page and "<html" not in page
    assert response["X-Unacknowledged"] == "1"


def test_another_clients_user_gets_404_for_this_message(world, logged_in, urgent):
    # On their own host the id is looked up in their own schema: not there.
    with schema_context("charlieclinic"):
        assert not Message.objects.filter(pk=urgent.pk).exists()
        assert (Message.objects.aggregate(m=Max("pk"))["m"] or 0) < urgent.pk
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    for url in (f"/messages/{urgent.pk}/", f"/messages/{urgent.pk}/?partial=1"):
        assert charlie.get(url).status_code == HTTPStatus.NOT_FOUND
    assert charlie.post(f"/messages/{urgent.pk}/acknowledge").status_code == HTTPStatus.NOT_FOUND
    assert charlie.post(f"/messages/{urgent.pk}/file").status_code == HTTPStatus.NOT_FOUND
    # On Bob's host their session counts for nothing: sent to log in, nothing acknowledged.
    on_bobs = logged_in(world.charlie, BOB_HOST)
    assert on_bobs.get(f"/messages/{urgent.pk}/").status_code == HTTPStatus.FOUND
    assert on_bobs.post(f"/messages/{urgent.pk}/acknowledge").status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        assert Message.objects.get(pk=urgent.pk).acknowledged_at is None
