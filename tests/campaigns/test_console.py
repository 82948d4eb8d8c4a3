"""The console's campaign work over a real WebSocket and a real ASGI server: the mode, the
outbound screen pop, the disposition, preview. Not in a test transaction: the server is
another process and sees committed rows only; each test removes what it made.

Ana works blended (she may choose any mode), Ben inbound only.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd import consoles
from answering.acd.models import AgentPresence, CallSession
from campaigns.models import CallAttempt, Contact
from compliance.models import DncEntry
from compliance.rules import Channel
from tests.answering.conftest import _console, _until
from tests.campaigns.conftest import _campaign, _cleanup, _connected, _contact
from tests.conftest import _push

pytestmark = pytest.mark.processes

@pytest.fixture
def committed(world, django_db_blocker):
    """Run ``make(...)`` with the database unblocked (rows committed for the server); every
    campaign row named "T·…" and every outbound call of Bob's is removed afterwards."""
    for agent in (world.ana, world.ben):
        consoles.forget(agent.pk)

    def run(fn, *args, **kwargs):
        with django_db_blocker.unblock():
            return fn(*args, **kwargs)

    yield run
    with django_db_blocker.unblock():
        _cleanup(world)


def _snapshot(ws, predicate=lambda m: True) -> dict:
    return _until(ws, lambda m: m["type"] == "snapshot" and predicate(m))


# --- The mode ----------------------------------------------------------------------------------

def test_a_blended_agent_chooses_outbound_and_it_survives_a_reload(world, asgi_server, committed):
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        first = _snapshot(ws)
        assert first["modes"] == ["blended", "inbound", "outbound"] and first["mode"] == "blended"
        ws.send(json.dumps({"action": "mode", "mode": "outbound"}))
        assert _snapshot(ws, lambda m: m["mode"] == "outbound")["modes"] == ["blended", "inbound", "outbound"]
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:  # a reload
        assert _snapshot(ws)["mode"] == "outbound"
    assert committed(lambda: AgentPresence.objects.get(agent=world.ana).mode) == "outbound"


def test_an_inbound_agent_may_not_choose_outbound(world, asgi_server, committed):
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        first = _snapshot(ws)
        assert first["modes"] == ["inbound"] and first["mode"] == "inbound"
        ws.send(json.dumps({"action": "mode", "mode": "outbound"}))
        refused = _until(ws, lambda m: m["type"] == "error")
        assert refused["message"] == "Your profile allows inbound work, not outbound."
        ws.send(json.dumps({"action": "mode", "mode": "sideways"}))
        assert "is not a mode" in _until(ws, lambda m: m["type"] == "error")["message"]
        assert _snapshot(ws)["mode"] == "inbound"


# --- The screen pop ----------------------------------------------------------------------------

def test_a_connected_campaign_call_pops_the_contact_history_script_and_dispositions_at_once(
        world, asgi_server, committed):
    campaign = committed(_campaign, "T·Renewals")
    contact = committed(_contact, campaign, "+13125550142", first_name="Dana", last_name="Reyes", state="IL",
                        fields={"policy": "HX-1", "renewal_due": "2026-12-31"},
                        reason="Asked to be called back about her renewal.")

    def earlier():
        with schema_context("bobsplumbing"):
            CallAttempt.objects.create(
                campaign=campaign, contact=contact, number=contact.number, channel=Channel.AUTODIALED,
                purpose=campaign.purpose, mode="progressive", agent_id=world.ben.pk, notes="Said to call later",
                started_at=timezone.now() - dt.timedelta(days=1), outcome=CallAttempt.Outcome.NO_ANSWER)

    committed(earlier)
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        _snapshot(ws)
        line = committed(_connected, world, world.ana, campaign, contact)
        _push(f"agent.{world.ana.pk}", {"type": "connected", "call": line.session.pk, "call_sid": line.session.call_sid})
        # The snapshot the "connected" push redraws with carries the whole pop: no round trip of its own.
        pop = _snapshot(ws, lambda m: m["call"])["call"]
    assert pop["direction"] == "outbound" and pop["call"] == line.session.pk and pop["caller"] == "+13125550142"
    ob = pop["outbound"]
    assert ob["attempt"] == line.attempt.pk
    assert ob["contact"]["name"] == "Dana Reyes" and ob["contact"]["number"] == "+13125550142"
    assert ob["contact"]["time_zone"] == "America/Chicago"  # from the 312 number; Bob's is in New York
    local_now = timezone.now().astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    assert ob["contact"]["local_time"].endswith(local_now.strftime("%Z"))
    assert ob["contact"]["fields"] == {"policy": "HX-1", "renewal_due": "2026-12-31"}
    assert ob["campaign"]["name"] == campaign.name and ob["campaign"]["purpose"] == "informational"
    assert ob["reason"] == "Asked to be called back about her renewal."
    assert [(a["outcome"], a["agent"], a["notes"]) for a in ob["attempts"]] == [("no_answer", "Ben Agent",
                                                                                 "Said to call later")]
    say = pop["script"]["steps"]["hello"]["say"]
    assert say == "Hello Dana, this is Ana from Bob's Plumbing about policy HX-1."
    assert [d["code"] for d in ob["dispositions"]] == ["sale", "appointment", "callback", "not_interested",
                                                       "wrong_number", "dnc"]
    assert ob["disposed"] is None
    # The call is pinned to the campaign script's version: the console's Next steps through it.
    assert committed(lambda: CallSession.objects.get(pk=line.session.pk).script_version_id) is not None


def test_the_agent_steps_through_the_campaign_script_on_the_call(world, asgi_server, committed):
    campaign = committed(_campaign, "T·Renewals")
    contact = committed(_contact, campaign, "+13125550143", first_name="Lee")
    line = committed(_connected, world, world.ana, campaign, contact)
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        _snapshot(ws, lambda m: m["call"])
        ws.send(json.dumps({"action": "script_next", "call": line.session.pk, "step": "hello",
                            "answers": {"renews": "yes"}}))
        assert _until(ws, lambda m: m["type"] == "script_next")["end"]["action"] == "log"


# --- The disposition ---------------------------------------------------------------------------

def test_a_disposition_is_refused_with_its_field_then_booked_over_the_socket(world, asgi_server, committed):
    campaign = committed(_campaign, "T·Renewals", script=False)
    contact = committed(_contact, campaign, "+13125550144", first_name="Kim")
    line = committed(_connected, world, world.ana, campaign, contact)
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    tomorrow = (timezone.now().astimezone(chicago) + dt.timedelta(days=1)).date()
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        _snapshot(ws, lambda m: m["call"])
        ws.send(json.dumps({"action": "disposition", "call": line.session.pk, "code": "sale", "amount": ""}))
        refused = _until(ws, lambda m: m["type"] == "disposition_errors")
        assert refused["errors"] == {"amount": ["A sale needs its amount."]}
        ws.send(json.dumps({"action": "disposition", "call": line.session.pk, "code": "callback",
                            "callback_at": f"{tomorrow}T10:00", "callback_to": "me", "notes": "After lunch",
                            "answers": {"renews": "yes"}}))
        assert _until(ws, lambda m: m["type"] == "disposed")["code"] == "callback"
        after = _snapshot(ws, lambda m: m["call"] and m["call"]["outbound"]["disposed"])
    assert after["call"]["outbound"]["disposed"]["label"] == "Call back later"

    def read():
        with schema_context("bobsplumbing"):
            return CallAttempt.objects.get(pk=line.attempt.pk), Contact.objects.get(pk=contact.pk)

    attempt, contact = committed(read)
    assert attempt.notes == "After lunch" and attempt.answers == {"renews": "yes"}
    assert contact.status == "callback" and contact.callback_agent_id == world.ana.pk
    local = contact.next_attempt_at.astimezone(chicago)
    assert (local.date(), local.hour) == (tomorrow, 10)


def test_someone_elses_campaign_call_cannot_be_dispositioned(world, asgi_server, committed):
    campaign = committed(_campaign, "T·Renewals", script=False)
    contact = committed(_contact, campaign, "+13125550145")
    line = committed(_connected, world, world.ana, campaign, contact)
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _snapshot(ws)
        ws.send(json.dumps({"action": "disposition", "call": line.session.pk, "code": "dnc"}))
        assert _until(ws, lambda m: m["type"] == "error")["message"] == "That is not your campaign call."
    def opted_out():
        with schema_context("bobsplumbing"):
            return DncEntry.objects.filter(number="+13125550145").exists()

    assert committed(opted_out) is False


# --- Preview -----------------------------------------------------------------------------------

def test_preview_next_shows_a_card_and_skip_moves_on(world, asgi_server, committed):
    campaign = committed(_campaign, "T·Callbacks", mode="preview", start=True, world=world)
    first = committed(_contact, campaign, "+13125550146", first_name="Ari", reason="Hung up in the queue at 9:02.")
    second = committed(_contact, campaign, "+13125550147", first_name="Bo")
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        snap = _snapshot(ws)
        assert snap["preview"] is None and snap["preview_campaigns"] is True
        ws.send(json.dumps({"action": "preview_next"}))
        assert "press 1 (available)" in _until(ws, lambda m: m["type"] == "preview_error")["message"]
        ws.send(json.dumps({"action": "status", "status": "available"}))
        _snapshot(ws, lambda m: m["status"] == "available")
        ws.send(json.dumps({"action": "preview_next"}))
        card = _snapshot(ws, lambda m: m["preview"])["preview"]
        assert card["contact"]["id"] == first.pk and card["reason"] == "Hung up in the queue at 9:02."
        assert card["client"]["slug"] == "bobsplumbing" and card["campaign"]["name"] == campaign.name
        assert card["script"]["steps"]["hello"]["say"].startswith("Hello Ari,")
        assert card["reserved_until"]
        ws.send(json.dumps({"action": "preview_skip", "contact": first.pk, "client": "bobsplumbing",
                            "reason": "Wrong time of day"}))
        _snapshot(ws, lambda m: m["preview"] is None)
        ws.send(json.dumps({"action": "preview_next"}))
        assert _snapshot(ws, lambda m: m["preview"])["preview"]["contact"]["id"] == second.pk
        # Dialing a contact not held for her is refused before anything is placed.
        ws.send(json.dumps({"action": "preview_dial", "contact": first.pk, "client": "bobsplumbing"}))
        assert "no longer held for you" in _until(ws, lambda m: m["type"] == "preview_error")["message"]

    def skipped():
        with schema_context("bobsplumbing"):
            return list(CallAttempt.objects.filter(contact_id=first.pk).values_list("outcome", "detail")), \
                Contact.objects.get(pk=first.pk).attempts

    attempts, count = committed(skipped)
    assert attempts == [("skipped", "Skipped by Ana Agent: Wrong time of day")] and count == 0


def test_an_inbound_agent_gets_no_preview(world, asgi_server, committed):
    committed(_campaign, "T·Callbacks", mode="preview", start=True, world=world)
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        assert _snapshot(ws)["preview_campaigns"] is False
        ws.send(json.dumps({"action": "preview_next"}))
        assert "inbound calls only" in _until(ws, lambda m: m["type"] == "preview_error")["message"]
