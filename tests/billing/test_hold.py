"""Hold time reaches the call record (``hold_seconds``), for plans that count hold or not: the
agent's hold and resume are timed in the call's conference state, and a hold still running
when the call ends counts to the end."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from answering.acd.models import CallSession
from answering.acd.services import controls
from answering.acd.services.states import _record_fields

T0 = datetime(2026, 11, 3, 15, 0, tzinfo=dt_timezone.utc)


class _Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Time that moves when the test says, and a gateway that takes hold commands silently."""
    clock = _Clock()
    monkeypatch.setattr(controls.timezone, "now", clock)

    class Gateway:
        def participant_hold(self, **kwargs):
            pass

    monkeypatch.setattr(controls.gateway, "get", lambda: Gateway())
    return clock


def _session(world) -> CallSession:
    return CallSession(call_sid="CAhold", client=world.bobs, to_number="+12125550111", state="connected",
                       arrived_at=T0 - timedelta(seconds=30), queued_at=T0 - timedelta(seconds=20),
                       answered_at=T0 - timedelta(seconds=10), conference={"sid": "CF1"})


def test_holds_are_added_up_into_the_record(world, clock):
    session = _session(world)
    conf = dict(session.conference)
    controls._hold(session, conf, True)
    clock.now += timedelta(seconds=25)
    controls._hold(session, conf, False)
    clock.now += timedelta(seconds=60)
    controls._hold(session, conf, True)
    controls._hold(session, conf, True)  # pressed twice: still the one hold
    clock.now += timedelta(seconds=15)
    controls._hold(session, conf, False)
    session.ended_at = clock.now + timedelta(seconds=5)
    fields = _record_fields(session)
    assert fields["hold_seconds"] == 40
    assert fields["talk_seconds"] == 10 + 25 + 60 + 15 + 5  # talk still runs answered → ended, hold within it


def test_a_hold_running_when_the_call_ends_counts_to_the_end(world, clock):
    session = _session(world)
    conf = dict(session.conference)
    controls._hold(session, conf, True)
    session.ended_at = clock.now + timedelta(seconds=12)
    assert _record_fields(session)["hold_seconds"] == 12


def test_a_call_never_held_has_no_hold_time(world):
    session = _session(world)
    session.ended_at = T0
    assert _record_fields(session)["hold_seconds"] is None
