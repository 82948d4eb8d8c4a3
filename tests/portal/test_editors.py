"""The on-call and escalation editors: each refusal, who may edit, who is on call now and next."""

from __future__ import annotations

from datetime import date, time, timedelta
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import DeliveryRule, EscalationPolicy, Override, Person, Rotation, Team
from answering.oncall import services as schedules
from answering.oncall.services import RuleSpec, StepSpec
from tests.conftest import BOB_HOST

pytestmark = pytest.mark.django_db


def _refused(fn, **kwargs) -> str:
    with pytest.raises(ValidationError) as refused:
        fn(**kwargs)
    return " | ".join(refused.value.messages)


# --- Rotations and overrides -----------------------------------------------------------

def test_a_rotation_needs_members(oncall):
    assert "at least one member" in _refused(schedules.rotation_set, team=oncall.techs, period="daily",
                                             handover_time=time(8), starts_on=date(2026, 3, 1), members=[])


def test_a_rotation_lists_nobody_twice_and_someone_active(oncall):
    assert "Dana Tech is listed twice" in _refused(
        schedules.rotation_set, team=oncall.techs, period="weekly", handover_time=time(8), starts_on=date(2026, 3, 1),
        members=[oncall.dana, oncall.eli, oncall.dana])
    gone = Person.objects.create(name="Gone", active=False)
    assert "inactive" in _refused(schedules.rotation_set, team=oncall.techs, period="weekly", handover_time=time(8),
                                  starts_on=date(2026, 3, 1), members=[gone])
    # Refused means unchanged.
    assert [m.person for m in oncall.techs.rotation.members.all()] == [oncall.dana, oncall.eli]


def test_a_rotation_is_replaced_in_order(oncall):
    rotation = schedules.rotation_set(team=oncall.techs, period="weekly", handover_time=time(9),
                                      starts_on=date(2026, 3, 2), members=[oncall.eli, oncall.dana])
    assert (rotation.period, rotation.handover_time) == ("weekly", time(9))
    assert [m.person for m in rotation.members.all()] == [oncall.eli, oncall.dana]
    assert Rotation.objects.filter(team=oncall.techs).count() == 1


def test_an_override_ends_after_it_starts_and_not_in_the_past(oncall):
    now = timezone.now()
    assert "ends after it starts" in _refused(schedules.override_create, team=oncall.techs, person=oncall.eli,
                                              starts=now + timedelta(hours=2), ends=now + timedelta(hours=1))
    assert "already be over" in _refused(schedules.override_create, team=oncall.techs, person=oncall.eli,
                                         starts=now - timedelta(hours=3), ends=now - timedelta(hours=1))
    assert not Override.objects.exists()


def test_the_page_shows_who_is_on_call_now_and_next(world, logged_in, oncall):
    now = timezone.now()
    schedules.override_create(team=oncall.techs, person=oncall.office, starts=now - timedelta(minutes=1),
                              ends=now + timedelta(hours=1))
    page = logged_in(world.bea, BOB_HOST).get("/oncall/").content.decode()
    assert '<p class="oncall-now" data-now>Office <span class="pill">override</span></p>' in page
    # When the override ends the rotation's person takes over.
    with schema_context("bobsplumbing"):
        from answering.oncall.selectors import on_call_at

        after = on_call_at(team=oncall.techs, at=now + timedelta(hours=1), time_zone=world.bobs.time_zone).person
    assert f"<strong data-next>{after}</strong>" in page


# --- Policies ----------------------------------------------------------------------------

def _policy(oncall, steps, **kwargs):
    return schedules.policy_save(**{"name": "Test policy", "repeat": 1, "needs_acknowledgement": True,
                                    "alert_supervisors": True, "steps": steps, **kwargs})


def test_a_policy_with_no_steps_is_refused(oncall):
    assert "no steps: it would reach nobody" in _refused(_policy, oncall=oncall, steps=[])


def test_a_step_to_someone_without_the_address_is_refused_by_name(oncall):
    problems = _refused(_policy, oncall=oncall, steps=[
        StepSpec(channel="email", target="person", person=oncall.dana, wait_minutes=5),
        StepSpec(channel="sms", target="person", person=oncall.office, wait_minutes=5)])
    assert problems == "Step 2: Office has no mobile number, so a text message reaches nobody."


def test_a_step_to_an_empty_team_or_a_team_without_that_address_is_refused(oncall):
    empty = Team.objects.create(name="Night desk")
    problems = _refused(_policy, oncall=oncall, steps=[
        StepSpec(channel="sms", target="on_call", team=empty, wait_minutes=5),
        StepSpec(channel="webhook", target="team", team=oncall.techs, wait_minutes=5)])
    assert "Step 1: the team Night desk has nobody in its rotation" in problems
    assert "Step 2: nobody in Technicians has a webhook URL" in problems


def test_an_inactive_person_is_refused(oncall):
    Person.objects.filter(pk=oncall.eli.pk).update(active=False)
    oncall.eli.refresh_from_db()
    assert "Step 1: Eli Tech is inactive" in _refused(_policy, oncall=oncall, steps=[
        StepSpec(channel="sms", target="person", person=oncall.eli)])


def test_a_policy_that_repeats_without_waiting_is_refused(oncall):
    problems = _refused(_policy, oncall=oncall, repeat=3, steps=[
        StepSpec(channel="sms", target="on_call", team=oncall.techs, wait_minutes=0),
        StepSpec(channel="email", target="person", person=oncall.office, wait_minutes=0)])
    assert "all 3 rounds would go out at once" in problems
    # Once is fine, and so is repeating with a wait.
    assert _policy(oncall, [StepSpec(channel="sms", target="on_call", team=oncall.techs)], repeat=1).pk
    assert _policy(oncall, [StepSpec(channel="sms", target="on_call", team=oncall.techs, wait_minutes=10)],
                   repeat=3, name="Repeats").pk


def test_a_policy_name_is_unique(oncall):
    assert "already a policy called" in _refused(_policy, oncall=oncall, name="emergencies", steps=[
        StepSpec(channel="sms", target="on_call", team=oncall.techs, wait_minutes=5)])


def test_a_saved_policy_keeps_its_steps_in_order(oncall):
    policy = _policy(oncall, [StepSpec(channel="sms", target="on_call", team=oncall.techs, wait_minutes=5),
                              StepSpec(channel="call", target="person", person=oncall.dana, wait_minutes=10)])
    assert [(s.position, s.channel, s.target, s.wait_minutes) for s in policy.steps.all()] == [
        (1, "sms", "on_call", 5), (2, "call", "person", 10)]


def test_a_policy_in_use_cannot_be_deleted(oncall):
    assert "used by 1 delivery rule" in _refused(schedules.policy_delete, policy=oncall.policy)
    assert EscalationPolicy.objects.filter(pk=oncall.policy.pk).exists()


def test_a_rule_that_can_never_apply_is_refused(oncall):
    problems = _refused(schedules.rules_replace, rules=[RuleSpec(policy=oncall.policy),
                                                        RuleSpec(policy=oncall.policy, urgency="urgent")])
    assert problems == "Rule 2 can never apply: rule 1 above it already matches every message it would."
    assert "Rule 1: choose the policy" in _refused(schedules.rules_replace, rules=[RuleSpec(policy=None)])
    assert list(DeliveryRule.objects.values_list("urgency", flat=True)) == ["urgent"]  # unchanged


# --- Through the pages ---------------------------------------------------------------------

def test_an_admin_edits_a_policy_in_the_page_and_sees_each_problem(world, logged_in, oncall):
    client = logged_in(world.bob, BOB_HOST)
    form = {"name": "Night", "repeat": "2", "needs_acknowledgement": "on", "alert_supervisors": "on",
            "steps-TOTAL_FORMS": "2", "steps-INITIAL_FORMS": "0",
            "steps-0-channel": "sms", "steps-0-target": "person", "steps-0-person": str(oncall.office.pk),
            "steps-0-wait_minutes": "0", "steps-1-channel": "", "steps-1-target": "person"}
    page = client.post("/policies/new", form).content.decode()
    assert "Step 1: Office has no mobile number" in page
    assert "all 2 rounds would go out at once" in page
    with schema_context("bobsplumbing"):
        assert not EscalationPolicy.objects.filter(name="Night").exists()
    form.update({"steps-0-person": str(oncall.dana.pk), "steps-0-wait_minutes": "10"})
    assert client.post("/policies/new", form).status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        assert EscalationPolicy.objects.get(name="Night").steps.get().person == oncall.dana


def test_an_admin_sets_a_rotation_in_the_page(world, logged_in, oncall):
    client = logged_in(world.bob, BOB_HOST)
    url = f"/oncall/teams/{oncall.techs.pk}/"
    page = client.post(url, {"period": "weekly", "handover_time": "09:00", "starts_on": "2026-03-02"}).content.decode()
    assert "A rotation needs at least one member." in page
    response = client.post(url, {"period": "weekly", "handover_time": "09:00", "starts_on": "2026-03-02",
                                 "member_1": str(oncall.eli.pk), "member_3": str(oncall.dana.pk)})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        assert [m.person for m in Rotation.objects.get(team=oncall.techs).members.all()] == [oncall.eli, oncall.dana]


def test_an_override_from_the_page_is_read_in_the_clients_time_zone(world, logged_in, oncall):
    client = logged_in(world.bob, BOB_HOST)
    url = f"/oncall/teams/{oncall.techs.pk}/overrides"
    page = client.post(url, {"person": oncall.eli.pk, "starts": "2099-01-01T18:00",
                             "ends": "2099-01-01T08:00"}).content.decode()
    assert "An override ends after it starts." in page
    assert client.post(url, {"person": oncall.eli.pk, "starts": "2099-01-01T18:00",
                             "ends": "2099-01-02T08:00"}).status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        override = Override.objects.get()
    assert override.starts.isoformat() == "2099-01-01T23:00:00+00:00"  # 18:00 in New York


def test_a_client_user_reads_the_editors_but_cannot_change_them(world, logged_in, oncall):
    bea = logged_in(world.bea, BOB_HOST)
    for url in ("/oncall/", f"/oncall/teams/{oncall.techs.pk}/", "/policies/", f"/policies/{oncall.policy.pk}/",
                "/policies/rules/", f"/oncall/people/{oncall.dana.pk}/"):
        page = bea.get(url)
        assert page.status_code == HTTPStatus.OK, url
        assert "<button type=\"submit\">Save" not in page.content.decode()
    refused = [
        bea.post("/oncall/", {"name": "Sneaky team"}),
        bea.post(f"/oncall/teams/{oncall.techs.pk}/", {"period": "daily", "handover_time": "08:00",
                                                      "starts_on": "2026-03-01", "member_1": oncall.eli.pk}),
        bea.post(f"/oncall/teams/{oncall.techs.pk}/overrides", {"person": oncall.eli.pk, "starts": "2099-01-01T18:00",
                                                               "ends": "2099-01-02T08:00"}),
        bea.post(f"/policies/{oncall.policy.pk}/delete"),
        bea.post("/policies/rules/", {"rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"}),
        bea.post("/oncall/people/new", {"name": "Mallory"}),
    ]
    assert [r.status_code for r in refused] == [HTTPStatus.FORBIDDEN] * len(refused)
    with schema_context("bobsplumbing"):
        assert not Team.objects.filter(name="Sneaky team").exists() and not Override.objects.exists()
        assert DeliveryRule.objects.count() == 1 and not Person.objects.filter(name="Mallory").exists()


def test_an_admin_sees_every_editor_with_its_data(world, logged_in, oncall):
    bob = logged_in(world.bob, BOB_HOST)
    pages = {
        "/oncall/": ["Technicians", "Dana Tech", "Add team"],
        f"/oncall/teams/{oncall.techs.pk}/": ["Save rotation", "Add override", f'value="{oncall.dana.pk}" selected'],
        "/oncall/people/new": ["New person"],
        f"/oncall/people/{oncall.dana.pk}/": ['value="+12125550161"'],
        "/policies/": ["Emergencies", "whoever is on call for Technicians", "then wait 5 min", "Urgent, any time"],
        f"/policies/{oncall.policy.pk}/": ['value="Emergencies"', "Save policy", "Delete this policy"],
        "/policies/new": ["New escalation policy"],
        "/policies/rules/": ["Save rules", f'value="{oncall.policy.pk}" selected'],
    }
    for url, expected in pages.items():
        page = bob.get(url)
        assert page.status_code == HTTPStatus.OK, url
        for text in expected:
            assert text in page.content.decode(), (url, text)
