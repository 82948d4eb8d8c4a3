"""Campaigns through the API: created with the usual dispositions and refused by field (nothing
written), started and paused by the lifecycle services (the dialer's row with the state), metered by
the hourly spending cap, results with the portal's figures, and scopes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import DialerCampaign
from api.models import Scope
from api.spend import spend_take, spend_used
from campaigns.models import CallAttempt, Campaign, Contact, ContactList
from campaigns.services.lifecycle import campaign_create
from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def _json(response) -> dict:
    return json.loads(response.content)


def _with_contacts(campaign: Campaign, count: int) -> Campaign:
    with schema_context("bobsplumbing"):
        june = ContactList.objects.create(campaign=campaign, name="June")
        for n in range(count):
            Contact.objects.create(campaign=campaign, list=june, number=f"+1212555{300 + n:04d}")
    return campaign


def _campaign(name="Tune-ups", contacts=2, **fields) -> Campaign:
    with schema_context("bobsplumbing"):
        campaign = campaign_create(name=name, purpose="informational", **fields)
    return _with_contacts(campaign, contacts)


def _dialer_row(world, campaign: Campaign) -> bool:
    return DialerCampaign.objects.filter(client=world.bobs, campaign_id=campaign.pk).exists()


def test_create_with_the_usual_dispositions_then_read_it(bob_api):
    made = bob_api.post("/api/v1/campaigns", {"name": "Tune-ups", "purpose": "informational", "mode": "preview",
                                              "window_start": "10:00", "window_end": "18:30", "days": [0, 2, 4],
                                              "caller_id": "(212) 555-0111", "max_attempts": 2})
    assert made.status_code == HTTPStatus.CREATED, made.content
    campaign = _json(made)
    assert (campaign["state"], campaign["mode"], campaign["channel"], campaign["caller_id"], campaign["days"]) == \
        ("draft", "preview", "voice", "+12125550111", [0, 2, 4])
    assert (campaign["window_start"], campaign["window_end"], campaign["max_attempts"]) == ("10:00:00", "18:30:00", 2)
    assert [d["code"] for d in campaign["dispositions"]] == ["sale", "appointment", "callback", "not_interested",
                                                             "wrong_number", "dnc"]
    assert _json(bob_api.get(f"/api/v1/campaigns/{campaign['id']}")) == campaign
    assert [c["id"] for c in _json(bob_api.get("/api/v1/campaigns", {"state": "draft"}))["results"]] == \
        [campaign["id"]]
    assert _json(bob_api.get("/api/v1/campaigns", {"state": "running"}))["results"] == []


@pytest.mark.parametrize("body, field", [
    ({"name": "Tune-ups", "purpose": "spam"}, "purpose"),
    ({"name": "Tune-ups", "purpose": "informational", "caller_id": "banana"}, "caller_id"),
    ({"name": "Tune-ups", "purpose": "informational", "ring_seconds": 10}, "ring_seconds"),
    ({"name": "Tune-ups", "purpose": "informational", "script": 999_999}, "script"),
    ({"name": "Tune-ups", "purpose": "informational", "window_start": "20:00", "window_end": "09:00"}, "window_end"),
    ({"name": "Tune-ups", "purpose": "informational", "days": [1, 7]}, "days.1"),
    ({"name": "Renewals", "purpose": "informational"}, "name"),  # taken
    ({"purpose": "informational"}, "name"),
])
def test_a_bad_campaign_is_refused_by_field_and_nothing_is_written(bob_api, world, body, field):
    _campaign("Renewals", contacts=0)
    response = bob_api.post("/api/v1/campaigns", body)
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert [e["field"] for e in problem(response)["errors"]] == [field]
    with schema_context("bobsplumbing"):
        assert list(Campaign.objects.values_list("name", flat=True)) == ["Renewals"]


def test_start_and_pause_run_the_lifecycle(bob_api, bob_key, world):
    campaign = _campaign()
    started = bob_api.post(f"/api/v1/campaigns/{campaign.pk}/start")
    assert started.status_code == HTTPStatus.OK, started.content
    assert _json(started)["state"] == "running" and f"Started by API key {bob_key[0]}" in _json(started)["state_reason"]
    assert _dialer_row(world, campaign)  # what the dialer's beat ticks
    paused = _json(bob_api.post(f"/api/v1/campaigns/{campaign.pk}/pause", {"reason": "The office is closed today"}))
    assert (paused["state"], paused["state_reason"]) == ("paused", "The office is closed today")
    assert not _dialer_row(world, campaign)
    assert _json(bob_api.post(f"/api/v1/campaigns/{campaign.pk}/start"))["state"] == "running"  # resumed
    with schema_context("bobsplumbing"):
        assert Campaign.objects.get(pk=campaign.pk).state == "running"


def test_a_start_the_campaign_refuses_is_422_and_changes_nothing(bob_api, world):
    texts = _campaign("Reminders by text", channel="sms")  # no text to send
    response = bob_api.post(f"/api/v1/campaigns/{texts.pk}/start")
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "has no text to send" in problem(response)["detail"]
    with schema_context("bobsplumbing"):
        assert Campaign.objects.get(pk=texts.pk).state == "draft"
    assert not _dialer_row(world, texts) and spend_used(world.bobs, "texts") == 0


def test_a_start_is_refused_429_when_the_hours_call_allowance_is_used_up(bob_api, world, settings):
    settings.API_SPEND_CALLS_PER_HOUR = 5
    campaign = _campaign(contacts=3)
    spend_take(world.bobs, "calls", n=5)  # earlier API requests this hour
    response = bob_api.post(f"/api/v1/campaigns/{campaign.pk}/start")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert problem(response)["type"].endswith(":spend-cap") and int(response["Retry-After"]) > 0
    with schema_context("bobsplumbing"):
        assert Campaign.objects.get(pk=campaign.pk).state == "draft"  # the start was undone with the refusal
    assert not _dialer_row(world, campaign)


def test_a_calls_start_takes_one_call_per_contact_up_to_what_is_left(bob_api, world, settings):
    settings.API_SPEND_CALLS_PER_HOUR = 5
    small, large = _campaign("Small", contacts=2), _campaign("Large", contacts=4)
    assert bob_api.post(f"/api/v1/campaigns/{small.pk}/start").status_code == HTTPStatus.OK
    assert spend_used(world.bobs, "calls") == 2
    assert bob_api.post(f"/api/v1/campaigns/{small.pk}/start").status_code == HTTPStatus.OK  # running: nothing new
    assert spend_used(world.bobs, "calls") == 2
    assert bob_api.post(f"/api/v1/campaigns/{large.pk}/start").status_code == HTTPStatus.OK
    assert spend_used(world.bobs, "calls") == 5  # the rest of the hour's allowance, not more


def test_a_texts_start_needs_a_text_per_contact_within_the_cap(bob_api, world, settings):
    settings.API_SPEND_TEXTS_PER_HOUR = 4
    texts = _campaign("By text", contacts=5, channel="sms", sms_text="Hi {first_name}, your tune-up is due.")
    refused = bob_api.post(f"/api/v1/campaigns/{texts.pk}/start")
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS and "4 texts an hour" in problem(refused)["detail"]
    assert spend_used(world.bobs, "texts") == 0 and not _dialer_row(world, texts)
    settings.API_SPEND_TEXTS_PER_HOUR = 10
    assert _json(bob_api.post(f"/api/v1/campaigns/{texts.pk}/start"))["state"] == "running"
    assert spend_used(world.bobs, "texts") == 5


def test_an_import_into_a_running_texts_campaign_takes_a_text_per_line(bob_api, world, settings):
    settings.API_SPEND_TEXTS_PER_HOUR = 10
    texts = _campaign("By text", contacts=1, channel="sms", sms_text="Hi {first_name}")
    bob_api.post(f"/api/v1/campaigns/{texts.pk}/start")
    with schema_context("bobsplumbing"):
        june = ContactList.objects.get(campaign=texts)
    csv = "Phone\n" + "".join(f"212555{n:04d}\n" for n in range(400, 420))  # 20 rows: over what is left (9)
    refused = bob_api.post(f"/api/v1/contact-lists/{june.pk}/imports", {"csv": csv})
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    from campaigns.models import ContactImport
    with schema_context("bobsplumbing"):
        assert not ContactImport.objects.exists()
    assert bob_api.post(f"/api/v1/contact-lists/{june.pk}/imports", {"csv": "Phone\n2125550500\n"}).status_code == 202
    assert spend_used(world.bobs, "texts") == 2


def test_results_show_the_figures_and_each_contacts_outcome(bob_api, world):
    campaign = _campaign(contacts=3)
    with schema_context("bobsplumbing"):
        sale = campaign.dispositions.get(code="sale")
        first, second, _ = Contact.objects.filter(campaign=campaign).order_by("pk")
        now = timezone.now()
        for contact, outcome, disposition, amount in ((first, "live_answered", sale, Decimal("120.00")),
                                                      (second, "no_answer", None, None)):
            CallAttempt.objects.create(campaign=campaign, contact=contact, number=contact.number, channel="autodialed",
                                       purpose="informational", started_at=now - dt.timedelta(minutes=5),
                                       ended_at=now, outcome=outcome, disposition=disposition, amount=amount,
                                       agent_id=world.ana.pk if disposition else None)
        Contact.objects.filter(pk=first.pk).update(status="done", attempts=1, last_outcome="live_answered",
                                                   disposition=sale)
        Contact.objects.filter(pk=second.pk).update(status="retry", attempts=1, last_outcome="no_answer")
    body = _json(bob_api.get(f"/api/v1/campaigns/{campaign.pk}/results"))
    f = body["figures"]
    assert (f["contacts"], f["contacts_left"], f["dials"], f["answers"], f["answer_rate"], f["conversions"]) == \
        (3, 2, 2, 1, 0.5, 1)
    assert (f["contacts_by_status"]["done"], f["attempts_by_outcome"]["no_answer"], f["abandonment_risk"]) == \
        (1, 1, "ok")
    rows = {row["id"]: row for row in body["results"]}
    assert len(rows) == 3
    assert (rows[first.pk]["disposition"], rows[first.pk]["amount"], rows[first.pk]["agent"]) == \
        ("sale", "120.00", world.ana.first_name)
    assert (rows[second.pk]["status"], rows[second.pk]["last_outcome"], rows[second.pk]["disposition"]) == \
        ("retry", "no_answer", None)
    only = _json(bob_api.get(f"/api/v1/campaigns/{campaign.pk}/results", {"status": "retry", "limit": 1}))
    assert [row["id"] for row in only["results"]] == [second.pk] and only["figures"]["contacts"] == 3
    assert [e["field"] for e in problem(bob_api.get(f"/api/v1/campaigns/{campaign.pk}/results",
                                                    {"outcome": "won"}))["errors"]] == ["outcome"]


def test_out_of_scope_keys_are_403_and_change_nothing(world, key_for):
    campaign = _campaign()
    reader = key_for(world.bobs, scopes=[Scope.CAMPAIGNS_READ])
    assert reader.get(f"/api/v1/campaigns/{campaign.pk}/results").status_code == HTTPStatus.OK
    for path in (f"/api/v1/campaigns/{campaign.pk}/start", f"/api/v1/campaigns/{campaign.pk}/pause",
                 "/api/v1/campaigns"):
        response = reader.post(path, {"name": "New", "purpose": "informational"})
        assert response.status_code == HTTPStatus.FORBIDDEN and "campaigns:write" in problem(response)["detail"]
    other = key_for(world.bobs, scopes=[Scope.CONTACTS_READ, Scope.CONTACTS_WRITE])
    for path in ("/api/v1/campaigns", f"/api/v1/campaigns/{campaign.pk}", f"/api/v1/campaigns/{campaign.pk}/results"):
        assert "campaigns:read" in problem(other.get(path))["detail"], path
    with schema_context("bobsplumbing"):
        assert list(Campaign.objects.values_list("name", "state")) == [("Tune-ups", "draft")]
    assert not _dialer_row(world, campaign)
