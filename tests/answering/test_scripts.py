"""Scripts: validation (each refusal names its step), versions, branching, merge fields,
JSON import/export, the admin editing experience, and knowledge search."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from datetime import timezone as dt_timezone
from http import HTTPStatus

import pytest
from django_tenants.utils import schema_context

from answering.models import KnowledgeFact, Script, ScriptStep, ScriptVersion
from answering.scripts.rendering import Next, ScriptContext, script_next_step, script_render
from answering.scripts.selectors import script_for_call
from answering.scripts.services import script_export_json, script_import_json, script_publish
from answering.scripts.validation import ScriptInvalid, script_validate
from answering.selectors import knowledge_search
from calendars.demo import calendars_demo_seed
from tests.answering.conftest import emergency
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST
from tests.factories import KnowledgeFactFactory

pytestmark = pytest.mark.django_db

UTC = dt_timezone.utc


def step(doc: dict, key: str) -> dict:
    return next(s for s in doc["steps"] if s["key"] == key)


def problems_of(doc: dict, languages=("en",)) -> list[str]:
    return [str(p) for p in script_validate(definition=doc, languages=list(languages))]


# --- Validation: each refusal names its step ---------------------------------------------

def test_a_good_script_has_no_problems():
    assert problems_of(emergency()) == []


def test_it_refuses_a_dead_end():
    doc = emergency()
    step(doc, "dispatch")["end"] = None
    assert problems_of(doc) == ["Step “dispatch”: it is a dead end: no next step, no end action, and its branches "
                                "do not cover every answer."]


def test_branches_that_do_not_cover_every_answer_are_a_dead_end():
    doc = emergency()
    step(doc, "danger")["branches"].pop()  # only "yes" left
    found = problems_of(doc)
    assert any(p.startswith("Step “danger”: it is a dead end") for p in found)
    assert any(p.startswith("Step “details”: it is unreachable") for p in found)


def test_it_refuses_an_unreachable_step():
    doc = emergency()
    doc["steps"].append({"key": "orphan", "say": {"en": "Hello?"}, "end": {"action": "log"}})
    assert problems_of(doc) == ["Step “orphan”: it is unreachable: no path leads to it from the first step “danger”."]


def test_it_refuses_a_loop_with_no_way_out():
    doc = emergency()
    step(doc, "details")["end"] = None
    step(doc, "details")["next"] = "confirm"
    doc["steps"].append({"key": "confirm", "say": {"en": "Let me check that again."}, "next": "details"})
    found = problems_of(doc)
    assert "Step “details”: it is in a loop with no way out (details → confirm → details): no path from it reaches " \
           "an end action." in found
    assert any(p.startswith("Step “confirm”: it is in a loop with no way out") for p in found)


def test_a_loop_with_a_way_out_is_fine():
    doc = emergency()
    doc["steps"][2]["fields"].append({"name": "confirmed", "label": "Confirmed?", "type": "yes_no", "required": True})
    step(doc, "details")["branches"] = [{"field": "confirmed", "equals": "no", "goto": "danger"}]
    assert problems_of(doc) == []


def test_it_refuses_a_branch_on_a_field_that_does_not_exist():
    doc = emergency()
    step(doc, "danger")["branches"][0]["field"] = "in_dnager"
    assert "Step “danger”: a branch tests the field “in_dnager”, which no step captures." in problems_of(doc)


def test_it_refuses_a_branch_on_a_value_the_field_cannot_have():
    doc = emergency()
    step(doc, "danger")["branches"][0]["equals"] = "maybe"
    assert "Step “danger”: a branch tests “in_danger” for “maybe”, but it is yes or no." in problems_of(doc)
    doc = emergency()
    step(doc, "details")["branches"] = [{"field": "problem", "equals": "Fire", "goto": "dispatch"}]
    assert ("Step “details”: a branch tests “problem” for “Fire”, which is not one of its options "
            "(Leak, No heat, Other).") in problems_of(doc)


def test_it_refuses_a_branch_to_a_step_that_does_not_exist():
    doc = emergency()
    step(doc, "danger")["branches"][0]["goto"] = "nowhere"
    assert "Step “danger”: a branch goes to “nowhere”, which is not a step." in problems_of(doc)


def test_it_refuses_a_missing_translation():
    doc = emergency()
    for s in doc["steps"]:
        s["say"]["es"] = "Texto"
    del step(doc, "details")["say"]["es"]
    assert problems_of(doc, ["en", "es"]) == ["Step “details”: the Spanish text (es) is missing."]
    assert problems_of(doc, ["en"]) == []


def test_it_refuses_bad_merge_fields():
    doc = emergency()
    step(doc, "dispatch")["say"]["en"] = "Thanks for calling {client}."
    assert problems_of(doc) == ["Step “dispatch”: unknown merge field {client}; use {client_name}, {caller_number}, "
                                "{agent_first_name}, {greeting_time} (en)."]
    step(doc, "dispatch")["say"]["en"] = "Thanks for calling {client_name"
    assert problems_of(doc)[0].startswith("Step “dispatch”: unbalanced braces")


def test_it_refuses_duplicate_field_names():
    doc = emergency()
    step(doc, "dispatch")["fields"].append({"name": "problem", "label": "Problem", "type": "text"})
    assert problems_of(doc) == ["Step “details”: the field name “problem” is already used on step “dispatch”."]


def test_it_refuses_a_bad_transfer_and_unknown_types():
    doc = emergency()
    step(doc, "dispatch")["end"] = {"action": "transfer", "transfer_to": "not a number"}
    step(doc, "details")["fields"][0]["type"] = "colour"
    found = problems_of(doc)
    assert any(p.startswith("Step “dispatch”: the transfer needs a valid number") for p in found)
    assert any(p.startswith("Step “details”: the field “problem” has an unknown type “colour”") for p in found)


def test_it_refuses_a_malformed_document():
    assert problems_of({"key": "x", "name": "X", "steps": "none"}) == ["“steps” is a list of steps."]
    assert problems_of(emergency(used_for=["open-1"])) == [
        "“open-1” is not a menu choice; write flow:digit, e.g. open:1 or after_hours:2."]


# --- Versions -----------------------------------------------------------------------------

def test_editing_a_published_script_creates_a_new_version(world):
    with schema_context("bobsplumbing"):
        script = script_import_json(data=emergency())
        first = script.current_version
        assert first.number == 1
        frozen = copy.deepcopy(first.definition)

        ScriptStep.objects.filter(script=script, key="dispatch").update(say={"en": "Please leave the building."})
        second = script_publish(script=script)
        assert second.number == 2 and script.current_version == second
        first.refresh_from_db()
        assert first.definition == frozen  # the old version is unchanged
        assert step(second.definition, "dispatch")["say"]["en"] == "Please leave the building."
        # Publishing again with no change is idempotent.
        assert script_publish(script=script) == second
        assert ScriptVersion.objects.filter(script=script).count() == 2


def test_a_published_version_cannot_be_changed(world):
    with schema_context("bobsplumbing"):
        version = script_import_json(data=emergency()).current_version
        version.definition = {}
        with pytest.raises(ValueError, match="immutable"):
            version.save()


def test_a_call_gets_the_script_of_its_menu_choice_or_the_default(world):
    with schema_context("bobsplumbing"):
        emergency_version = script_import_json(data=emergency()).current_version
        general = script_import_json(data=emergency(key="general", name="General", used_for=[],
                                                    is_default=True)).current_version
        assert script_for_call(menu_choice="after_hours:1") == emergency_version
        assert script_for_call(menu_choice="open:7") == general
    with schema_context("charlieclinic"):
        assert script_for_call(menu_choice="open:1") is None  # Bob's scripts are Bob's


# --- Branching and rendering ---------------------------------------------------------------

def test_branches_follow_the_answers():
    doc = emergency()
    assert script_next_step(version=doc, step="danger", answers={"in_danger": "yes"}) == Next(step="dispatch")
    assert script_next_step(version=doc, step="danger", answers={"in_danger": False}) == Next(step="details")
    end = script_next_step(version=doc, step="dispatch", answers={}).end
    assert (end.action, end.urgency, end.category) == ("dispatch", "urgent", "Emergency")


def test_merge_fields_and_greeting_time_in_the_clients_time_zone():
    context = ScriptContext(client_name="Bob's Plumbing", time_zone="America/New_York", caller_number="+12125550147",
                            agent_first_name="Ana", now=datetime(2026, 1, 15, 16, 30, tzinfo=UTC))  # 11:30 in NY
    rendered = script_render(version=emergency(), language="en", context=context)
    assert rendered.first_step == "danger"
    assert rendered.first.say == "Good morning, Bob's Plumbing, this is Ana. Is anyone in danger?"
    # 17:30 UTC is 12:30 in New York but still 9:30 in Los Angeles.
    at = datetime(2026, 1, 15, 17, 30, tzinfo=UTC)
    ny = script_render(version=emergency(), language="en", context=ScriptContext(
        client_name="B", time_zone="America/New_York", now=at))
    la = script_render(version=emergency(), language="en", context=ScriptContext(
        client_name="B", time_zone="America/Los_Angeles", now=at))
    assert ny.first.say.startswith("Good afternoon") and la.first.say.startswith("Good morning")
    night = script_render(version=emergency(), language="en", context=ScriptContext(
        client_name="B", time_zone="America/New_York", now=datetime(2026, 1, 16, 2, 0, tzinfo=UTC)))
    assert night.first.say.startswith("Good evening")


def test_spanish_is_rendered_with_spanish_greetings():
    doc = emergency()
    step(doc, "danger")["say"]["es"] = "¡{greeting_time}! {client_name}, le atiende {agent_first_name}. " \
                                       "Su número es {caller_number}; le deseamos {greeting_time}."
    context = ScriptContext(client_name="Clínica de Charlie", time_zone="America/Chicago",
                            caller_number="+13125550113", agent_first_name="Ana")
    cases = [(14, "Buenos días"), (20, "Buenas tardes"), (3, "Buenas noches")]  # 08:00, 14:00, 21:00 in Chicago
    for hour, greeting in cases:
        day = 16 if hour >= 6 else 17
        at = datetime(2026, 1, day, hour, 0, tzinfo=UTC)
        ctx = ScriptContext(**{**context.__dict__, "now": at})
        say = script_render(version=doc, language="es", context=ctx).first.say
        assert say == f"¡{greeting}! Clínica de Charlie, le atiende Ana. Su número es (312) 555-0113; " \
                      f"le deseamos {greeting.lower()}."


# --- JSON import and export ----------------------------------------------------------------

def test_json_round_trip(world):
    with schema_context("bobsplumbing"):
        script = script_import_json(data=json.dumps(emergency()))
        exported = script_export_json(script=script)
        assert step(exported, "details")["fields"][1] == {
            "name": "callback_number", "label": "Callback number", "type": "phone", "required": True,
            "options": [], "min": None, "max": None, "max_length": None}
        again = script_import_json(data=json.dumps(exported))
        assert again.pk == script.pk and again.current_version.number == 1  # nothing changed, no new version
        assert script_export_json(script=again) == exported == script.current_version.definition


def test_an_invalid_import_writes_nothing(world):
    with schema_context("bobsplumbing"):
        script_import_json(data=emergency())
        versions = ScriptVersion.objects.count()
        broken = emergency(name="Emergency (changed)")
        step(broken, "dispatch")["end"] = None
        with pytest.raises(ScriptInvalid) as refused:
            script_import_json(data=broken)
        assert [str(p) for p in refused.value.problems] == [
            "Step “dispatch”: it is a dead end: no next step, no end action, and its branches do not cover every "
            "answer."]
        assert Script.objects.get(key="emergency").name == "Emergency"
        assert ScriptVersion.objects.count() == versions
        with pytest.raises(ScriptInvalid, match="Not JSON"):
            script_import_json(data="{nope")
        with pytest.raises(ScriptInvalid, match="already gets the script"):
            script_import_json(data=emergency(key="other", name="Other"))
        assert not Script.objects.filter(key="other").exists()


def test_an_import_needs_every_language_of_the_client(world):
    with schema_context("charlieclinic"):
        with pytest.raises(ScriptInvalid, match="Spanish text"):
            script_import_json(data=emergency())
        assert not Script.objects.exists()


def test_the_demo_scripts_are_valid_and_seeded_once(world):
    from answering.scripts import demo as demo_scripts

    with schema_context("charlieclinic"):  # en + es, like Bayview
        # The clinic's appointment step names its types: they must exist in the schema.
        calendars_demo_seed("bayview")
        for doc in demo_scripts.BAYVIEW:
            script_import_json(data=doc)
        assert script_for_call(menu_choice="after_hours:1").script.key == "nurse"
    for slug, docs in demo_scripts.SCRIPTS.items():
        languages = ["en", "es"] if slug == "bayview" else ["en"]
        for doc in docs:
            assert problems_of(doc, languages) == [], (slug, doc["key"])
    with schema_context("bobsplumbing"):
        assert demo_scripts.scripts_demo_seed("northside") == 2
        assert demo_scripts.scripts_demo_seed("northside") == 0
        assert ScriptVersion.objects.count() == 2


# --- The admin ------------------------------------------------------------------------------

def _management(prefix: str, total: int) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000"}


def admin_post(*, steps: list[dict], fields: list[dict], branches: list[dict], **script) -> dict:
    data = {"name": "Leak line", "key": "leak", "description": "", "used_for": "open:2", **script}
    for prefix, rows in (("steps", steps), ("fields", fields), ("branches", branches)):
        data |= _management(prefix, len(rows))
        for i, row in enumerate(rows):
            data |= {f"{prefix}-{i}-{k}": v for k, v in row.items()}
    data |= _management("versions", 0)
    return data


LEAK_STEPS = [
    {"position": 0, "key": "ask", "say_en": "{greeting_time}, {client_name}. Is water still running?", "next_step": ""},
    {"position": 1, "key": "shutoff", "say_en": "Please close the main valve.", "end_action": "dispatch",
     "end_urgency": "urgent", "end_category": "Leak"},
    {"position": 2, "key": "note", "say_en": "Thanks, {agent_first_name} will note it.", "end_action": "message",
     "end_urgency": "normal", "end_category": "Leak"},
]
LEAK_FIELDS = [
    {"step_key": "ask", "position": 0, "name": "running", "label": "Water running?", "type": "yes_no", "required": "on"},
    {"step_key": "note", "position": 0, "name": "callback_number", "label": "Callback", "type": "phone"},
]
LEAK_BRANCHES = [
    {"step_key": "ask", "position": 0, "field_name": "running", "equals": "yes", "goto_step": "shutoff"},
    {"step_key": "ask", "position": 1, "field_name": "running", "equals": "no", "goto_step": "note"},
]


def _errors(response) -> str:
    """What the admin complained about, for a failing assertion's message."""
    if not response.context:
        return str(response.status_code)
    errors = [response.context["adminform"].form.errors]
    errors += [(i.formset.prefix, i.formset.errors, i.formset.non_form_errors())
               for i in response.context["inline_admin_formsets"]]
    return repr(errors)


def test_a_client_admin_writes_a_script_in_the_admin_and_sees_the_preview(world, logged_in):
    bob = logged_in(world.bob, BOB_HOST)
    form = bob.get("/admin/answering/script/add/").content.decode()
    assert "steps-0-say_en" in form and "fields-0-step_key" in form and "branches-0-goto_step" in form
    response = bob.post("/admin/answering/script/add/",
                        admin_post(steps=LEAK_STEPS, fields=LEAK_FIELDS, branches=LEAK_BRANCHES))
    assert response.status_code == HTTPStatus.FOUND, _errors(response)
    with schema_context("bobsplumbing"):
        script = Script.objects.get(key="leak")
        assert script.current_version.number == 1
        assert [s["key"] for s in script.current_version.definition["steps"]] == ["ask", "shutoff", "note"]
        assert script_next_step(version=script.current_version, step="ask",
                                answers={"running": "yes"}) == Next(step="shutoff")
    page = bob.get(f"/admin/answering/script/{script.pk}/change/").content.decode()
    assert "Preview — the script as the agent will see it" in page
    assert "Bob&#x27;s Plumbing. Is water still running?" in page  # merge fields filled
    assert "Thanks, Bob will note it." in page  # the agent's first name: the one looking
    assert "If running = yes →" in page and "dispatch to the on-call person" in page
    with schema_context("charlieclinic"):
        assert not Script.objects.filter(key="leak").exists()


def test_the_admin_refuses_an_invalid_script_naming_the_step(world, logged_in):
    bob = logged_in(world.bob, BOB_HOST)
    steps = [dict(LEAK_STEPS[0]), dict(LEAK_STEPS[1]), {**LEAK_STEPS[2], "end_action": ""}]
    response = bob.post("/admin/answering/script/add/",
                        admin_post(steps=steps, fields=LEAK_FIELDS, branches=LEAK_BRANCHES))
    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "This script cannot be saved" in page
    assert "Step “note”: it is a dead end" in page
    with schema_context("bobsplumbing"):
        assert not Script.objects.filter(key="leak").exists()


def test_editing_in_the_admin_publishes_a_new_version_and_keeps_the_old(world, logged_in):
    with schema_context("bobsplumbing"):
        script = script_import_json(data=emergency())
        old = copy.deepcopy(script.current_version.definition)
    bob = logged_in(world.bob, BOB_HOST)
    page = bob.get(f"/admin/answering/script/{script.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in ("name", "key", "description")}
    data["used_for"] = ",".join(form.initial["used_for"])
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        prefix = formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": str(len(formset.initial_forms)),
                 f"{prefix}-INITIAL_FORMS": str(len(formset.initial_forms)),
                 f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
        for f in formset.initial_forms:
            for name, field in f.fields.items():
                value = f[name].value()
                if value is None or value is False:
                    continue
                data[f"{f.prefix}-{name}"] = ",".join(value) if isinstance(value, list) else \
                    ("on" if value is True else value)
    data["steps-1-say_en"] = "Get everyone out, then call 911."
    response = bob.post(f"/admin/answering/script/{script.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND, _errors(response)
    with schema_context("bobsplumbing"):
        script.refresh_from_db()
        assert script.current_version.number == 2
        assert step(script.current_version.definition, "dispatch")["say"]["en"] == "Get everyone out, then call 911."
        assert ScriptVersion.objects.get(script=script, number=1).definition == old


def test_a_client_user_who_is_not_an_admin_cannot_edit_scripts(world, logged_in):
    response = logged_in(world.bea, BOB_HOST).get("/admin/answering/script/", follow=True)
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_charlies_admin_never_sees_bobs_scripts(world, logged_in):
    with schema_context("bobsplumbing"):
        script_import_json(data=emergency(name="Bob's emergency line"))
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert "Bob&#x27;s emergency line" not in charlie.get("/admin/answering/script/").content.decode()
    bobs = logged_in(world.bob, BOB_HOST).get("/admin/answering/script/").content.decode()
    assert "Bob&#x27;s emergency line" in bobs
    with schema_context("bobsplumbing"):
        pk = Script.objects.get(key="emergency").pk
    assert charlie.get(f"/admin/answering/script/{pk}/change/").status_code in (HTTPStatus.FOUND, HTTPStatus.NOT_FOUND)
    assert charlie.get(f"/admin/answering/script/{pk}/export/").status_code == HTTPStatus.FOUND


def test_the_admin_imports_and_exports_json(world, logged_in):
    alice = logged_in(world.alice, PLATFORM_HOST)
    base = "/clients/bobsplumbing/admin/answering/script"
    broken = emergency()
    step(broken, "details")["say"]["en"] = "Hello {nobody}"
    page = alice.post(f"{base}/import/", {"document": json.dumps(broken)}).content.decode()
    assert "Not imported" in page and "Step “details”: unknown merge field {nobody}" in page
    response = alice.post(f"{base}/import/", {"document": json.dumps(emergency())})
    assert response.status_code == HTTPStatus.FOUND and response["Location"].startswith(base)
    with schema_context("bobsplumbing"):
        pk = Script.objects.get(key="emergency").pk
    exported = alice.get(f"{base}/{pk}/export/")
    assert exported["Content-Disposition"] == 'attachment; filename="script-emergency.json"'
    assert json.loads(exported.content)["steps"][0]["key"] == "danger"
    with schema_context("charlieclinic"):
        assert not Script.objects.exists()


# --- Knowledge search -------------------------------------------------------------------------

def test_knowledge_search_uses_full_text(world):
    with schema_context("bobsplumbing"):
        KnowledgeFactFactory(title="Prices", body="Drain cleaning costs $150; emergency call-out $189.")
        KnowledgeFactFactory(title="Service area", body="Manhattan and the Bronx, no charge for travel.")
        found = knowledge_search(query="price of drain cleaning")
        assert [f.title for f in found] == ["Prices"]  # stemmed: "price" finds "Prices", "cleaning" "cleaning"
        assert [f.title for f in knowledge_search(query="bronx")] == ["Service area"]


def test_knowledge_search_falls_back_for_short_queries(world):
    with schema_context("bobsplumbing"):
        KnowledgeFactFactory(title="Gate code", body="4711 at the back door")
        assert [f.title for f in knowledge_search(query="47")] == ["Gate code"]
        assert [f.title for f in knowledge_search(query="Manh")] == []
        assert [f.title for f in knowledge_search(query="gat")] == ["Gate code"]


def test_knowledge_search_stays_in_the_clients_schema(world):
    with schema_context("charlieclinic"):
        assert [f.title for f in knowledge_search(query="hours")] == ["Hours"]
        assert "Charlie" in knowledge_search(query="hours")[0].body
    with schema_context("bobsplumbing"):
        assert "Bob" in knowledge_search(query="hours")[0].body
        assert KnowledgeFact.objects.count() == 1
