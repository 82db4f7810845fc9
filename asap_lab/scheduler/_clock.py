"""Clocks and evaluation lanes: real threads, or a discrete-event simulation of the same code.

The speculative scheduler reads time only from its clock and starts evaluations only through
its lane. With :class:`RealClock` and :class:`ThreadLane` (or :class:`ProcessLane`) the
objective runs in a worker while the scheduler thread does decision work. With
:class:`SimClock` and :class:`SimLane` the objective returns at once but is charged a given
duration, and every decision step is charged a given latency, so waiting for an evaluation
advances virtual time to ``max(now, start + duration)`` — exactly the overlap of the real
schedule — and a 500-round study runs deterministically in seconds.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from asap_lab._objective import Objective, Outcome, evaluate

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


def _timed_evaluate(objective: Objective, config: dict[str, Any]) -> tuple[Outcome, float]:
    out = evaluate(objective, config)
    return out, time.perf_counter()


class Pending:
    """An evaluation under way: ``result()`` waits for it (advancing a simulated clock);
    ``end`` is when it finished, on the scheduler's clock."""

    def __init__(
        self,
        future: cf.Future[tuple[Outcome, float]] | None = None,
        outcome: Outcome | None = None,
        end: float = 0.0,
        clock: SimClock | None = None,
    ) -> None:
        self._future, self._outcome, self.end, self._clock = future, outcome, end, clock

    def result(self) -> Outcome:
        if self._future is not None:
            outcome, self.end = self._future.result()
            return outcome
        assert self._clock is not None and self._outcome is not None
        self._clock.advance_to(self.end)
        return self._outcome


class ThreadLane:
    """Runs the objective in one worker thread (the default: works with any callable)."""

    kind = "thread"

    def __init__(self) -> None:
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="asap-eval")

    def submit(self, objective: Objective, config: dict[str, Any], number: int) -> Pending:
        return Pending(self._pool.submit(_timed_evaluate, objective, config))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class ProcessLane(ThreadLane):
    """Runs the objective in one worker process (the objective must be picklable)."""

    kind = "process"

    def __init__(self) -> None:
        import multiprocessing as mp

        self._pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))


class SimLane:
    """Evaluates at once and charges ``duration`` (seconds, or ``fn(config, number)``)."""

    kind = "simulated"

    def __init__(self, clock: SimClock, duration: Duration) -> None:
        self.clock, self.duration = clock, duration

    def submit(self, objective: Objective, config: dict[str, Any], number: int) -> Pending:
        outcome = evaluate(objective, config)
        d = self.duration(config, number) if callable(self.duration) else float(self.duration)
        return Pending(outcome=outcome, end=self.clock.now() + d, clock=self.clock)

    def close(self) -> None:
        pass
