"""The presence log: every change of an agent's status writes its interval (whatever code path
makes it), never two open, nothing left by a change that rolled back; and occupancy from it
against hand-computed days — across local midnight and both DST changes in New York."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
import zoneinfo
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from answering.acd import selectors
from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession, PresenceInterval
from reports.demo import presence_demo_seed
from tests.conftest import BOB_HOST, PLATFORM_HOST

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")
State = CallSession.State


def _log(agent) -> list[tuple[str, bool]]:
    """The agent's intervals in order: (status, still open)."""
    return [(s, e is None) for s, e in PresenceInterval.objects.filter(agent=agent)
            .order_by("started", "id").values_list("status", "ended")]


def _statuses(agent) -> list[str]:
    return [s for s, _ in _log(agent)]


def _assert_well_formed(agent) -> None:
    """One open interval, the current status; each closed one ends where the next begins."""
    rows = list(PresenceInterval.objects.filter(agent=agent).order_by("started", "id"))
    assert [r.ended is None for r in rows].count(True) == 1
    assert rows[-1].ended is None and rows[-1].status == AgentPresence.objects.get(agent=agent).status
    for before, after in zip(rows, rows[1:], strict=False):
        assert before.ended == after.started


@pytest.fixture
def fresh(world):
    """Ana and Ben with no presence yet (rows committed by other tests' servers set aside)."""
    AgentPresence.objects.filter(agent__in=[world.ana, world.ben]).delete()
    PresenceInterval.objects.filter(agent__in=[world.ana, world.ben]).delete()
    return world


def _queued(world, client=None) -> CallSession:
    return CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=client or world.bobs, to_number="+12125550111",
        from_number="+12125559876", state=State.QUEUED, queued_at=timezone.now())


def test_every_change_through_the_services_writes_its_interval(fresh):
    ben = fresh.ben
    acd.agent_status_set(agent=ben, status="available")
    call = _queued(fresh)
    assert [s.pk for s in acd.acd_dispatch()] == [call.pk]  # the dispatcher's UPDATE: offered
    assert acd.call_decline(call_id=call.pk, agent=ben)  # back to available
    other = _queued(fresh)  # the declined call waits out its pause for Ben: another one is offered
    assert [s.pk for s in acd.acd_dispatch()] == [other.pk]
    CallSession.objects.filter(pk=other.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    assert acd.offer_expire(call_id=other.pk, agent_id=ben.pk)  # missed: available again (1 of 3)
    assert acd.call_accept(call_id=call.pk, agent=ben)  # update_or_create: on a call
    acd.agent_status_set(agent=ben, status="break")  # on break (the call goes on elsewhere in this test)
    acd.agent_status_set(agent=ben, status="break")  # the same status again: no new interval
    acd.agent_status_set(agent=ben, status="available")
    assert acd.agent_console_lost(agent_id=ben.pk)  # the console went away
    acd.agent_status_set(agent=ben, status="offline")
    assert _statuses(ben) == ["offline", "available", "offered", "available", "offered", "available", "on_call",
                              "break", "available", "away", "offline"]
    _assert_well_formed(ben)


def test_wrap_up_and_its_end_are_logged(fresh):
    ana = fresh.ana
    acd.agent_status_set(agent=ana, status="available")
    call = _queued(fresh)
    assert acd.call_accept(call_id=call.pk, agent=ana)
    acd.call_status_update(session=CallSession.objects.get(pk=call.pk), status="completed", sequence=5)
    assert AgentPresence.objects.get(agent=ana).status == "wrap_up"
    ended = CallSession.objects.get(pk=call.pk).ended_at
    CallSession.objects.filter(pk=call.pk).update(wrap_up_until=ended)  # the wrap-up is due (no waiting)
    assert acd.wrap_up_end(session_id=call.pk)
    assert _statuses(ana)[-3:] == ["on_call", "wrap_up", "available"]
    _assert_well_formed(ana)


def test_any_write_to_presence_is_logged_even_raw_sql(fresh):
    # The dialer and the transfers change presence with conditional UPDATEs, not save():
    # the log is kept by the database, so no path can skip it.
    ben = fresh.ben
    acd.agent_status_set(agent=ben, status="available")
    AgentPresence.objects.filter(agent=ben, status="available").update(status="offered", since=timezone.now())
    with connection.cursor() as cursor:  # a writer that leaves ``since`` alone: the transaction's time
        cursor.execute("UPDATE acd_agentpresence SET status = 'on_call' WHERE agent_id = %s", [ben.pk])
    AgentPresence.objects.filter(agent=ben).update(reason="Only words")  # not a change of status
    assert _statuses(ben) == ["offline", "available", "offered", "on_call"]
    _assert_well_formed(ben)


def test_a_change_that_rolls_back_leaves_the_log_as_it_was(fresh):
    ben = fresh.ben
    acd.agent_status_set(agent=ben, status="available")
    before = list(PresenceInterval.objects.filter(agent=ben).order_by("id").values())
    with pytest.raises(RuntimeError), transaction.atomic():
        acd.agent_status_set(agent=ben, status="break")
        assert _statuses(ben)[-1] == "break"
        raise RuntimeError("the worker died before its commit")
    assert list(PresenceInterval.objects.filter(agent=ben).order_by("id").values()) == before
    assert _log(ben)[-1] == ("available", True)  # the current interval is still open


def test_never_two_open_and_never_overlapping(fresh):
    ben = fresh.ben
    acd.agent_status_set(agent=ben, status="available")
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        PresenceInterval.objects.create(agent=ben, status="break", started=now + timedelta(hours=1))
    with pytest.raises(IntegrityError), transaction.atomic():  # closed, but inside the open one
        PresenceInterval.objects.create(agent=ben, status="break", started=now + timedelta(minutes=1),
                                        ended=now + timedelta(minutes=2))
    with pytest.raises(IntegrityError), transaction.atomic():
        PresenceInterval.objects.create(agent=ben, status="break", started=now, ended=now - timedelta(minutes=2))
    # Another agent's intervals are their own.
    PresenceInterval.objects.create(agent=fresh.ana, status="break", started=now - timedelta(minutes=5),
                                    ended=now - timedelta(minutes=1))


def test_a_presence_whose_clock_is_behind_never_goes_back_before_the_open_interval(fresh):
    ben = fresh.ben
    acd.agent_status_set(agent=ben, status="available")
    opened = PresenceInterval.objects.get(agent=ben, ended__isnull=True).started
    AgentPresence.objects.filter(agent=ben).update(status="break", since=opened - timedelta(minutes=10))
    AgentPresence.objects.filter(agent=ben).update(status="available", since=opened + timedelta(minutes=1))
    # The change stamped before the open interval began replaced it rather than overlapping it.
    assert _statuses(ben) == ["offline", "break", "available"]
    _assert_well_formed(ben)


# --- The selector and occupancy, against hand-computed days -------------------------------

def _local(y, m, d, h=0, mi=0, fold=0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=NY, fold=fold)


def _write(agent, *stretches) -> None:
    """Intervals written directly (``(status, start, end)``, end None = open): history as given."""
    for status, start, end in stretches:
        PresenceInterval.objects.create(agent=agent, status=status, started=start, ended=end)


def test_the_selector_clips_to_the_window_and_splits_at_local_midnight(fresh):
    ana = fresh.ana
    _write(ana,
           ("available", _local(2026, 3, 6, 22), _local(2026, 3, 7, 0, 30)),  # across midnight
           ("on_call", _local(2026, 3, 7, 0, 30), _local(2026, 3, 7, 0, 50)),
           ("wrap_up", _local(2026, 3, 7, 0, 50), _local(2026, 3, 7, 1)),
           ("break", _local(2026, 3, 7, 1), _local(2026, 3, 7, 1, 30)),
           ("available", _local(2026, 3, 7, 1, 30), _local(2026, 3, 7, 2)),
           ("offline", _local(2026, 3, 7, 2), None))  # still open: counts to the window's end
    _write(fresh.ben, ("on_call", _local(2026, 3, 7, 0), _local(2026, 3, 7, 1)))
    start, end = _local(2026, 3, 6, 23), _local(2026, 3, 7, 3)
    seconds = selectors.presence_seconds(agent_ids=[ana.pk], start=start, end=end, zone="America/New_York")
    assert seconds == {
        (ana.pk, dt.date(2026, 3, 6)): {"available": 3600},  # 23:00–24:00, not from 22:00
        (ana.pk, dt.date(2026, 3, 7)): {"available": 1800 + 1800, "on_call": 1200, "wrap_up": 600, "break": 1800,
                                        "offline": 3600},
    }
    occupancy = selectors.occupancy_by_agent([ana.pk], start, end, "America/New_York")
    assert occupancy[(ana.pk, dt.date(2026, 3, 6))].occupancy == 0
    seventh = occupancy[(ana.pk, dt.date(2026, 3, 7))]
    # (20 min talk + 10 min wrap-up) ÷ (1 h available + 30 min handling): break and offline left out.
    assert (seventh.handled, seventh.logged_in) == (1800, 5400)
    assert seventh.occupancy == pytest.approx(1 / 3)
    # In another zone the same history falls on other days: Chicago's midnight is an hour later.
    chicago = selectors.presence_seconds(agent_ids=[ana.pk], start=start, end=end, zone="America/Chicago")
    assert chicago == {  # the window is 22:00–02:00 there
        (ana.pk, dt.date(2026, 3, 6)): {"available": 5400, "on_call": 1200, "wrap_up": 600},
        (ana.pk, dt.date(2026, 3, 7)): {"break": 1800, "available": 1800, "offline": 3600},
    }


def test_the_spring_forward_day_has_23_hours_and_occupancy_counts_them(fresh):
    ana = fresh.ana
    _write(ana,
           ("available", _local(2026, 3, 7, 23), _local(2026, 3, 8, 4)),  # 01:59 EST → 03:00 EDT in between
           ("on_call", _local(2026, 3, 8, 4), _local(2026, 3, 8, 5)),
           ("wrap_up", _local(2026, 3, 8, 5), _local(2026, 3, 8, 5, 15)),
           ("available", _local(2026, 3, 8, 5, 15), _local(2026, 3, 9, 0, 30)))
    start, end = _local(2026, 3, 8), _local(2026, 3, 9)
    day = selectors.presence_seconds(agent_ids=[ana.pk], start=start, end=end, zone=NY)
    assert list(day) == [(ana.pk, dt.date(2026, 3, 8))]  # the 7th and the 9th are outside the window
    seconds = day[(ana.pk, dt.date(2026, 3, 8))]
    # 00:00 EST to 04:00 EDT is three real hours; 05:15 EDT to midnight 18¾.
    assert seconds == {"available": 3 * 3600 + 18.75 * 3600, "on_call": 3600, "wrap_up": 900}
    assert sum(seconds.values()) == 23 * 3600
    one = selectors.occupancy_by_agent([ana.pk], start, end, NY)[(ana.pk, dt.date(2026, 3, 8))]
    assert one.occupancy == pytest.approx(4500 / 82800)


def test_the_fall_back_day_has_25_hours(fresh):
    ben = fresh.ben
    _write(ben, ("available", _local(2026, 10, 31, 20), _local(2026, 11, 1, 1, 30)),  # the first 01:30 (EDT)
           ("on_call", _local(2026, 11, 1, 1, 30), _local(2026, 11, 1, 1, 30, fold=1)),  # to the second (EST)
           ("available", _local(2026, 11, 1, 1, 30, fold=1), _local(2026, 11, 2, 8)))
    days = selectors.occupancy_by_agent([ben.pk], _local(2026, 10, 31), _local(2026, 11, 3), NY)
    first = days[(ben.pk, dt.date(2026, 11, 1))]
    assert first.logged_in == 25 * 3600 and first.handled == 3600  # the repeated hour, on a call
    assert days[(ben.pk, dt.date(2026, 10, 31))].logged_in == 4 * 3600
    assert days[(ben.pk, dt.date(2026, 11, 2))].logged_in == 8 * 3600
    totals = selectors.occupancy_totals(days)
    assert totals[ben.pk].logged_in == 37 * 3600 and totals[None].occupancy == pytest.approx(3600 / (37 * 3600))


def test_an_open_interval_counts_up_to_now_only(fresh):
    ben = fresh.ben
    now = timezone.now()
    _write(ben, ("available", now - timedelta(hours=1), None))
    seconds = selectors.presence_seconds(agent_ids=[ben.pk], start=now - timedelta(hours=2),
                                         end=now + timedelta(hours=5), zone="UTC")
    assert sum(sum(s.values()) for s in seconds.values()) == pytest.approx(3600, abs=60)


def test_occupancy_spans_every_client_the_agent_serves(fresh):
    """Ana answers Bob's and then Charlie's call: the log is hers, whichever client rang."""
    ana = fresh.ana
    acd.agent_status_set(agent=ana, status="available")
    for client in (fresh.bobs, fresh.charlies):
        call = _queued(fresh, client)
        assert acd.call_accept(call_id=call.pk, agent=ana)
        CallSession.objects.filter(pk=call.pk).update(state=State.COMPLETED)
        AgentPresence.objects.filter(agent=ana).update(status="available", since=timezone.now())
    assert _statuses(ana) == ["offline", "available", "on_call", "available", "on_call", "available"]


# --- The reports ---------------------------------------------------------------------------

def test_the_platform_report_shows_true_occupancy_and_a_clients_report_does_not(fresh, logged_in):
    ana = fresh.ana
    day = dt.date(2026, 3, 7)  # 08:00–12:00 in New York: the same day in the platform's zone (UTC)
    _write(ana, ("available", _local(2026, 3, 7, 8), _local(2026, 3, 7, 9)),
           ("on_call", _local(2026, 3, 7, 9), _local(2026, 3, 7, 9, 45)),
           ("wrap_up", _local(2026, 3, 7, 9, 45), _local(2026, 3, 7, 10)),
           ("break", _local(2026, 3, 7, 10), _local(2026, 3, 7, 11)),
           ("available", _local(2026, 3, 7, 11), _local(2026, 3, 7, 12)))
    query = f"from={day}&to={day}&by=day"
    sam = logged_in(fresh.sam, PLATFORM_HOST)
    page = sam.get(f"/reports/?{query}")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert 'id="agent-occupancy"' in html and "Ana Agent" in html and "33 %" in html  # 1 h ÷ 3 h
    rows = {r[0]: r for r in csv.reader(io.StringIO(
        b"".join(sam.get(f"/reports/export.csv?{query}").streaming_content).decode()))}
    total = dict(zip(rows["Client"], rows["All clients"], strict=True))
    bob = dict(zip(rows["Client"], rows["Bob's Plumbing"], strict=True))
    assert float(total["Occupancy (percent)"]) == pytest.approx(1 / 3, abs=1e-4)
    assert bob["Occupancy (percent)"] == ""  # an agent's time is not one client's
    # The client's own report: occupancy left empty, whoever reads it.
    bob_page = logged_in(fresh.bob, BOB_HOST).get(f"/reports/export.csv?{query}")
    bob_rows = list(csv.reader(io.StringIO(b"".join(bob_page.streaming_content).decode())))
    assert dict(zip(bob_rows[0], bob_rows[-1], strict=True))["Occupancy (percent)"] == ""


def test_the_demo_seeds_presence_that_matches_its_calls(fresh):
    from django_tenants.utils import schema_context

    from answering.models import CallRecord
    from reports.demo import history_demo_seed

    today = dt.date(2026, 9, 16)
    assert history_demo_seed("bobsplumbing", weeks=1, today=today) > 0
    assert history_demo_seed("charlieclinic", weeks=1, today=today) > 0
    emails = ("ana@switchboard.test", "ben@switchboard.test")
    written = presence_demo_seed(weeks=1, today=today, emails=emails)
    assert written > 0
    assert presence_demo_seed(weeks=1, today=today, emails=emails) == 0  # idempotent
    start, end = _local(2026, 9, 9), _local(2026, 9, 16)
    totals = selectors.occupancy_totals(selectors.occupancy_by_agent([fresh.ana.pk, fresh.ben.pk], start, end, NY))
    assert 0.05 < totals[None].occupancy < 0.95
    with schema_context("bobsplumbing"):
        answered = CallRecord.objects.filter(call_sid__startswith="CAhist", outcome="answered",
                                             agent_id__isnull=False).count()
    assert answered and totals[None].handled > 0
    for agent in (fresh.ana, fresh.ben):  # closed history, then today's open interval untouched
        assert not PresenceInterval.objects.filter(agent=agent, ended__isnull=True, started__lt=start).exists()


def test_the_platform_admin_reads_the_log_and_cannot_change_it(fresh, logged_in):
    acd.agent_status_set(agent=fresh.ben, status="available")
    row = PresenceInterval.objects.get(agent=fresh.ben, ended__isnull=True)
    alice = logged_in(fresh.alice, PLATFORM_HOST)
    listing = alice.get("/admin/acd/presenceinterval/")
    assert listing.status_code == HTTPStatus.OK and "Ben Agent" in listing.content.decode()
    assert alice.get("/admin/acd/presenceinterval/add/").status_code == HTTPStatus.FORBIDDEN
    alice.post(f"/admin/acd/presenceinterval/{row.pk}/change/", {"status": "break"})
    alice.post(f"/admin/acd/presenceinterval/{row.pk}/delete/", {"post": "yes"})
    row.refresh_from_db()
    assert row.status == "available" and row.ended is None
