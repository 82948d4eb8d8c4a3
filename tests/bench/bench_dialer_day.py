"""A simulated day of outbound dialing, in virtual time, with the dialer's own pacing code.

Run alone: `.venv/bin/python tests/bench/bench_dialer_day.py` (no database, no Redis, no
clock: a discrete-event simulation), or with the others by `make bench`. Each dialing mode
works the same day: 20 agents logged in for 8 hours, unlimited contacts, and every second of
virtual time the dialer's tick calls ``campaigns.pacing.pace`` with what it counts and places
the calls it answers (preview: the agents dial themselves). Target for predictive: agent
occupancy at least 85 %, with abandonment under 3 % over the day and in every hour, on every
seed. Exits 1 if predictive misses it.

The day (every figure below can be changed through BENCH_* variables):
- 25 % of dials are answered; 30 % of the answers are machines, so 17.5 % of dials reach a
  person and 7.5 % a machine. 5 % are busy or fail (after 2–6 s) and the other 70 % ring the
  campaign's 25 s and end unanswered.
- An answered call picks up 3–20 s after it is placed (triangular, mode 8 s). Answering-machine
  detection then takes 1.5–3.5 s to hear a person's greeting end (the 2-second clock starts
  there) or 3–5 s to recognise a machine, which gets the voicemail drop without an agent.
- A person finding no free agent within 2 s of the greeting ending is abandoned (hears the
  safe-harbour message). Connected calls go to the agent idle longest.
- Talk time: lognormal, mean 3 min, standard deviation 1 min; then 15 s of wrap-up.
- Preview: the agent reads the contact for 10 s, dials, and waits out the ringing; machines,
  no answers and busy lines return the agent to the next contact with no wrap-up.
- The campaign allows 6 lines per agent (its ``max_lines_per_agent``; at the default of 3
  predictive's occupancy comes out at about 85.0 %, on the target's edge:
  BENCH_MAX_LINES=3 shows it).
- Calls-per-second limits are not modelled (the dialer spreads its calls within each
  account's limit); nor breaks, nor inbound work for blended agents.

Occupancy = (talk + wrap-up seconds) ÷ logged-in seconds: time spent previewing, dialing,
listening to rings or waiting for a call is not occupied. Abandonment = abandoned ÷ calls a
person answered (connected or abandoned), over the day and in each clock hour of the day
(by the hour the person answered). The campaign is new: its 30-day counts are today's.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run alone: the repo on sys.path

from campaigns.pacing import ANSWER_WINDOW_DIALS, PacingInput, pace  # noqa: E402

AGENTS = int(os.getenv("BENCH_AGENTS", "20"))
HOURS = float(os.getenv("BENCH_HOURS", "8"))
SEEDS = [int(s) for s in os.getenv("BENCH_SEEDS", "1,2,3,4,5").split(",")]
ANSWER_RATE = float(os.getenv("BENCH_ANSWER_RATE", "0.25"))
MACHINE_SHARE = float(os.getenv("BENCH_MACHINE_SHARE", "0.30"))  # of answers
BUSY_RATE = 0.05
RING_SECONDS = 25.0
TALK_MEAN, TALK_SD = 180.0, 60.0
WRAP_SECONDS = 15.0
PREVIEW_SECONDS = 10.0
ABANDON_AFTER = 2.0  # seconds from the greeting's end
MAX_LINES_PER_AGENT = float(os.getenv("BENCH_MAX_LINES", "6"))
HANDLE_WINDOW = 50  # connected calls the average handle time is taken over

TARGET_OCCUPANCY = 0.85
TARGET_ABANDONMENT = 0.03
DAY = HOURS * 3600


@dataclass
class Agent:
    n: int
    state: str = "ready"  # ready, busy (talking), wrap, preview (reading / dialing / ringing)
    since: float = 0.0  # ready since (who waited longest), or occupied since
    occupied: float = 0.0


@dataclass(eq=False)
class Call:
    placed: float
    fate: str  # person, machine, no_answer, busy
    pickup: float = 0.0  # seconds after placing (answered fates)
    state: str = "ringing"  # ringing, answered, waiting, connected, ended
    agent: Agent | None = None  # preview: the agent who dialed it
    live_at: float = 0.0


@dataclass
class Result:
    occupied: float = 0.0
    dials: int = 0
    connected: int = 0
    abandoned: int = 0
    live_by_hour: list[int] = field(default_factory=list)
    abandoned_by_hour: list[int] = field(default_factory=list)
    lines_per_agent: list[float] = field(default_factory=list)  # predictive ticks
    fallback_ticks: int = 0  # ticks dialed progressive or slowed by abandonment

    @property
    def live(self) -> int:
        return self.connected + self.abandoned

    @property
    def abandonment(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def worst_hour(self) -> float:
        return max((a / n if n else 0.0) for a, n in zip(self.abandoned_by_hour, self.live_by_hour))


class Day:
    """One mode's day: an event heap in virtual seconds, the dialer ticking every second."""

    def __init__(self, mode: str, seed: int):
        self.mode = mode
        self.rng = random.Random(seed)
        self.now = 0.0
        self.events: list = []
        self.seq = itertools.count()
        self.agents = [Agent(n) for n in range(AGENTS)]
        self.waiting: deque[Call] = deque()  # people answered, waiting (≤ 2 s) for an agent
        self.in_flight = 0
        self.ringing: set[Call] = set()  # the dialer's lines not yet answered
        # The last dials whose outcome is known: seconds from dial to a person, or None (no
        # person: machine, no answer, busy); with running sums, as the dialer's query would give.
        self.window: deque[float | None] = deque()
        self.window_persons, self.window_ring = 0, 0.0
        self.handles: deque[float] = deque(maxlen=HANDLE_WINDOW)
        hours = math.ceil(HOURS)
        self.result = Result(live_by_hour=[0] * hours, abandoned_by_hour=[0] * hours)
        sigma2 = math.log(1 + (TALK_SD / TALK_MEAN) ** 2)
        self.talk_mu, self.talk_sigma = math.log(TALK_MEAN) - sigma2 / 2, math.sqrt(sigma2)

    def at(self, when: float, what, *args) -> None:
        heapq.heappush(self.events, (when, next(self.seq), what, args))

    def run(self) -> Result:
        if self.mode == "preview":
            for agent in self.agents:
                self.preview_next(agent)
        for second in range(int(DAY)):
            self.at(float(second), self.tick)
        while self.events and self.events[0][0] < DAY:
            self.now, _, what, args = heapq.heappop(self.events)
            what(*args)
        for agent in self.agents:  # calls still going at the end of the day: their part of it
            if agent.state in ("busy", "wrap"):
                agent.occupied += DAY - agent.since
        self.result.occupied = sum(a.occupied for a in self.agents)
        return self.result

    # The dialer's tick: count, pace, place.
    def tick(self) -> None:
        ready = [a for a in self.agents if a.state == "ready"]
        persons, dials = self.window_persons, len(self.window)
        r = self.result
        p = PacingInput(
            mode=self.mode, agents_ready=len(ready),
            agents_finishing=sum(1 for a in self.agents if a.state == "wrap"),
            agents_busy=sum(1 for a in self.agents if a.state == "busy"),
            lines_in_flight=self.in_flight, lines_answered=self.in_flight - len(self.ringing),
            ringing_seconds=tuple(self.now - c.placed for c in self.ringing),
            answer_rate=persons / dials if dials else None, recent_dials=dials,
            avg_ring_seconds=self.window_ring / persons if persons else None,
            avg_handle_seconds=sum(self.handles) / len(self.handles) if self.handles else None,
            abandoned_today=r.abandoned, live_today=r.live, abandoned_30d=r.abandoned, live_30d=r.live,
            max_lines_per_agent=MAX_LINES_PER_AGENT,
        )
        decision = pace(p)
        if self.mode == "predictive":
            r.lines_per_agent.append(decision.lines_per_agent)
            r.fallback_ticks += decision.throttled
        for _ in range(decision.calls_now):
            self.dial()

    def dial(self, agent: Agent | None = None) -> None:
        self.result.dials += 1
        draw = self.rng.random()
        if draw < ANSWER_RATE:
            fate = "machine" if self.rng.random() < MACHINE_SHARE else "person"
        else:
            fate = "busy" if draw < ANSWER_RATE + BUSY_RATE else "no_answer"
        call = Call(placed=self.now, fate=fate, agent=agent)
        if agent is None:
            self.in_flight += 1
            self.ringing.add(call)
        if fate in ("person", "machine"):
            call.pickup = self.rng.triangular(3.0, 20.0, 8.0)
            self.at(self.now + call.pickup, self.picked_up, call)
        elif fate == "busy":
            self.at(self.now + self.rng.uniform(2.0, 6.0), self.unanswered, call)
        else:
            self.at(self.now + RING_SECONDS, self.unanswered, call)

    def resolve(self, call: Call, person: bool) -> None:
        ring = self.now - call.placed if person else None
        self.window.append(ring)
        if ring is not None:
            self.window_persons, self.window_ring = self.window_persons + 1, self.window_ring + ring
        if len(self.window) > ANSWER_WINDOW_DIALS:
            old = self.window.popleft()
            if old is not None:
                self.window_persons, self.window_ring = self.window_persons - 1, self.window_ring - old
        # A person stays in flight until an agent takes them or they are abandoned.
        if call.agent is None and not person:
            self.in_flight -= 1

    def picked_up(self, call: Call) -> None:
        call.state = "answered"
        self.ringing.discard(call)
        if call.fate == "machine":
            self.at(self.now + self.rng.uniform(3.0, 5.0), self.machine_detected, call)
        else:
            self.at(self.now + self.rng.uniform(1.5, 3.5), self.person_detected, call)

    def unanswered(self, call: Call) -> None:
        self.ringing.discard(call)
        self.resolve(call, False)
        call.state = "ended"
        if call.agent is not None:
            self.preview_next(call.agent)

    def machine_detected(self, call: Call) -> None:
        self.resolve(call, False)  # the drop plays on its own: no agent, not in flight
        call.state = "ended"
        if call.agent is not None:
            self.preview_next(call.agent)

    def person_detected(self, call: Call) -> None:
        self.resolve(call, True)
        call.live_at = self.now
        self.result.live_by_hour[min(int(self.now // 3600), len(self.result.live_by_hour) - 1)] += 1
        if call.agent is not None:  # preview: the agent who dialed is on the line
            self.connect(call, call.agent)
            return
        ready = [a for a in self.agents if a.state == "ready"]
        if ready:
            self.connect(call, min(ready, key=lambda a: a.since))
        else:
            call.state = "waiting"
            self.waiting.append(call)
            self.at(self.now + ABANDON_AFTER, self.give_up, call)

    def give_up(self, call: Call) -> None:
        if call.state == "waiting":
            self.waiting.remove(call)
            call.state = "ended"
            self.in_flight -= 1
            self.result.abandoned += 1
            self.result.abandoned_by_hour[min(int(call.live_at // 3600), len(self.result.abandoned_by_hour) - 1)] += 1

    def connect(self, call: Call, agent: Agent) -> None:
        if call.agent is None:
            self.in_flight -= 1
        call.state, call.agent = "connected", agent
        agent.state, agent.since = "busy", self.now
        self.result.connected += 1
        talk = max(30.0, self.rng.lognormvariate(self.talk_mu, self.talk_sigma))
        self.at(self.now + talk, self.hang_up, agent)

    def hang_up(self, agent: Agent) -> None:
        agent.state = "wrap"
        self.at(self.now + WRAP_SECONDS, self.wrapped, agent)

    def wrapped(self, agent: Agent) -> None:
        agent.occupied += self.now - agent.since
        self.handles.append(self.now - agent.since)
        agent.state, agent.since = "ready", self.now
        if self.mode == "preview":
            self.preview_next(agent)
        elif self.waiting:  # a person answered in the last 2 s: this agent takes them
            self.connect(self.waiting.popleft(), agent)

    def preview_next(self, agent: Agent) -> None:
        agent.state = "preview"
        self.at(self.now + PREVIEW_SECONDS, self.dial, agent)


def main() -> int:
    started = time.perf_counter()
    modes = ("preview", "progressive", "predictive")
    results = {mode: [Day(mode, seed).run() for seed in SEEDS] for mode in modes}
    agent_hours = AGENTS * HOURS

    print(f"A simulated day: {AGENTS} agents, {HOURS:g} h, {ANSWER_RATE:.0%} of dials answered "
          f"({MACHINE_SHARE:.0%} of answers machines: {ANSWER_RATE * (1 - MACHINE_SHARE):.1%} reach a person), "
          f"talk {TALK_MEAN / 60:g} ± {TALK_SD / 60:g} min + {WRAP_SECONDS:g} s wrap-up, "
          f"max {MAX_LINES_PER_AGENT:g} lines per agent; seeds {','.join(map(str, SEEDS))} "
          "(mean, and the worst seed in brackets)")
    header = (f"{'mode':<12} {'occupancy':>16} {'abandoned (day)':>17} {'worst hour':>14} {'dials':>7} "
              f"{'connects/agent-h':>17} {'lines/agent':>12}")
    print(header)
    print("-" * len(header))
    for mode in modes:
        rs = results[mode]
        occupancy = [r.occupied / (AGENTS * DAY) for r in rs]
        day = [r.abandonment for r in rs]
        worst = [r.worst_hour for r in rs]
        lines = [x for r in rs for x in r.lines_per_agent]
        print(f"{mode:<12} {_mean(occupancy):>7.1%} [{min(occupancy):>6.1%}] {_mean(day):>7.2%} [{max(day):>6.2%}] "
              f"{_mean(worst):>5.2%} [{max(worst):>5.2%}] {_mean([r.dials for r in rs]):>7.0f} "
              f"{_mean([r.connected / agent_hours for r in rs]):>17.2f} "
              f"{(f'{_mean(lines):.2f}' if lines else '1.00' if mode == 'progressive' else '-'):>12}")
    predictive = results["predictive"]
    throttled = _mean([r.fallback_ticks / DAY for r in predictive])
    print(f"predictive ticks slowed or progressive for abandonment: {throttled:.1%}")
    occupancy = min(r.occupied / (AGENTS * DAY) for r in predictive)
    day = max(r.abandonment for r in predictive)
    worst = max(r.worst_hour for r in predictive)
    met = occupancy >= TARGET_OCCUPANCY and day < TARGET_ABANDONMENT and worst < TARGET_ABANDONMENT
    print(f"target predictive occupancy >= {TARGET_OCCUPANCY:.0%} (worst seed {occupancy:.1%}), abandonment "
          f"< {TARGET_ABANDONMENT:.0%} over the day ({day:.2%}) and in every hour ({worst:.2%}): "
          f"{'met' if met else 'MISSED — FAIL'}")
    print(f"({time.perf_counter() - started:.1f} s of real time)", file=sys.stderr)
    return 0 if met else 1


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    sys.exit(main())
