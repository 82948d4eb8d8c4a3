"""The list's fast paths say exactly what the general ones say: the page written without DRF's
serializer walk, and the ETag's facts read by a hand-written SELECT instead of ``aggregate()``."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.db.models import Count, Max
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import Message
from api import etag
from api.views.messages import LIST_COLUMNS, MessageOut, message_rows_out
from portal.selectors import message_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def messages(world):
    with schema_context("bobsplumbing"):
        now = timezone.now().replace(microsecond=0)
        Message.objects.create(caller="+12125550147", caller_name="Pat Lee", category="service",
                               fields={"problem": "Leak"}, acknowledged_at=now, acknowledged_by="Dana",
                               acknowledged_via="sms")
        Message.objects.create(caller="+12125550148", caller_name="Sam Cole", urgency="urgent", category="emergency",
                               fields={"problem": "No heat", "floor": 2}, filed_at=now)
        old = Message.objects.create(caller="+12125550149", caller_name="Old Timer", category="Service")
        Message.objects.filter(pk=old.pk).update(created=now - timedelta(days=40))
        yield


@pytest.mark.parametrize("zone", ["America/New_York", "UTC", "Asia/Kolkata"])
def test_a_page_is_written_as_message_out_writes_each(messages, zone):
    with schema_context("bobsplumbing"), timezone.override(zoneinfo.ZoneInfo(zone)):
        found = Message.objects.order_by("-pk")
        assert message_rows_out(list(found.values(*LIST_COLUMNS))) == [MessageOut(m).data for m in found]


@pytest.mark.parametrize("filters", [
    {}, {"box": "inbox"}, {"state": "acknowledged"}, {"urgency": "urgent"}, {"category": "SERVICE"},
    {"q": "heat"}, {"q": "(212) 555-0148"}, {"q": "nobody at all"},
    {"since": (timezone.now() - timedelta(days=3)).date()},
])
def test_the_etag_facts_are_the_aggregates(messages, filters):
    with schema_context("bobsplumbing"):
        found = message_search(time_zone="America/New_York", **{"box": "all", **filters})
        expected = found.order_by().aggregate(n=Count("pk"), changed=Max("updated"), last=Max("pk"))
        assert etag._facts(found, "updated") == expected
        request = RequestFactory().get("/api/v1/messages")
        assert etag.list_etag(found, request=request) == etag.list_etag(found, request=request)


def test_an_empty_filter_is_no_rows(messages):
    with schema_context("bobsplumbing"):
        assert etag._facts(Message.objects.none(), "updated") == {"n": 0, "changed": None, "last": None}
