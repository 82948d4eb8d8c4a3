"""Who is on call: hand-overs at local times, overrides, and daylight-saving changes, exactly."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from answering.models import Override, Person, Rotation, RotationMember, Team
from answering.oncall.selectors import on_call_at

pytestmark = pytest.mark.django_db
NY = "America/New_York"
UTC = ZoneInfo("UTC")


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _local(*args, fold=0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(NY), fold=fold)


@pytest.fixture
def rota(world):
    """rota(period, handover, starts_on, n) -> (team, people) in Bob's schema."""
    contexts = []

    def make(period="daily", handover=time(8), starts_on=date(2026, 3, 1), n=3):
        ctx = schema_context("bobsplumbing")
        ctx.__enter__()
        contexts.append(ctx)
        team = Team.objects.create(name=f"Techs {len(contexts)}")
        rotation = Rotation.objects.create(team=team, period=period, handover_time=handover, starts_on=starts_on)
        people = [Person.objects.create(name=f"Tech {i}") for i in range(n)]
        for i, person in enumerate(people):
            RotationMember.objects.create(rotation=rotation, person=person, position=i)
        return team, people

    yield make
    for ctx in reversed(contexts):
        ctx.__exit__(None, None, None)


def _who(team, at):
    return on_call_at(team=team, at=at, time_zone=NY)


def test_a_daily_rota_hands_over_at_the_local_time(rota):
    team, (a, b, c) = rota()
    assert _who(team, _local(2026, 3, 1, 7, 59)).person is None  # not started yet
    assert _who(team, _local(2026, 3, 1, 8, 0)).person == a
    assert _who(team, _local(2026, 3, 2, 7, 59, 59)).person == a
    assert _who(team, _local(2026, 3, 2, 8, 0)).person == b
    assert _who(team, _local(2026, 3, 3, 9, 0)).person == c
    assert _who(team, _local(2026, 3, 4, 9, 0)).person == a  # round again


def test_the_answer_says_until_when(rota):
    team, _ = rota()
    assert _who(team, _local(2026, 3, 2, 12, 0)).until == _local(2026, 3, 3, 8, 0)


def test_the_hand_over_stays_at_eight_local_when_the_clocks_spring_forward(rota):
    team, (a, b, c) = rota()
    # 2026-03-08: New York moves from UTC-5 to UTC-4 at 02:00. 08:00 EDT is 12:00 UTC.
    assert _who(team, _utc(2026, 3, 8, 11, 59)).person == _who(team, _local(2026, 3, 7, 9, 0)).person
    assert _who(team, _utc(2026, 3, 8, 12, 0)).person != _who(team, _local(2026, 3, 7, 9, 0)).person
    assert _who(team, _local(2026, 3, 7, 9, 0)).until == _utc(2026, 3, 8, 12, 0)


def test_a_hand_over_inside_the_spring_gap_happens_when_the_gap_ends(rota):
    team, (a, b, c) = rota(handover=time(2, 30))
    before = _who(team, _utc(2026, 3, 8, 6, 59))  # 01:59 EST
    after = _who(team, _utc(2026, 3, 8, 7, 0))  # 03:00 EDT: 02:30 never happened
    assert before.person != after.person
    assert before.until == _utc(2026, 3, 8, 7, 0)


def test_the_autumn_repeated_hour_does_not_hand_the_pager_back(rota):
    team, _ = rota(handover=time(1, 30), starts_on=date(2026, 10, 1))
    # 2026-11-01: 01:00–02:00 happens twice (EDT, then EST).
    first_pass = _who(team, _local(2026, 11, 1, 1, 10, fold=0))
    handed = _who(team, _local(2026, 11, 1, 1, 30, fold=0))
    second_pass = _who(team, _local(2026, 11, 1, 1, 10, fold=1))  # after the first 01:30
    assert handed.person != first_pass.person
    assert second_pass.person == handed.person


def test_a_weekly_rota_hands_over_on_its_weekday(rota):
    team, (a, b) = rota(period="weekly", handover=time(9), starts_on=date(2026, 1, 5), n=2)  # a Monday
    assert _who(team, _local(2026, 1, 12, 8, 59)).person == a
    assert _who(team, _local(2026, 1, 12, 9, 0)).person == b
    assert _who(team, _local(2026, 1, 18, 23, 0)).person == b
    assert _who(team, _local(2026, 1, 19, 9, 0)).person == a


def test_an_override_covers_its_span_and_the_latest_wins(rota):
    team, (a, b, c) = rota()
    cover = Person.objects.create(name="Cover")
    later = Person.objects.create(name="Later cover")
    Override.objects.create(team=team, person=cover, starts=_local(2026, 3, 5, 18), ends=_local(2026, 3, 6, 8))
    assert _who(team, _local(2026, 3, 5, 17, 59)).source == "rotation"
    now = _who(team, _local(2026, 3, 5, 20))
    assert (now.person, now.source, now.until) == (cover, "override", _local(2026, 3, 6, 8))
    Override.objects.create(team=team, person=later, starts=_local(2026, 3, 5, 19), ends=_local(2026, 3, 5, 21))
    assert _who(team, _local(2026, 3, 5, 20)).person == later
    assert _who(team, _local(2026, 3, 6, 8)).source == "rotation"


def test_inactive_people_are_skipped_and_an_empty_rota_answers_nobody(rota):
    team, (a, b, c) = rota()
    Person.objects.filter(pk=b.pk).update(active=False)
    assert _who(team, _local(2026, 3, 2, 9)).person in (a, c)
    empty = Team.objects.create(name="Nobody home")
    assert _who(empty, _local(2026, 3, 2, 9)) .source == "nobody"


def test_one_clients_rota_is_invisible_to_another(rota, world):
    team, _ = rota()
    with schema_context("charlieclinic"):
        assert not Team.objects.filter(name=team.name).exists()
