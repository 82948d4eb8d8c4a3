"""Follow-ups from inbound calls: a script ending in "call back" and a caller who hung up in
the queue become contacts of the client's callbacks campaign, dialed through the gate."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.messages.services import message_take
from answering.models import AnsweringSettings
from answering.scripts.services import script_import_json
from campaigns.models import Campaign, Contact
from campaigns.services import dialer
from compliance.services import opt_out_record

pytestmark = pytest.mark.django_db

CALLBACK_SCRIPT = {
    "key": "callback", "name": "Call me back", "used_for": [], "is_default": False,
    "steps": [{"key": "who", "say": {"en": "Who shall we call back, and on which number?"},
               "fields": [{"name": "name", "label": "Name", "type": "text", "required": True},
                          {"name": "callback_number", "label": "Number", "type": "phone", "required": True}],
               "end": {"action": "callback", "urgency": "normal", "category": "Quote"}}],
}


def _callbacks(schema="bobsplumbing"):
    with schema_context(schema):
        campaign = Campaign.objects.filter(is_callbacks=True).first()
        return campaign, list(Contact.objects.filter(campaign=campaign)) if campaign else []


def _abandon(world, on_commit, *, waited: int, from_number="+12125550177") -> CallSession:
    session = CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111", from_number=from_number,
        state=CallSession.State.QUEUED, queued_at=timezone.now() - dt.timedelta(seconds=waited))
    with on_commit():
        acd.call_status_update(session=session, status="completed", sequence=3)
    return session


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_caller_who_hung_up_in_the_queue_is_called_back(world, on_commit):
    session = _abandon(world, on_commit, waited=45)
    session.refresh_from_db()
    assert session.state == CallSession.State.ABANDONED
    campaign, [contact] = _callbacks()
    assert campaign.mode == Campaign.Mode.PREVIEW and campaign.state == Campaign.State.RUNNING
    assert contact.number == "+12125550177" and contact.source_call_sid == session.call_sid
    assert "Hung up after 45 s waiting in the queue" in contact.reason
    assert contact.time_zone == "America/New_York" and contact.status == Contact.Status.NEW
    # Hanging up again later renews the same follow-up; it is not doubled.
    _abandon(world, on_commit, waited=30)
    assert len(_callbacks()[1]) == 1
    assert _callbacks("charlieclinic") == (None, [])  # another client's callbacks are its own


def test_a_quick_hang_up_or_a_client_who_does_not_want_it_gets_no_callback(world, on_commit):
    _abandon(world, on_commit, waited=3)  # under the 10 s default: likely a misdial
    assert _callbacks()[1] == []
    with schema_context("bobsplumbing"):
        AnsweringSettings.objects.update_or_create(singleton=True, defaults={"callback_abandoned": False})
    _abandon(world, on_commit, waited=120)
    assert _callbacks()[1] == []


def test_a_script_ending_in_call_back_creates_the_follow_up_with_the_callers_number(world):
    with schema_context("bobsplumbing"):
        version = script_import_json(data=CALLBACK_SCRIPT).current_version
        message = message_take(version=version, agent=world.ana, caller="+12125550100", call_sid="CA-cb-1",
                               answers={"name": "Pat Lee", "callback_number": "(212) 555-0188"})
    assert message.end_action == "callback"
    _, [contact] = _callbacks()
    assert contact.number == "+12125550188" and contact.first_name == "Pat Lee"
    assert contact.reason.startswith("Asked to be called back: Quote") and contact.source_call_sid == "CA-cb-1"


def test_the_follow_up_is_dialed_through_the_gate(world, on_commit, afternoon):
    _abandon(world, on_commit, waited=60, from_number="+12125550166")
    campaign, [contact] = _callbacks()
    with schema_context("bobsplumbing"):
        opt_out_record(client=world.bobs, number=contact.number, source="portal", added_by="tests")
        assert dialer.attempt_place(campaign=campaign, contact=contact, agent_id=world.ben.pk) is None
        contact.refresh_from_db()
    assert contact.status == Contact.Status.DNC  # the gate refused: never dialed
