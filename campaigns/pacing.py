"""How many calls a campaign's dialer places now: one pure function of what the tick counted.

No models, no database, no clock: the dialer tick, the unit tests and the simulated day
(tests/bench/bench_dialer_day.py) all call ``pace()`` with the same inputs, so the figures the
bench prints are the figures the dialer produces.

The rule
--------
**Preview** places nothing: the agent reads the contact and dials (or skips) it.

**Progressive** places one line per ready agent, minus the lines already in flight. A person
who answers always finds the agent the line was placed for, so it never abandons.

**Predictive** places enough lines that the people expected to answer them fall a little
short of the agents expected free when they do:

    agents    = ready + ½ × finishing + busy × min(1, ring ÷ handle)
    target    = agents − SAFETY × √agents                       (people to have on the way)
    expected  = answered lines + Σ P(person | still ringing after a s) over ringing lines
    calls_now = ⌊(target − expected) × lines_per_agent⌋, at least what progressive would
                place, at most max_lines_per_agent × (ready + finishing + busy) − lines_in_flight

- ``lines_per_agent`` (lines per agent expected free, the wallboard's figure) is ``1 + (1/answer_rate − 1) × confidence ×
  ease``, at most ``max_lines_per_agent``: one line per agent is progressive; 1/answer_rate
  lines yield one person on average.
- ``confidence`` ramps from 0 to 1 over the first ``FULL_CONFIDENCE_DIALS`` dials of the
  window: a campaign with no history starts at one line per agent and opens up as its answer
  rate becomes known, rather than trusting a rate from 10 dials.
- ``ease`` is 1 while abandonment is comfortably low and falls linearly to 0 (one line per
  agent) as the worse of the 30-day rate and today's rate climbs from
  ``ABANDONMENT_SLOW_DOWN`` (2.5 %) to ``ABANDONMENT_CAP`` (3 %): ``throttled``.
- Busy agents count by the chance they hang up before a call placed now is answered (``ring
  ÷ handle``: a call lasting ``handle`` seconds on average ends within the next ``ring``
  seconds with about that chance). Agents in wrap-up count half: most are free within
  seconds, some take longer.
- The safety margin: agents freeing up and people answering both arrive at random (about
  Poisson), so the shortfall that keeps "a person, and no agent within 2 s" rare grows like
  the square root of their number. Every idle agent costs occupancy, every excess person is
  an abandoned call. The margin is why predictive gains little over progressive below about
  ten agents: pooling is what it lives on (the progressive floor keeps a small team dialing).
- A ringing line's chance of still reaching a person falls with its age: answers come within
  about twice the mean ``ring``, so a line that has rung longer is almost surely a no-answer
  and holds no agent back. Answered lines (detection pending, or a person waiting for an
  agent) count as people, machines included, since detection has not told them apart yet.

**The cap.** At or over ``ABANDONMENT_CAP`` over 30 days, predictive *stops*: the campaign dials
progressive (``stop=True``) until the 30-day rate falls, which is when the gate
(``compliance.services.gate``: status ``stop`` from ``campaign_abandonment_rate``) would deny
its autodialed calls anyway. **The daily guard**: at or over the cap today, once
``DAILY_GUARD_MIN_LIVE`` people have answered today, the campaign dials progressive until
today's rate falls back under the cap (``throttled=True``, ``stop=False``): one bad morning
must not spend the 30 days' margin. Both act on rates at or over the cap, with no minimum
sample for the 30 days, exactly as the gate does.

Inputs the dialer counts (all for this campaign, now):

- ``agents_ready``: agents available to this campaign and idle (for a blended agent: only
  while none of their clients has an inbound caller waiting).
- ``agents_finishing``: agents in wrap-up after a call of this campaign; they are expected free
  within the next few seconds and have no caller on the line.
- ``agents_busy``: agents on a call of this campaign (talking, on hold), not in wrap-up.
- ``lines_in_flight``: calls placed and not yet connected to an agent nor ended — ringing,
  answered with detection pending, or a person waiting the 2 seconds for an agent. A machine
  getting its voicemail drop needs no agent and is not in flight. Of these,
  ``lines_answered`` are answered (detection pending, or a person waiting), and
  ``ringing_seconds`` gives each ringing line's age (seconds since it was placed); lines
  without an age count as just placed, the most cautious reading.
- ``answer_rate``: person answers ÷ dials over the last ``ANSWER_WINDOW_DIALS`` dials whose
  outcome is known (``recent_dials`` of them); ``None`` when there are none. Machines are not
  person answers.
- ``avg_ring_seconds``: mean seconds from placing a call to a person on the line (answered
  and detected as a person, where the 2-second clock starts), over the window's
  person-answered calls; ``DEFAULT_RING_SECONDS`` until there is one. ``avg_handle_seconds``: mean seconds from an agent's connect to the same
  agent's being ready again (talk + wrap-up), over recent connected calls.
- ``abandoned_*`` / ``live_*``: abandoned calls and person-answered calls (connected or
  abandoned), today and over ``ABANDONMENT_DAYS`` days, as ``campaign_abandonment_rate``
  counts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Mirrors compliance.rules (ABANDONMENT_CAP, ABANDONMENT_SLOW_DOWN, ABANDONMENT_DAYS), which
# imports Django: this module stays standard-library only. tests/campaigns/test_pacing.py
# asserts that the two agree.
ABANDONMENT_CAP = 0.03  # TSR 310.4(b)(4)(i); 47 CFR 64.1200(a)(7)(i)
ABANDONMENT_SLOW_DOWN = 0.025
ABANDONMENT_DAYS = 30

MODES = ("preview", "progressive", "predictive")

# The window the dialer measures the answer rate over; a few minutes of a 20-agent campaign.
ANSWER_WINDOW_DIALS = 200
# Until this many dials are known the measured rate is only partly trusted (see the ramp).
FULL_CONFIDENCE_DIALS = 100
# The daily guard acts once this many people answered today: 1 abandoned of 20 is 5 %, noise.
DAILY_GUARD_MIN_LIVE = 50
# Standard deviations of margin (see the rule), tuned with tests/bench/bench_dialer_day.py
# (20 agents): 1.5 gives ~86 % occupancy, ~0.8 % abandoned, ~2 % in the worst hour; 1.45
# ~87 % but 3 % in a worst hour; 1.65 ~84 % occupancy. Lower it and abandonment climbs fast.
SAFETY = 1.5
FINISHING_WEIGHT = 0.5
# Until the window has answered calls: a typical answer after 3 rings (a US ring cycle is 6 s).
DEFAULT_RING_SECONDS = 15.0


@dataclass(frozen=True)
class PacingInput:
    mode: str
    agents_ready: int
    agents_finishing: int = 0
    agents_busy: int = 0
    lines_in_flight: int = 0
    lines_answered: int = 0  # of lines_in_flight: answered, not yet connected nor ended
    ringing_seconds: tuple[float, ...] = ()  # of lines_in_flight: each ringing line's age
    answer_rate: float | None = None
    recent_dials: int = 0
    avg_ring_seconds: float | None = None
    avg_handle_seconds: float | None = None
    abandoned_today: int = 0
    live_today: int = 0
    abandoned_30d: int = 0
    live_30d: int = 0
    max_lines_per_agent: float = 3.0
    max_abandon_rate: float = ABANDONMENT_CAP
    slow_down_rate: float = ABANDONMENT_SLOW_DOWN
    daily_guard_min_live: int = DAILY_GUARD_MIN_LIVE


@dataclass(frozen=True)
class Pacing:
    calls_now: int
    lines_per_agent: float
    mode: str  # the mode dialed: predictive falls to progressive at the cap
    reason: str  # one sentence for the wallboard
    throttled: bool = False  # abandonment reduced the lines (or forced progressive)
    stop: bool = False  # predictive stopped: the 30-day rate is at or over the cap


def _rate(abandoned: int, live: int) -> float:
    return abandoned / live if live > 0 else 0.0


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%".replace(".0%", "%")


def _progressive(p: PacingInput, reason: str, *, throttled: bool = False, stop: bool = False) -> Pacing:
    return Pacing(calls_now=max(0, p.agents_ready - max(0, p.lines_in_flight)), lines_per_agent=1.0,
                  mode="progressive", reason=reason, throttled=throttled, stop=stop)


def _still_person(age: float, ring: float, person_per_line: float) -> float:
    """The chance a line still ringing after ``age`` seconds reaches a person: answers come
    in about ``2 × ring`` seconds (the mean ``ring``), so the share of them still to come falls
    linearly to none; lines ringing longer are mostly the ones nobody answers."""
    left = max(0.0, 1.0 - max(0.0, age) / (2.0 * ring)) if ring > 0 else 1.0
    ringing_share = 1.0 - person_per_line * (1.0 - left)  # of lines placed: still ringing now
    # One person per line (progressive's assumption): every line still ringing is one.
    return person_per_line * left / ringing_share if ringing_share > 1e-9 else 1.0


def pace(p: PacingInput) -> Pacing:
    """The calls to place now and why. Never negative; never more lines in flight than
    ``max_lines_per_agent`` × the campaign's agents (ready + finishing + busy)."""
    if p.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {p.mode!r}")
    if p.mode == "preview":
        return Pacing(calls_now=0, lines_per_agent=0.0, mode="preview",
                      reason="Preview: each agent sees the contact, then dials or skips it.")
    if p.mode == "progressive":
        return _progressive(p, "Progressive: one line per available agent.")

    cap = p.max_abandon_rate
    rate_30d = _rate(p.abandoned_30d, p.live_30d)
    rate_today = _rate(p.abandoned_today, p.live_today)
    if rate_30d >= cap:
        # Where the gate stops autodialed calls too (status "stop"): say so rather than dial
        # lines it would refuse.
        return _progressive(p, f"Abandonment {_pct(rate_30d)} over {ABANDONMENT_DAYS} days, at or above "
                               f"{_pct(cap)}: dialing progressive.", throttled=True, stop=True)
    guard_ready = p.live_today >= p.daily_guard_min_live
    if guard_ready and rate_today >= cap:
        return _progressive(p, f"Abandonment {_pct(rate_today)} today, at or above {_pct(cap)}: dialing "
                               "progressive until it falls.", throttled=True)

    # The worse of the two rates sets the pace; today's only once it rests on enough calls.
    worst, worst_label = rate_30d, f"over {ABANDONMENT_DAYS} days"
    if guard_ready and rate_today > worst:
        worst, worst_label = rate_today, "today"
    # A caller's own cap below the slow-down rate keeps the same proportion (2.5 of 3).
    slow = p.slow_down_rate if p.slow_down_rate < cap else cap * ABANDONMENT_SLOW_DOWN / ABANDONMENT_CAP
    ease = max(0.0, min(1.0, (cap - worst) / (cap - slow)))
    throttled = ease < 1.0

    answer_rate = p.answer_rate if p.answer_rate is not None and p.recent_dials > 0 else None
    max_lines = max(1.0, float(p.max_lines_per_agent))
    if answer_rate is None:
        full, confidence = 1.0, 0.0
    else:
        # A rate of 0 (nobody answered 200 dials): treat as one person in 100 lines; the cap binds.
        full = 1.0 / max(answer_rate, 0.01)
        confidence = min(1.0, p.recent_dials / FULL_CONFIDENCE_DIALS)
    # Lines per person expected: the measured 1/answer_rate once trusted and while abandonment
    # is low, sliding to 1 (progressive) without trust or near the cap. The campaign's cap
    # limits the lines placed, not the estimate: a capped ratio must not make each ringing
    # line look likelier to reach a person than it is.
    ratio = 1.0 + (full - 1.0) * confidence * ease
    person_per_line = 1.0 / ratio
    lines_per_agent = min(max_lines, ratio)

    # Agents free when a call placed now is answered: the ready ones, most of those in
    # wrap-up, and the busy ones that will have hung up by then.
    ring = p.avg_ring_seconds if p.avg_ring_seconds is not None else DEFAULT_RING_SECONDS
    agents = max(0, p.agents_ready) + FINISHING_WEIGHT * max(0, p.agents_finishing)
    if p.agents_busy > 0 and p.avg_handle_seconds:
        agents += p.agents_busy * min(1.0, max(0.0, ring) / p.avg_handle_seconds)
    # People those agents are already promised to: every answered line (a machine is not
    # known yet: count it as a person), and each ringing line by its chance of still
    # reaching one. A line that has rung well past the usual answer will not; counting it
    # as a whole line would leave agents idle until it times out.
    # Lines whose age the dialer did not give count as just placed (the most people), and
    # extra ages beyond the lines in flight are ignored, youngest kept: both err towards fewer calls.
    in_flight = max(0, p.lines_in_flight)
    answered = min(max(0, p.lines_answered), in_flight)
    ringing = sorted(p.ringing_seconds)[: in_flight - answered]
    unknown_age = in_flight - answered - len(ringing)
    expected = answered + unknown_age * person_per_line
    expected += sum(_still_person(age, ring, person_per_line) for age in ringing)

    # Aim a little short of the agents expected free: both they and the people who answer
    # arrive at random (about Poisson), so the shortfall that keeps abandonment rare grows
    # like the square root of their number, not in proportion to it.
    target = max(0.0, agents - SAFETY * math.sqrt(agents))
    lines = math.floor((target - expected) * lines_per_agent + 1e-9)
    # Never fewer than progressive's one line per ready agent (each person it reaches has an
    # agent waiting, so it adds no abandonment), never more than max_lines_per_agent for
    # every agent on the campaign.
    progressive = max(0, p.agents_ready) - in_flight
    room = math.floor(max_lines * (max(0, p.agents_ready) + max(0, p.agents_finishing) + max(0, p.agents_busy))
                      + 1e-9) - in_flight
    calls_now = max(0, min(max(lines, progressive), room))

    if answer_rate is None:
        reason = f"No answer rate yet: {lines_per_agent:.1f} lines per agent."
    elif confidence < 1.0:
        reason = (f"Answer rate {_pct(answer_rate)} over only {p.recent_dials} dial{'s' if p.recent_dials > 1 else ''}: "
                  f"{lines_per_agent:.1f} lines per agent.")
    else:
        reason = (f"Answer rate {_pct(answer_rate)} over the last {p.recent_dials} dials: "
                  f"{lines_per_agent:.1f} lines per agent.")
    if throttled:
        reason += f" Slowed: abandonment {_pct(worst)} {worst_label}, near the {_pct(cap)} cap."
    return Pacing(calls_now=calls_now, lines_per_agent=min(round(lines_per_agent, 2), max_lines), mode="predictive",
                  reason=reason, throttled=throttled)
