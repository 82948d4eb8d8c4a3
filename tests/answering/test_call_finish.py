"""Finishing a call from the console: the message first, and "do not call" is an opt-out."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import CallSession
from answering.messages import services
from answering.models import CallRecord
from compliance.models import DncEntry
from tests.conftest import BOB_SCRIPT

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(world):
    from answering.scripts.services import script_import_json

    with schema_context("bobsplumbing"):
        script_import_json(data=BOB_SCRIPT)
    session = CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111", from_number="+12125550091",
        state=CallSession.State.CONNECTED, agent=world.ben, queued_at=timezone.now(), answered_at=timezone.now(),
        menu_choice="open:2")
    with schema_context("bobsplumbing"):
        CallRecord.objects.create(call_sid=session.call_sid, caller=session.from_number,
                                  number_dialed=session.to_number, arrived_at=timezone.now())
        yield session


def test_the_call_cannot_end_before_its_message_is_saved(world, call):
    answers = {"in_danger": "no", "name": "Kim", "callback_number": "2125550133"}
    with pytest.raises(services.CallFinishRefused, match="Take the message first"):
        services.call_finish(session=call, agent=world.ben, disposition="message_taken", answers=answers)
    services.call_message_take(session=call, agent=world.ben, answers=answers)
    services.call_finish(session=call, agent=world.ben, disposition="message_taken", answers=answers)
    assert CallRecord.objects.get(call_sid=call.call_sid).disposition == "message_taken"


def test_a_dispatch_saves_the_details_for_the_on_call_person_first(world, call):
    answers = {"in_danger": "yes"}
    with pytest.raises(services.CallFinishRefused, match="Take the message first"):
        services.call_finish(session=call, agent=world.ben, disposition="dispatched", answers=answers)
    message = services.call_message_take(session=call, agent=world.ben, answers=answers)
    assert (message.end_action, message.urgency, message.category) == ("dispatch", "urgent", "emergency")
    services.call_finish(session=call, agent=world.ben, disposition="dispatched", answers=answers)
    assert CallRecord.objects.get(call_sid=call.call_sid).disposition == "dispatched"


def test_a_path_that_only_logs_the_call_needs_no_message(world, call):
    from answering.scripts.services import script_import_json

    script_import_json(data={**BOB_SCRIPT, "steps": [
        {"key": "danger", "say": {"en": "Thanks for calling."}, "end": {"action": "log"}}]})
    services.call_finish(session=call, agent=world.ben, disposition="information", answers={})
    assert CallRecord.objects.get(call_sid=call.call_sid).disposition == "information"


def test_do_not_call_is_an_opt_out_for_that_client_only(world, call):
    services.call_finish(session=call, agent=world.ben, disposition="do_not_call", answers={})
    entry = DncEntry.objects.get(number="+12125550091")
    assert entry.source == "agent"
    with schema_context("charlieclinic"):
        assert not DncEntry.objects.filter(number="+12125550091").exists()


def test_only_the_calls_agent_finishes_it(world, call):
    with pytest.raises(services.CallFinishRefused):
        services.call_finish(session=call, agent=world.ana, disposition="message_taken", answers={})
