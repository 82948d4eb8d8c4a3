"""Messages through the API: filters, search, cursor pages, ETag, one, acknowledge exactly once."""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import DeliveryEvent, Message
from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def _results(response) -> list[dict]:
    assert response.status_code == HTTPStatus.OK, response.content[:300]
    return json.loads(response.content)["results"]


@pytest.fixture
def inbox(world):
    with schema_context("bobsplumbing"):
        now = timezone.now()
        made = {
            "leak": Message.objects.create(caller="+12125550147", caller_name="Pat Lee", urgency="normal",
                                           category="service", fields={"problem": "Leak under the sink"}),
            "heat": Message.objects.create(caller="+12125550148", caller_name="Sam Cole", urgency="urgent",
                                           category="emergency", fields={"problem": "No heat"},
                                           acknowledged_at=now, acknowledged_by="Dana"),
            "old": Message.objects.create(caller="+12125550149", caller_name="Old Timer", urgency="normal",
                                          category="Service"),
        }
        Message.objects.filter(pk=made["old"].pk).update(created=now - timedelta(days=40))
        return made


def test_filters_and_search(bob_api, inbox):
    names = lambda response: {m["caller_name"] for m in _results(response)}  # noqa: E731
    assert names(bob_api.get("/api/v1/messages")) == {"Pat Lee", "Sam Cole", "Old Timer"}
    assert names(bob_api.get("/api/v1/messages", {"urgency": "urgent"})) == {"Sam Cole"}
    assert names(bob_api.get("/api/v1/messages", {"category": "SERVICE"})) == {"Pat Lee", "Old Timer"}
    assert names(bob_api.get("/api/v1/messages", {"acknowledged": "true"})) == {"Sam Cole"}
    assert names(bob_api.get("/api/v1/messages", {"acknowledged": "false"})) == {"Pat Lee", "Old Timer"}
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert names(bob_api.get("/api/v1/messages", {"since": since})) == {"Pat Lee", "Sam Cole"}
    assert names(bob_api.get("/api/v1/messages", {"q": "sink"})) == {"Pat Lee"}
    assert names(bob_api.get("/api/v1/messages", {"q": "(212) 555-0148"})) == {"Sam Cole"}


@pytest.mark.parametrize("query, field", [
    ({"urgency": "panic"}, "urgency"), ({"since": "yesterday"}, "since"), ({"acknowledged": "perhaps"}, "acknowledged"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "until"), ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"),
    ({"q": "a\x00b"}, "q"),
])
def test_a_bad_filter_is_a_400_naming_the_field(bob_api, query, field):
    response = bob_api.get("/api/v1/messages", query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in [e["field"] for e in problem(response)["errors"]]


def test_cursor_pages_walk_every_message_once(bob_api, inbox):
    seen, path = [], "/api/v1/messages?limit=2"
    while path:
        response = bob_api.get(path)
        body = json.loads(response.content)
        seen += [m["id"] for m in body["results"]]
        path = body["next"]
    assert sorted(seen, reverse=True) == seen and set(seen) == {m.pk for m in inbox.values()}


def test_etag_answers_304_until_something_changes(bob_api, inbox):
    first = bob_api.get("/api/v1/messages")
    tag = first["ETag"]
    assert tag.startswith('W/"')
    again = bob_api.get("/api/v1/messages", HTTP_IF_NONE_MATCH=tag)
    assert (again.status_code, again.content, again["ETag"]) == (HTTPStatus.NOT_MODIFIED, b"", tag)
    assert bob_api.get("/api/v1/messages?urgency=urgent", HTTP_IF_NONE_MATCH=tag).status_code == HTTPStatus.OK
    with schema_context("bobsplumbing"):
        Message.objects.filter(pk=inbox["leak"].pk).update(updated=timezone.now() + timedelta(seconds=1))
    changed = bob_api.get("/api/v1/messages", HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == HTTPStatus.OK and changed["ETag"] != tag
    with schema_context("bobsplumbing"):
        Message.objects.create(caller="+12125550150")
    assert bob_api.get("/api/v1/messages", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == HTTPStatus.OK


def test_one_message(bob_api, inbox):
    response = bob_api.get(f"/api/v1/messages/{inbox['heat'].pk}")
    body = json.loads(response.content)
    assert (body["caller_name"], body["acknowledged"], body["fields"]) == ("Sam Cole", True, {"problem": "No heat"})
    assert problem(bob_api.get("/api/v1/messages/99999999"))["status"] == 404


def test_acknowledge_exactly_once_and_on_the_timeline(bob_api, bob_key, inbox):
    leak = inbox["leak"]
    first = json.loads(bob_api.post(f"/api/v1/messages/{leak.pk}/acknowledge").content)
    assert first["acknowledged_now"] is True and first["message"]["acknowledged"] is True
    assert first["message"]["acknowledged_by"] == f"API key {bob_key[0]}"
    assert first["message"]["acknowledged_via"] == "api"
    second = json.loads(bob_api.post(f"/api/v1/messages/{leak.pk}/acknowledge").content)
    assert second["acknowledged_now"] is False
    with schema_context("bobsplumbing"):
        assert DeliveryEvent.objects.filter(message=leak, status="acknowledged").count() == 1
