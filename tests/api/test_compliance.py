"""DNC and consent through the API: added and removed as in the portal (kept, on the ledger), and a
number checked with the gate's decision and reasons — nothing placed."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django_tenants.utils import schema_context

from compliance.models import Consent, DncEntry, LedgerEntry
from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def test_add_a_number_then_again_then_remove_it_keeping_the_entry(bob_api, bob_key, world):
    added = bob_api.post("/api/v1/dnc/add", {"number": "(212) 555-0177", "reason": "Asked us to stop"})
    assert added.status_code == HTTPStatus.CREATED
    entry = json.loads(added.content)
    assert (entry["number"], entry["source"], entry["active"]) == ("+12125550177", "api", True)
    assert entry["added_by"] == f"API key {bob_key[0]}"
    again = bob_api.post("/api/v1/dnc/add", {"number": "+12125550177"})
    assert again.status_code == HTTPStatus.OK and json.loads(again.content)["id"] == entry["id"]
    removed = bob_api.post("/api/v1/dnc/remove", {"number": "2125550177", "reason": "Called back to ask"})
    assert removed.status_code == HTTPStatus.OK and json.loads(removed.content)["active"] is False
    with schema_context("bobsplumbing"):
        kept = DncEntry.objects.get(pk=entry["id"])
        assert kept.removed_at is not None and kept.removed_reason == "Called back to ask"
        assert LedgerEntry.objects.filter(number="+12125550177", event__in=["opt_out", "dnc_removed"]).count() == 2
    assert problem(bob_api.post("/api/v1/dnc/remove", {"number": "2125550177"}))["status"] == 404
    listed = json.loads(bob_api.get("/api/v1/dnc", {"include_removed": "true"}).content)["results"]
    assert entry["id"] in [e["id"] for e in listed]


@pytest.mark.parametrize("body, field", [({}, "number"), ({"number": "banana"}, "number"),
                                         ({"number": "2125550177", "reason": "x" * 301}, "reason")])
def test_a_bad_number_is_refused_by_field(bob_api, body, field):
    response = bob_api.post("/api/v1/dnc/add", body)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [e["field"] for e in problem(response)["errors"]] == [field]


def test_check_a_number_gives_the_gates_decision_with_reasons_and_places_nothing(bob_api):
    bob_api.post("/api/v1/dnc/add", {"number": "+12125550178"})
    response = bob_api.get("/api/v1/compliance/check",
                           {"number": "+12125550178", "purpose": "informational", "channel": "sms"})
    decision = json.loads(response.content)
    assert decision["allowed"] is False and decision["number"] == "+12125550178"
    assert "client_dnc" in {r["code"] for r in decision["reasons"] if r["deny"]}
    with schema_context("bobsplumbing"):
        assert LedgerEntry.objects.filter(pk=decision["ledger_id"]).exists()
        from campaigns.models import CallAttempt
        assert not CallAttempt.objects.exists()
    refused = bob_api.get("/api/v1/compliance/check", {"number": "+12125550178", "purpose": "spam"})
    assert {e["field"] for e in problem(refused)["errors"]} == {"purpose", "channel"}


def test_consent_add_and_list(bob_api):
    made = bob_api.post("/api/v1/consents/add", {"number": "2125550179", "kind": "express_written",
                                                 "source": "web_form", "obtained_at": "2026-01-05T15:00:00Z",
                                                 "evidence": "Checked the box"})
    assert made.status_code == HTTPStatus.CREATED, made.content
    consent = json.loads(made.content)
    assert consent["number"] == "+12125550179"
    listed = json.loads(bob_api.get("/api/v1/consents", {"number": "(212) 555-0179"}).content)["results"]
    assert [c["id"] for c in listed] == [consent["id"]]
    with schema_context("bobsplumbing"):
        assert Consent.objects.filter(number="+12125550179").count() == 1
    refused = bob_api.post("/api/v1/consents/add", {"number": "2125550179", "kind": "forever", "source": "web_form"})
    assert {e["field"] for e in problem(refused)["errors"]} == {"kind", "obtained_at"}


def test_consent_remove_keeps_it_revoked_and_the_gate_then_refuses(bob_api, bob_key):
    """Informational texts need prior express consent: allowed while it stands, refused once withdrawn."""
    def consent_missing() -> bool:
        decision = json.loads(bob_api.get("/api/v1/compliance/check", {
            "number": "+12125550181", "purpose": "informational", "channel": "sms"}).content)
        return "consent_missing" in {r["code"] for r in decision["reasons"] if r["deny"]}

    assert consent_missing()
    made = json.loads(bob_api.post("/api/v1/consents/add", {
        "number": "+12125550181", "kind": "express", "source": "web_form",
        "obtained_at": "2026-01-05T15:00:00Z"}).content)
    other = json.loads(bob_api.post("/api/v1/consents/add", {
        "number": "+12125550181", "kind": "ebr_inquiry", "source": "call",
        "obtained_at": "2026-01-05T15:00:00Z"}).content)
    assert not consent_missing()
    removed = bob_api.post("/api/v1/consents/remove", {"number": "(212) 555-0181", "kind": "express",
                                                       "reason": "Asked us to stop the reminders"})
    assert removed.status_code == HTTPStatus.OK, removed.content
    [revoked] = json.loads(removed.content)["revoked"]
    assert revoked["id"] == made["id"] and revoked["revoked_at"]
    assert revoked["revoked_reason"] == f"Revoked by API key {bob_key[0]}: Asked us to stop the reminders"
    assert consent_missing()
    with schema_context("bobsplumbing"):
        kept = Consent.objects.get(pk=made["id"])  # kept, never deleted
        assert kept.revoked_at is not None
        assert Consent.objects.get(pk=other["id"]).revoked_at is None  # another kind: untouched
        ledger = LedgerEntry.objects.filter(number="+12125550181", event="consent")
        assert [e.reasons[0]["code"] for e in ledger.order_by("pk")] == ["express", "ebr_inquiry", "consent_revoked"]
    again = bob_api.post("/api/v1/consents/remove", {"number": "+12125550181", "kind": "express"})
    assert problem(again)["status"] == 404
    with schema_context("bobsplumbing"):
        assert Consent.objects.get(pk=made["id"]).revoked_at == kept.revoked_at  # the first stamp stays
        assert LedgerEntry.objects.filter(number="+12125550181", event="consent").count() == 3
    refused = bob_api.post("/api/v1/consents/remove", {"number": "banana", "kind": "forever"})
    assert {e["field"] for e in problem(refused)["errors"]} == {"kind"}
    refused = bob_api.post("/api/v1/consents/remove", {"number": "banana"})
    assert [e["field"] for e in problem(refused)["errors"]] == ["number"]


def test_consent_revoke_is_idempotent(world):
    from compliance.services import consent_revoke

    with schema_context("bobsplumbing"):
        consent = Consent.objects.create(number="+12125550182", kind="express", source="paper",
                                         obtained_at="2026-01-05T15:00:00Z")
        assert consent_revoke(consent=consent, by="office@bobs.test", reason="Asked") is True
        first = Consent.objects.get(pk=consent.pk)
        assert consent_revoke(consent=consent, by="someone else", reason="Again") is False
        again = Consent.objects.get(pk=consent.pk)
        assert (again.revoked_at, again.revoked_reason) == (first.revoked_at, "Revoked by office@bobs.test: Asked")
        assert LedgerEntry.objects.filter(number="+12125550182").count() == 1
