"""Messages: answers checked against the script version's fields, then committed."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.messages.services import message_take
from answering.models import CallRecord, Message
from answering.scripts.services import script_import_json, script_publish
from tests.answering.conftest import emergency
from tests.conftest import BOB_HOST, CHARLIE_HOST

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(world):
    with schema_context("bobsplumbing"):
        yield script_import_json(data=emergency()).current_version


def test_it_commits_a_message_with_cleaned_answers(world, version):
    with schema_context("bobsplumbing"):
        call = CallRecord.objects.create(call_sid="CA-msg-1", caller="+12125550147", number_dialed="+12125550111",
                                         arrived_at=timezone.now())
        message = message_take(version=version, agent=world.ana, caller="(212) 555-0147", call_sid="CA-msg-1",
                               answers={"in_danger": "No", "problem": "leak", "callback_number": "212 555 0199",
                                        "email": "pat@example.com", "units": "3", "visit": "2026-03-02 09:30"})
        message.refresh_from_db()
        assert message.fields == {"in_danger": "no", "problem": "Leak", "callback_number": "+12125550199",
                                  "email": "pat@example.com", "units": 3, "visit": "2026-03-02T09:30:00-05:00"}
        assert (message.caller, message.callback_number) == ("+12125550147", "+12125550199")
        assert (message.urgency, message.category, message.end_action) == ("normal", "Service", "message")
        assert message.script_version == version and message.call == call and message.agent_id == world.ana.pk
        # A retried commit for the same call finds the same message.
        assert message_take(version=version, answers={}, call_sid="CA-msg-1") == message
        assert Message.objects.count() == 1
    with schema_context("charlieclinic"):
        assert not Message.objects.exists()


def test_it_reports_errors_per_field_and_writes_nothing(world, version):
    with schema_context("bobsplumbing"):
        with pytest.raises(ValidationError) as refused:
            message_take(version=version, answers={"in_danger": "no", "problem": "Fire", "callback_number": "12",
                                                   "email": "not-an-email", "units": "99", "visit": "tomorrow"})
        errors = refused.value.message_dict
        assert set(errors) == {"problem", "callback_number", "email", "units", "visit"}
        assert errors["problem"] == ["Choose one of: Leak, No heat, Other."]
        assert errors["units"] == ["The largest allowed is 50."]
        assert "not a valid phone number" in errors["callback_number"][0] or "not a phone number" in \
            errors["callback_number"][0]
        with pytest.raises(ValidationError) as refused:
            message_take(version=version, answers={"in_danger": "perhaps"})
        assert refused.value.message_dict == {"in_danger": ["Answer yes or no."]}
        assert not Message.objects.exists()


def test_required_fields_count_only_on_the_branch_taken(world, version):
    with schema_context("bobsplumbing"):
        with pytest.raises(ValidationError) as refused:
            message_take(version=version, answers={"in_danger": "yes"})
        assert refused.value.message_dict == {"address": ["Address: this answer is required."]}
        message = message_take(version=version, caller="+12125550147",
                               answers={"in_danger": "yes", "address": "12 Main St, New York",
                                        "problem": "ignored: not on this branch"})
        assert message.fields == {"in_danger": "yes", "address": "12 Main St, New York"}
        assert (message.urgency, message.category, message.end_action) == ("urgent", "Emergency", "dispatch")
        assert message.callback_number == "+12125550147"  # no phone field answered: the caller's number


def test_a_message_keeps_the_version_it_was_taken_with(world, version):
    with schema_context("bobsplumbing"):
        message = message_take(version=version, answers={"in_danger": "yes", "address": "12 Main St, New York"})
        script = version.script
        script.steps.filter(key="dispatch").update(say={"en": "New words."})
        newer = script_publish(script=script)
        message.refresh_from_db()
        assert newer != version and message.script_version == version


def test_messages_are_read_only_in_the_client_admin(world, logged_in, version):
    with schema_context("bobsplumbing"):
        message = message_take(version=version, answers={"in_danger": "yes", "address": "12 Main St, New York"},
                               caller="+12125550147")
    bob = logged_in(world.bob, BOB_HOST)
    assert "+12125550147" in bob.get("/admin/answering/message/").content.decode()
    assert bob.get("/admin/answering/message/add/").status_code == HTTPStatus.FORBIDDEN
    page = bob.get(f"/admin/answering/message/{message.pk}/change/").content.decode()
    assert "12 Main St, New York" in page
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert "+12125550147" not in charlie.get("/admin/answering/message/").content.decode()


def test_datetimes_are_read_in_the_clients_time_zone(world):
    doc = emergency()
    doc["steps"] = [{"key": "when", "say": {"en": "When?", "es": "¿Cuándo?"},
                     "fields": [{"name": "visit", "label": "Visit", "type": "datetime", "required": True}],
                     "end": {"action": "log"}}]
    with schema_context("charlieclinic"):  # America/Chicago
        version = script_import_json(data=doc).current_version
        message = message_take(version=version, answers={"visit": "2026-07-01T08:00"})
        moment = datetime.fromisoformat(message.fields["visit"])
        assert moment.astimezone(dt_timezone.utc).hour == 13
