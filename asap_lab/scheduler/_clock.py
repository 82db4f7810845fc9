"""Clocks and evaluation lanes: real workers, or a discrete-event simulation of the same code.

The speculative and parallel schedulers read time only from their clock and start evaluations
only through their lane, an executor (:class:`asap_lab.executors.BaseExecutor`). With
:class:`RealClock` and a thread, process or Ray executor the objective runs in workers while the
scheduler thread does decision work. With
:class:`SimClock` and :class:`SimLane` the objective returns at once but is charged a given
duration, and every decision step is charged a given latency, so waiting for an evaluation
advances virtual time to ``max(now, start + duration)`` — exactly the overlap of the real
schedule — and a 500-round study runs deterministically in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from asap_lab._objective import Objective, Outcome, evaluate
from asap_lab.executors import BaseExecutor, Pending, ProcessExecutor, ThreadExecutor

__all__ = ["HybridClock", "Pending", "ProcessLane", "RealClock", "SimClock", "SimLane", "ThreadLane"]

Duration = float | Callable[[dict[str, Any], int], float]


class RealClock:
    """Wall-clock time; work blocks are measured, not charged."""

    simulated = False

    def now(self) -> float:
        return time.perf_counter()

    @contextmanager
    def work(self, kind: str):
        yield


class SimClock:
    """Virtual time; ``work(kind)`` charges ``latency[kind]`` seconds (0 if not given)."""

    simulated = True

    def __init__(self, latency: dict[str, float] | None = None) -> None:
        self.t = 0.0
        self.latency = dict(latency or {})

    def now(self) -> float:
        return self.t

    def advance_to(self, t: float) -> None:
        self.t = max(self.t, t)

    @contextmanager
    def work(self, kind: str):
        yield
        self.t += float(self.latency.get(kind, 0.0))


class ThreadLane(ThreadExecutor):
    """One worker thread: :class:`~asap_lab.executors.ThreadExecutor` with one slot."""

    def __init__(self, timeout_s: float | None = None) -> None:
        super().__init__(1, timeout_s=timeout_s)


class ProcessLane(ProcessExecutor):
    """One worker process: :class:`~asap_lab.executors.ProcessExecutor` with one slot."""

    def __init__(self, timeout_s: float | None = None) -> None:
        super().__init__(1, timeout_s=timeout_s)


class HybridClock(SimClock):
    """Measured decisions, simulated evaluations (``simulate={..., "decisions": "measured"}``).

    ``now()`` is the real time elapsed on the scheduler thread plus the simulated waits for
    evaluations (waiting for a result jumps to ``max(now, end)``), plus ``latency[kind]`` per work
    block if given (0 by default). So LLM calls, tool ask/tell and surrogate fits cost what they
    really cost here, while each evaluation is charged its given duration: the setting where
    evaluations run on other hardware (a GPU, another node) than the decisions.
    """

    def __init__(self, latency: dict[str, float] | None = None) -> None:
        super().__init__(latency)
        self._t0 = time.perf_counter()
        self._extra = 0.0

    def now(self) -> float:
        return time.perf_counter() - self._t0 + self._extra

    def advance_to(self, t: float) -> None:
        self._extra += max(t - self.now(), 0.0)

    @contextmanager
    def work(self, kind: str):
        yield
        self._extra += float(self.latency.get(kind, 0.0))


class SimLane(BaseExecutor):
    """Evaluates at once and charges ``duration`` (seconds, or ``fn(config, number)``) on the
    simulated clock; ``n_slots`` evaluations may be in flight (the parallel loop)."""

    kind = "simulated"

    def __init__(self, clock: SimClock, duration: Duration, timeout_s: float | None = None,
                 n_slots: int = 1) -> None:
        super().__init__(n_slots, timeout_s=timeout_s)
        self.clock, self.duration = clock, duration

    def _launch(self, objective: Objective, config: dict[str, Any], number: int, slot: int) -> Pending:
        outcome = evaluate(objective, config)
        d = self.duration(config, number) if callable(self.duration) else float(self.duration)
        if self.timeout_s is not None and d > self.timeout_s:
            d, outcome = (
                self.timeout_s,
                Outcome(None, error=f"timed out after {self.timeout_s:g} s (trial_timeout_s)"),
            )
        return Pending(self, slot, outcome=outcome, end=self.clock.now() + d, clock=self.clock,
                       worker=f"sim-{slot}")
