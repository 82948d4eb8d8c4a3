"""The first answer's text, kept per flow: always what call_start would have written."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.flow import ivr
from answering.flow.selectors import call_flow_get
from answering.flow.services import call_flow_replace
from answering.twilio.simulator import new_call_sid
from tests.answering.conftest import BOB_FLOW, BOB_NUMBER, CHARLIE_NUMBER

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=NEW_YORK)
MONDAY_NIGHT = datetime(2026, 11, 23, 22, 0, tzinfo=NEW_YORK)


def _call(client, number: str):
    return acd.call_new(call_sid=new_call_sid(), client=client, from_number="+12125559876", to_number=number)


def _uncached(client, number: str, flow, call_sid: str, at=None) -> str:
    return str(ivr.call_start(_call_with_sid(client, number, call_sid), flow, at=at))


def _call_with_sid(client, number: str, call_sid: str):
    session = _call(client, number)
    session.call_sid = call_sid
    return session


def _moved(session) -> dict:
    """What call_start did to a call not written yet: its fields (but the arrival instant)."""
    return {k: v for k, v in vars(session).items() if k not in ("_state", "arrived_at")}


@pytest.mark.parametrize("slug,number", [("bobsplumbing", BOB_NUMBER), ("charlieclinic", CHARLIE_NUMBER)])
def test_each_call_gets_the_text_call_start_writes_with_its_own_call_sid(world, flows, slug, number):
    client = world.bobs if slug == "bobsplumbing" else world.charlies
    with schema_context(slug):
        flow = call_flow_get(client)
    texts = []
    for _ in range(3):
        session = _call(client, number)
        text = ivr.call_start_text(session, flow)
        built = _call_with_sid(client, number, session.call_sid)
        assert text == str(ivr.call_start(built, flow))
        assert _moved(session) == _moved(built)  # moved exactly as call_start moves it
        assert session.call_sid in text and session.state == "in_menu"
        texts.append(text.replace(session.call_sid, "SID"))
    assert texts[0] == texts[1] == texts[2] and len(flow.answers) == 1


def test_a_first_answer_that_queues_the_caller_is_built_every_time(world, flows):
    with schema_context("bobsplumbing"):
        call_flow_replace(**{**BOB_FLOW, "options": []})  # no menu: open hours go straight to the queue
        flow = call_flow_get(world.bobs)
    for _ in range(2):
        session = _call(world.bobs, BOB_NUMBER)
        text = ivr.call_start_text(session, flow)
        built = _call_with_sid(world.bobs, BOB_NUMBER, session.call_sid)
        assert text == str(ivr.call_start(built, flow)) and "<Enqueue" in text
        assert session.state == "queued" and session.queued_at is not None
    assert not flow.answers


def test_the_kept_text_follows_the_hour(world, flows, monkeypatch):
    with schema_context("bobsplumbing"):
        call_flow_replace(**{**BOB_FLOW, "hours": [(0, "09:00", "17:00")]})  # Mondays, nine to five
        flow = call_flow_get(world.bobs)
    for at, greeting in [(MONDAY_NOON, "Thanks for calling"), (MONDAY_NIGHT, "is closed"),
                         (MONDAY_NOON, "Thanks for calling")]:
        monkeypatch.setattr(ivr.timezone, "now", lambda at=at: at)
        session = _call(world.bobs, BOB_NUMBER)
        text = ivr.call_start_text(session, flow)
        assert greeting in text
        assert text == _uncached(world.bobs, BOB_NUMBER, flow, session.call_sid, at=at)


def test_a_suspended_clients_callers_never_get_the_text_kept_for_its_active_days(world, flows):
    with schema_context("bobsplumbing"):
        flow = call_flow_get(world.bobs)
    active = ivr.call_start_text(_call(world.bobs, BOB_NUMBER), flow)
    world.bobs.status = "suspended"
    try:
        session = _call(world.bobs, BOB_NUMBER)
        suspended = ivr.call_start_text(session, flow)
        expected = _uncached(world.bobs, BOB_NUMBER, flow, session.call_sid)
    finally:
        world.bobs.status = "active"
    assert "Thanks for calling" in active
    assert suspended == expected and "Thanks for calling" not in suspended


def test_a_call_sid_that_is_not_twilios_shape_is_written_out_in_full_and_escaped(world, flows):
    with schema_context("bobsplumbing"):
        flow = call_flow_get(world.bobs)
    session = _call(world.bobs, BOB_NUMBER)
    session.call_sid = 'CA"&<odd>'
    text = ivr.call_start_text(session, flow)
    assert 'CA&quot;&amp;&lt;odd&gt;' in text and not flow.answers


def test_a_prompt_that_reads_like_a_placeholder_is_spoken_as_written(world, flows):
    with schema_context("bobsplumbing"):
        call_flow_replace(**{**BOB_FLOW, "prompts": [{"key": "greeting", "text": "Ask for {call_sid} and {sid}."},
                                                     {"key": "menu", "text": "Service press 2."}]})
        flow = call_flow_get(world.bobs)
    for _ in range(2):  # built, then kept
        session = _call(world.bobs, BOB_NUMBER)
        text = ivr.call_start_text(session, flow)
        assert "Ask for {call_sid} and {sid}." in text
        assert text == _uncached(world.bobs, BOB_NUMBER, flow, session.call_sid)
    assert flow.answers
