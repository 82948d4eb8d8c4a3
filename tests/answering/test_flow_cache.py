"""The per-process flow cache: how often it asks Redis, and how soon a change is heard."""

from __future__ import annotations

import pytest

from answering.flow import cache as flow_cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """flow_cache's monotonic clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(flow_cache.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def mgets(monkeypatch):
    """How many times the cache asked Redis for versions."""
    calls = []
    real = flow_cache._redis

    class Counting:
        def __init__(self, client):
            self.client = client

        def mget(self, keys):
            calls.append(tuple(keys))
            return self.client.mget(keys)

        def __getattr__(self, name):
            return getattr(self.client, name)

    monkeypatch.setattr(flow_cache, "_redis", lambda: Counting(real()))
    return calls


def _another_process_changes(schema: str) -> None:
    """What a writer in another process does: bump the version, leave our copy alone."""
    flow_cache._redis().incr(flow_cache._flow_key(schema))


def test_within_the_window_calls_are_answered_without_asking_redis(world, settings, clock, mgets):
    settings.FLOW_CACHE_CHECK_MS = 1000
    loads = []
    for _ in range(50):
        flow_cache.flow_get("bobsplumbing", lambda: loads.append(1) or "flow v1")
    assert len(mgets) == 1 and len(loads) == 1


def test_another_processs_change_is_heard_once_the_window_has_passed(world, settings, clock, mgets):
    settings.FLOW_CACHE_CHECK_MS = 1000
    assert flow_cache.flow_get("bobsplumbing", lambda: "flow v1") == "flow v1"
    _another_process_changes("bobsplumbing")
    clock[0] += 0.5
    assert flow_cache.flow_get("bobsplumbing", lambda: "flow v2") == "flow v1"  # not yet: within the window
    clock[0] += 0.6
    assert flow_cache.flow_get("bobsplumbing", lambda: "flow v2") == "flow v2"
    assert len(mgets) == 2


def test_this_processs_own_change_is_heard_at_once(world, settings, clock, django_capture_on_commit_callbacks):
    settings.FLOW_CACHE_CHECK_MS = 1000
    assert flow_cache.flow_get("bobsplumbing", lambda: "flow v1") == "flow v1"
    with django_capture_on_commit_callbacks(execute=True):
        flow_cache.flow_changed("bobsplumbing")
    assert flow_cache.flow_get("bobsplumbing", lambda: "flow v2") == "flow v2"
    # ...and the version it now holds is the bumped one: no second reload when the window ends.
    clock[0] += 5
    assert flow_cache.flow_get("bobsplumbing", lambda: "flow v3") == "flow v2"


def test_with_no_window_every_call_asks_redis(world, settings, clock, mgets):
    settings.FLOW_CACHE_CHECK_MS = 0
    for _ in range(3):
        flow_cache.flow_get("bobsplumbing", lambda: "flow")
    assert len(mgets) == 3
