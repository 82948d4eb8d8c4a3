"""The inbox: newest first, filters, search, pagination, the count in the navigation, isolation."""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import Message
from tests.conftest import BOB_HOST, CHARLIE_HOST
from tests.portal.conftest import take

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def _ids(response) -> list[int]:
    import re

    return [int(i) for i in re.findall(r'data-message-id="(\d+)"', response.content.decode())]


@pytest.fixture
def inbox(world, oncall):
    """Five of Bob's messages over three days, one urgent (escalating), one acknowledged, one filed."""
    now = timezone.now()
    with schema_context("bobsplumbing"):
        made = {
            "old": take(world.bobs, at=now - timedelta(days=2), caller_name="Olga Old", fields={"problem": "Dripping tap"}),
            "urgent": take(world.bobs, at=now - timedelta(hours=3), urgency="urgent", category="emergency",
                           caller_name="Uma Urgent", callback_number="+12125550177",
                           fields={"problem": "Burst pipe", "address": "12 Elm Street"}),
            "acked": take(world.bobs, at=now - timedelta(hours=2), caller_name="Ada Acked"),
            "filed": take(world.bobs, at=now - timedelta(hours=1), caller_name="Fay Filed"),
            "new": take(world.bobs, at=now - timedelta(minutes=5), caller_name="Ned New", category="billing",
                        fields={"question": "Invoice 4471 looks doubled"}),
        }
        Message.objects.filter(pk=made["acked"].pk).update(acknowledged_at=now, acknowledged_by="Bea")
        Message.objects.filter(pk=made["filed"].pk).update(filed_at=now)
    return made


def test_the_clients_home_is_its_inbox_newest_first(world, logged_in, inbox):
    response = logged_in(world.bea, BOB_HOST).get("/")
    assert response.status_code == HTTPStatus.OK
    # The filed one is out of the inbox; newest first.
    assert _ids(response) == [inbox[k].pk for k in ("new", "acked", "urgent", "old")]
    page = response.content.decode()
    assert "Uma Urgent" in page and "Burst pipe" in page
    assert 'class="urgent open"' in page  # urgent and not acknowledged: drawn apart
    # The navigation counts what nobody acknowledged in the inbox: new, urgent, old.
    assert 'id="unacknowledged" data-unacknowledged title="Not acknowledged" >3</span>' in page


@pytest.mark.parametrize(("query", "expected"), [
    ("urgency=urgent", ["urgent"]),
    ("category=billing", ["new"]),
    ("state=open", ["new", "urgent", "old"]),
    ("state=acknowledged", ["acked"]),
    ("box=filed", ["filed"]),
    ("box=all", ["new", "filed", "acked", "urgent", "old"]),
    ("q=olga", ["old"]),  # the caller's name
    ("q=elm+street", ["urgent"]),  # a captured answer
    ("q=(212)+555-0177", ["urgent"]),  # a phone number, however it is typed
    ("q=invoice+4471", ["new"]),
])
def test_filters_and_search(world, logged_in, inbox, query, expected):
    response = logged_in(world.bob, BOB_HOST).get(f"/messages/?{query}")
    assert _ids(response) == [inbox[k].pk for k in expected]


def test_a_date_range_is_read_in_the_clients_time_zone(world, logged_in, inbox, bobs_schema):
    # 23:30 in New York on 1 March is already 2 March in UTC: it belongs to 1 March.
    late = take(world.bobs, at=datetime(2026, 3, 1, 23, 30, tzinfo=NY), caller_name="Late Night")
    take(world.bobs, at=datetime(2026, 3, 2, 0, 30, tzinfo=NY), caller_name="Next Day")
    response = logged_in(world.bob, BOB_HOST).get("/messages/?since=2026-03-01&until=2026-03-01")
    assert _ids(response) == [late.pk]


def test_it_paginates(world, logged_in, bobs_schema):
    made = [take(world.bobs, deliver=False, caller_name=f"Caller {i}") for i in range(30)]
    client = logged_in(world.bob, BOB_HOST)
    first, second = client.get("/messages/"), client.get("/messages/?page=2")
    assert _ids(first) == [m.pk for m in reversed(made)][:25]
    assert _ids(second) == [m.pk for m in reversed(made)][25:]
    assert "Page 1 of 2" in first.content.decode()


def test_the_live_partial_is_the_list_alone_with_the_count(world, logged_in, inbox):
    response = logged_in(world.bea, BOB_HOST).get("/messages/?urgency=urgent&partial=1")
    assert response.status_code == HTTPStatus.OK
    assert _ids(response) == [inbox["urgent"].pk]
    assert "<html" not in response.content.decode()
    assert response["X-Unacknowledged"] == "3"


def test_another_clients_inbox_shows_none_of_it(world, logged_in, inbox):
    page = logged_in(world.charlie, CHARLIE_HOST).get("/").content.decode()
    assert _ids(logged_in(world.charlie, CHARLIE_HOST).get("/messages/?box=all")) == []
    assert "Uma Urgent" not in page and "Bob" not in page


def test_strangers_are_sent_to_log_in(world, logged_in, inbox):
    for who in (world.charlie, world.ana, world.alice):  # another client's admin, an agent, platform staff
        response = logged_in(who, BOB_HOST).get("/messages/")
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith("/accounts/login/")
