"""The delivery-rules editor never empties the rules: a form with no rows, every row removed or
a tampered management form is refused with a message, and the client's rules stay as they were."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from answering.models import DeliveryRule
from answering.oncall import services as schedules
from tests.conftest import BOB_HOST

pytestmark = pytest.mark.django_db

EMPTY = "Keep at least one delivery rule"


def _rules() -> list[tuple[int, str, int]]:
    with schema_context("bobsplumbing"):
        return list(DeliveryRule.objects.values_list("position", "urgency", "policy_id"))


def test_the_service_refuses_an_empty_rule_set(oncall):
    with pytest.raises(ValidationError) as refused:
        schedules.rules_replace(rules=[])
    assert EMPTY in refused.value.messages[0]
    assert DeliveryRule.objects.filter(urgency="urgent", policy=oncall.policy).count() == 1


def test_a_form_posted_with_no_rows_is_refused_and_keeps_the_rules(world, logged_in, oncall):
    before = _rules()
    response = logged_in(world.bob, BOB_HOST).post(
        "/policies/rules/", {"rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"})
    assert response.status_code == HTTPStatus.OK  # the form again, with its problem
    assert EMPTY in response.content.decode()
    assert _rules() == before == [(1, "urgent", oncall.policy.pk)]


def test_removing_every_row_is_refused_too(world, logged_in, oncall):
    response = logged_in(world.bob, BOB_HOST).post("/policies/rules/", {
        "rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "1",
        "rules-0-position": "1", "rules-0-urgency": "urgent", "rules-0-when": "any",
        "rules-0-policy": str(oncall.policy.pk), "rules-0-delete": "on",
        "rules-1-position": "", "rules-1-urgency": "", "rules-1-when": "any", "rules-1-policy": ""})
    assert response.status_code == HTTPStatus.OK
    assert EMPTY in response.content.decode()
    assert _rules() == [(1, "urgent", oncall.policy.pk)]


def test_a_tampered_or_invalid_form_says_what_is_wrong(world, logged_in, oncall):
    bob = logged_in(world.bob, BOB_HOST)
    missing = bob.post("/policies/rules/", {"rules-0-policy": str(oncall.policy.pk)})
    assert missing.status_code == HTTPStatus.OK
    assert "ManagementForm data is missing" in missing.content.decode()
    bad = bob.post("/policies/rules/", {
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0", "rules-0-position": "first",
        "rules-0-urgency": "urgent", "rules-0-when": "any", "rules-0-policy": str(oncall.policy.pk)})
    assert bad.status_code == HTTPStatus.OK
    assert "Rule 1: Order: Enter a whole number." in bad.content.decode()
    assert _rules() == [(1, "urgent", oncall.policy.pk)]


def test_a_real_change_is_still_saved(world, logged_in, oncall):
    response = logged_in(world.bob, BOB_HOST).post("/policies/rules/", {
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1", "rules-0-position": "1", "rules-0-urgency": "",
        "rules-0-category": "", "rules-0-when": "any", "rules-0-policy": str(oncall.policy.pk)})
    assert response.status_code == HTTPStatus.FOUND
    assert _rules() == [(1, "", oncall.policy.pk)]
