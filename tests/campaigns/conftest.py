"""Shared by the campaign tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def afternoon():
    """The clock on a Tuesday afternoon in New York (flowing from there), inside every calling
    window, so the gate's real-time decisions (a voicemail drop's, a preview dial's) hold
    whenever the suite runs."""
    import datetime as dt
    import zoneinfo

    import time_machine

    when = dt.datetime(2026, 6, 2, 14, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    with time_machine.travel(when, tick=True):
        yield when
