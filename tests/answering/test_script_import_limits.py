"""The script JSON import refuses, with a message, what used to answer 500: documents nested
deeper than the parser's stack, texts longer than their columns, numbers the columns cannot
hold, NUL characters — in the service and through the admin's import page; nothing written."""

from __future__ import annotations

import copy
import json
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from answering.models import Script
from answering.scripts.services import script_import_json
from answering.scripts.validation import MAX_DOCUMENT_CHARS, ScriptInvalid
from tests.answering.conftest import emergency
from tests.conftest import PLATFORM_HOST

pytestmark = pytest.mark.django_db
IMPORT = "/clients/bobsplumbing/admin/answering/script/import/"


def _refused(data) -> list[str]:
    with schema_context("bobsplumbing"):
        with pytest.raises(ScriptInvalid) as refused:
            script_import_json(data=data, languages=["en"])
        assert not Script.objects.filter(key="emergency").exists()
    return [str(p) for p in refused.value.problems]


def _step(doc: dict, key: str) -> dict:
    return next(s for s in doc["steps"] if s["key"] == key)


def test_a_document_nested_deeper_than_the_parser_can_go_is_refused(world):
    assert _refused("[" * 100_000 + "]" * 100_000) == [(
        "The document is nested more than 20 levels deep; a script is an object of steps, fields and branches, "
        "a few levels deep.")]


def test_a_document_nested_deeper_than_a_script_is_refused_wherever_it_is(world):
    doc = emergency()
    deep: list = []
    for _ in range(30):
        deep = [deep]
    _step(doc, "danger")["say"]["en"] = deep
    problems = _refused(json.dumps(doc))
    assert problems[0].startswith("The document is nested more than 20 levels deep (at .steps[0].say.en")
    nested = {"key": "x"}
    for _ in range(5_000):  # handed over already parsed: still walked without recursion
        nested = {"steps": nested}
    assert "nested more than 20 levels" in _refused(nested)[0]


def test_texts_longer_than_their_columns_are_refused_naming_where(world):
    doc = emergency(name="N" * 121)
    _step(doc, "dispatch")["end"]["category"] = "C" * 61
    _step(doc, "details")["fields"][0]["label"] = "L" * 121
    _step(doc, "details")["fields"][0]["options"][1] = "O" * 61
    _step(doc, "danger")["branches"][0]["equals"] = "E" * 61
    assert set(_refused(doc)) >= {
        "The script's “name” is 121 characters long; at most 120.",
        "Step “dispatch”: end: “category” is 61 characters long; at most 60.",
        "Step “details”: fields #1: “label” is 121 characters long; at most 120.",
        "Step “details”: fields #1: option #2 is 61 characters long; at most 60.",
        "Step “danger”: branches #1: “equals” is 61 characters long; at most 60.",
    }


def test_numbers_the_columns_cannot_hold_and_nul_characters_are_refused(world):
    doc = emergency()
    units = _step(doc, "details")["fields"][3]
    units["max"], units["min"] = 1e12, float("nan")
    _step(doc, "details")["fields"][1]["max_length"] = 2 ** 40
    _step(doc, "dispatch")["end"]["transfer_to"] = 12  # not a string: was an AttributeError
    assert set(_refused(json.dumps(doc))) >= {
        "Step “details”: fields #4: “max” is a number between -10,000,000,000 and 10,000,000,000.",
        "Step “details”: fields #4: “min” is a number between -10,000,000,000 and 10,000,000,000.",
        "Step “details”: fields #2: “max_length” is a whole number from 0 to 2,147,483,647.",
        "Step “dispatch”: end: “transfer_to” is a string.",
    }
    nul = emergency(name="Emer\x00gency")
    assert _refused(nul) == ["“name” contains a NUL character, which text cannot hold."]


def test_a_document_over_the_size_limit_is_refused(world):
    doc = copy.deepcopy(emergency(description="x" * MAX_DOCUMENT_CHARS))
    assert "characters long; a script is at most 1,000,000" in _refused(json.dumps(doc))[0]


def test_the_admin_import_page_answers_each_with_its_message(world, logged_in):
    alice = logged_in(world.alice, PLATFORM_HOST)
    cases = {
        "[" * 100_000: "nested more than 20 levels deep",
        json.dumps(emergency(name="N" * 500)): "The script&#x27;s “name” is 500 characters long; at most 120.",
        json.dumps(emergency(name="Emer\x00gency")): "contains a NUL character",
    }
    for document, message in cases.items():
        response = alice.post(IMPORT, {"file": SimpleUploadedFile("script.json", document.encode())})
        assert response.status_code == HTTPStatus.OK
        page = response.content.decode()
        assert "Not imported" in page and message in page, message
    big = alice.post(IMPORT, {"file": SimpleUploadedFile("big.json", b" " * (MAX_DOCUMENT_CHARS + 1))})
    assert big.status_code == HTTPStatus.OK and "a script is at most 1,000,000" in big.content.decode()
    with schema_context("bobsplumbing"):
        assert not Script.objects.filter(key="emergency").exists()
    assert alice.post(IMPORT, {"document": json.dumps(emergency())}).status_code == HTTPStatus.FOUND
