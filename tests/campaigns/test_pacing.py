"""The dialer's pacing rule (campaigns.pacing): a pure function, so no database here.

Named examples first (a 20-agent campaign in its usual states), then properties for any
input (hypothesis): never a negative call, progressive never beyond its ready agents,
predictive never beyond its line cap nor predictive over the abandonment cap, and the
directions the rule must move in (more agents: no fewer calls; more abandonment, more lines
in flight or a higher answer rate: no more calls).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns import pacing
from campaigns.pacing import Pacing, PacingInput, pace

# A 20-agent predictive campaign mid-morning: 200 dials known, 17.5 % reached a person,
# answers after 13 s, calls last 3 min plus wrap-up, abandonment well under the cap.
STEADY = PacingInput(
    mode="predictive", agents_ready=3, agents_finishing=1, agents_busy=16, lines_in_flight=0,
    answer_rate=0.175, recent_dials=200, avg_ring_seconds=13.0, avg_handle_seconds=195.0,
    abandoned_today=3, live_today=400, abandoned_30d=90, live_30d=9000, max_lines_per_agent=6,
)


def test_preview_places_no_call():
    decision = pace(replace(STEADY, mode="preview", agents_ready=20))
    assert decision == Pacing(0, 0.0, "preview", decision.reason)
    assert "dials or skips" in decision.reason


def test_progressive_places_one_line_per_ready_agent_less_those_in_flight():
    assert pace(replace(STEADY, mode="progressive", agents_ready=5)).calls_now == 5
    assert pace(replace(STEADY, mode="progressive", agents_ready=5, lines_in_flight=3)).calls_now == 2
    assert pace(replace(STEADY, mode="progressive", agents_ready=2, lines_in_flight=3)).calls_now == 0
    assert pace(replace(STEADY, mode="progressive", agents_ready=5)).lines_per_agent == 1.0


def test_an_unknown_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="'power'"):
        pace(replace(STEADY, mode="power"))


def test_predictive_without_an_answer_rate_starts_at_one_line_per_agent():
    decision = pace(replace(STEADY, agents_ready=20, agents_finishing=0, agents_busy=0,
                            answer_rate=None, recent_dials=0))
    assert decision.mode == "predictive"
    assert decision.lines_per_agent == 1.0
    assert decision.calls_now == 20  # progressive's floor: one line per ready agent
    assert decision.reason.startswith("No answer rate yet")


def test_predictive_trusts_the_answer_rate_as_the_dials_add_up():
    ratios = [pace(replace(STEADY, recent_dials=n)).lines_per_agent for n in (10, 50, 100, 200)]
    assert ratios == sorted(ratios) and ratios[0] < ratios[-1]
    assert ratios[-1] == pytest.approx(1 / 0.175, abs=0.01)
    assert "over only 10 dials" in pace(replace(STEADY, recent_dials=10)).reason


def test_predictive_dials_several_lines_per_ready_agent():
    decision = pace(replace(STEADY, agents_ready=10, agents_finishing=0, agents_busy=10))
    assert decision.mode == "predictive" and not decision.throttled
    assert decision.calls_now > 10 * 2  # well beyond progressive's 10
    assert decision.reason == "Answer rate 17.5% over the last 200 dials: 5.7 lines per agent."


def test_lines_per_agent_never_exceed_the_campaigns_maximum():
    decision = pace(replace(STEADY, max_lines_per_agent=3, answer_rate=0.05))
    assert decision.lines_per_agent == 3.0
    # The cap also bounds every line in flight: 2 per agent on the campaign, even when the
    # lines in flight have rung so long that they hold no agent back.
    idle = PacingInput(mode="predictive", agents_ready=10, lines_in_flight=15, ringing_seconds=(24.0,) * 15,
                       answer_rate=0.1, recent_dials=200, avg_ring_seconds=12, max_lines_per_agent=2)
    assert pace(idle).calls_now == 2 * 10 - 15


def test_agents_about_to_free_up_are_dialed_for():
    few_ready = replace(STEADY, agents_ready=3, agents_finishing=0, agents_busy=17)
    wrapping_up = replace(few_ready, agents_finishing=4, agents_busy=13)
    # Without a handle time there is no telling when busy agents hang up: none are counted,
    # and 3 ready agents are too few for the margin: progressive's 3 lines.
    assert pace(replace(few_ready, avg_handle_seconds=None)).calls_now == 3
    assert pace(few_ready).calls_now > 3  # 17 busy agents: about 1.1 free within 13 s
    assert pace(wrapping_up).calls_now > pace(few_ready).calls_now
    # Nobody ready and everyone talking: about 1.3 agents free within 13 s, inside the margin.
    assert pace(replace(STEADY, agents_ready=0, agents_finishing=0, agents_busy=20)).calls_now == 0


def test_lines_ringing_long_hold_back_fewer_agents_than_new_ones():
    new = replace(STEADY, lines_in_flight=10, ringing_seconds=(1.0,) * 10)
    old = replace(STEADY, lines_in_flight=10, ringing_seconds=(24.0,) * 10)
    unknown = replace(STEADY, lines_in_flight=10)  # no ages: counted as just placed
    assert pace(old).calls_now > pace(new).calls_now
    assert pace(unknown).calls_now <= pace(new).calls_now


def test_answered_lines_count_as_people_on_their_way_to_an_agent():
    ringing = replace(STEADY, lines_in_flight=3, ringing_seconds=(5.0, 5.0, 5.0))
    answered = replace(STEADY, lines_in_flight=3, lines_answered=3)
    assert pace(answered).calls_now < pace(ringing).calls_now


def test_abandonment_nearing_the_cap_over_30_days_slows_predictive():
    calm, near = pace(STEADY), pace(replace(STEADY, abandoned_30d=250, live_30d=9000))  # 1 %, 2.8 %
    assert not calm.throttled and near.throttled and near.mode == "predictive" and not near.stop
    assert near.lines_per_agent < calm.lines_per_agent
    assert near.calls_now < calm.calls_now
    assert near.reason.endswith("Slowed: abandonment 2.8% over 30 days, near the 3% cap.")


def test_the_cap_over_30_days_stops_predictive_for_progressive():
    decision = pace(replace(STEADY, abandoned_30d=306, live_30d=9000, agents_ready=3, lines_in_flight=1))
    assert decision == Pacing(calls_now=2, lines_per_agent=1.0, mode="progressive",
                              reason="Abandonment 3.4% over 30 days, at or above 3%: dialing progressive.",
                              throttled=True, stop=True)


def test_the_cap_is_the_gates_cap_exactly():
    # The gate stops autodialing at rate >= ABANDONMENT_CAP (compliance.selectors): 3 of 100 is
    # at the cap, 299 of 10 000 is not.
    assert pace(replace(STEADY, abandoned_30d=3, live_30d=100)).stop
    assert not pace(replace(STEADY, abandoned_30d=299, live_30d=10_000)).stop


def test_the_constants_mirror_compliance_rules():
    from compliance import rules

    assert (pacing.ABANDONMENT_CAP, pacing.ABANDONMENT_SLOW_DOWN, pacing.ABANDONMENT_DAYS) == (
        rules.ABANDONMENT_CAP, rules.ABANDONMENT_SLOW_DOWN, rules.ABANDONMENT_DAYS)
    assert PacingInput(mode="predictive", agents_ready=0).max_abandon_rate == rules.ABANDONMENT_CAP


def test_the_daily_guard_drops_a_bad_day_to_progressive_without_stopping_the_campaign():
    decision = pace(replace(STEADY, abandoned_today=8, live_today=200))  # 4 % today, 30 days fine
    assert decision.mode == "progressive" and decision.throttled and not decision.stop
    assert decision.reason == "Abandonment 4% today, at or above 3%: dialing progressive until it falls."


def test_the_daily_guard_waits_for_enough_people_today():
    # 2 of 20 is 10 %, but 20 calls say little; the 30 days (1 %) set the pace.
    decision = pace(replace(STEADY, abandoned_today=2, live_today=20))
    assert decision.mode == "predictive" and not decision.throttled


def test_the_daily_guard_slows_predictive_as_today_nears_the_cap():
    decision = pace(replace(STEADY, abandoned_today=28, live_today=1000))  # 2.8 %
    assert decision.mode == "predictive" and decision.throttled
    assert decision.reason.endswith("Slowed: abandonment 2.8% today, near the 3% cap.")


def test_a_cap_of_the_callers_own_below_the_slow_down_still_slows():
    decision = pace(replace(STEADY, max_abandon_rate=0.02, abandoned_30d=175, live_30d=10_000))  # 1.75 %
    assert decision.throttled and decision.mode == "predictive"
    assert pace(replace(STEADY, max_abandon_rate=0.02, abandoned_30d=200, live_30d=10_000)).stop


def test_a_small_team_still_dials():
    # One agent: the safety margin alone would never dial; progressive's floor does.
    solo = PacingInput(mode="predictive", agents_ready=1, answer_rate=0.2, recent_dials=200,
                       avg_ring_seconds=12, avg_handle_seconds=200)
    assert pace(solo).calls_now == 1
    assert pace(replace(solo, lines_in_flight=1)).calls_now == 0


# Properties, for any input the dialer could count.

counts = st.integers(min_value=0, max_value=60)


@st.composite
def inputs(draw, mode=st.sampled_from(pacing.MODES)):
    in_flight = draw(st.integers(0, 300))
    live_today, live_30d = draw(st.integers(0, 2000)), draw(st.integers(0, 50_000))
    return PacingInput(
        mode=draw(mode), agents_ready=draw(counts), agents_finishing=draw(counts), agents_busy=draw(counts),
        lines_in_flight=in_flight, lines_answered=draw(st.integers(0, in_flight)),
        ringing_seconds=tuple(draw(st.lists(st.floats(0, 60), max_size=in_flight))),
        answer_rate=draw(st.one_of(st.none(), st.floats(0, 1))), recent_dials=draw(st.integers(0, 500)),
        avg_ring_seconds=draw(st.one_of(st.none(), st.floats(0, 40))),
        avg_handle_seconds=draw(st.one_of(st.none(), st.floats(1, 900))),
        abandoned_today=draw(st.integers(0, live_today)), live_today=live_today,
        abandoned_30d=draw(st.integers(0, live_30d)), live_30d=live_30d,
        max_lines_per_agent=draw(st.floats(1, 10)),
    )


@settings(max_examples=500)
@given(inputs())
def test_calls_are_never_negative_and_the_reason_is_a_sentence(p):
    decision = pace(p)
    assert isinstance(decision.calls_now, int) and decision.calls_now >= 0
    assert decision.mode in pacing.MODES and decision.reason.endswith(".")
    assert decision.stop <= decision.throttled  # stopping is the last of the throttles


@settings(max_examples=300)
@given(inputs(mode=st.just("progressive")))
def test_progressive_never_exceeds_its_ready_agents(p):
    decision = pace(p)
    assert decision.calls_now == max(0, p.agents_ready - p.lines_in_flight)
    assert decision.calls_now + min(p.lines_in_flight, p.agents_ready) <= p.agents_ready


@settings(max_examples=500)
@given(inputs(mode=st.just("predictive")))
def test_predictive_never_exceeds_its_lines_per_agent(p):
    decision = pace(p)
    agents = p.agents_ready + p.agents_finishing + p.agents_busy
    assert decision.lines_per_agent <= p.max_lines_per_agent + 1e-9
    assert decision.calls_now == 0 or (
        decision.calls_now + p.lines_in_flight <= math.floor(p.max_lines_per_agent * agents + 1e-9))


@settings(max_examples=300)
@given(inputs(mode=st.just("predictive")))
def test_over_the_cap_it_is_never_predictive(p):
    over_30d = p.live_30d and p.abandoned_30d / p.live_30d >= p.max_abandon_rate
    over_today = (p.live_today >= p.daily_guard_min_live
                  and p.abandoned_today / p.live_today >= p.max_abandon_rate)
    decision = pace(p)
    if over_30d or over_today:
        assert decision.mode == "progressive" and decision.throttled
        assert decision.calls_now <= p.agents_ready
        assert decision.stop == bool(over_30d)
    else:
        assert decision.mode == "predictive" and not decision.stop


@settings(max_examples=300)
@given(inputs(), st.sampled_from(["agents_ready", "agents_finishing", "agents_busy"]), st.integers(1, 20))
def test_more_agents_never_mean_fewer_calls(p, which, more):
    assert pace(replace(p, **{which: getattr(p, which) + more})).calls_now >= pace(p).calls_now


@settings(max_examples=300)
@given(inputs(), st.integers(1, 20))
def test_more_lines_in_flight_never_mean_more_calls(p, more):
    assert pace(replace(p, lines_in_flight=p.lines_in_flight + more)).calls_now <= pace(p).calls_now


@settings(max_examples=300)
@given(inputs(mode=st.just("predictive")), st.integers(1, 500))
def test_more_abandonment_never_means_more_calls(p, more):
    worse = replace(p, abandoned_30d=min(p.live_30d, p.abandoned_30d + more))
    assert pace(worse).calls_now <= pace(p).calls_now
    assert pace(worse).lines_per_agent <= pace(p).lines_per_agent


@settings(max_examples=300)
@given(inputs(mode=st.just("predictive")), st.floats(0.01, 1))
def test_a_higher_answer_rate_never_means_more_calls(p, rate):
    low, high = replace(p, answer_rate=rate / 2), replace(p, answer_rate=rate)
    assert pace(high).calls_now <= pace(low).calls_now
    assert pace(high).lines_per_agent <= pace(low).lines_per_agent
