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


def _accept(_: Any) -> None:
    """Runs in a fresh worker so that unpickling the objective happens before any timeout."""


class Pending:
    """An evaluation under way: ``result()`` waits for it (advancing a simulated clock), at most
    until the lane's ``timeout_s`` after submission; ``end`` is when it finished, on the
    scheduler's clock."""

    def __init__(
        self,
        future: cf.Future[tuple[Outcome, float]] | None = None,
        outcome: Outcome | None = None,
        end: float = 0.0,
        clock: SimClock | None = None,
        lane: ThreadLane | None = None,
    ) -> None:
        self._future, self._outcome, self.end, self._clock = future, outcome, end, clock
        self._lane = lane
        self._deadline = (
            None if lane is None or lane.timeout_s is None else time.perf_counter() + lane.timeout_s
        )

    def result(self) -> Outcome:
        if self._future is None:
            assert self._clock is not None and self._outcome is not None
            self._clock.advance_to(self.end)
            return self._outcome
        assert self._lane is not None
        wait = None if self._deadline is None else max(self._deadline - time.perf_counter(), 0.0)
        try:
            outcome, self.end = self._future.result(timeout=wait)
            return outcome
        except cf.TimeoutError:
            self.end = time.perf_counter()
            self._lane.abandon()
            return Outcome(None, error=f"timed out after {self._lane.timeout_s:g} s (trial_timeout_s)")
        except Exception as e:  # the worker died or the objective could not be sent to it
            self.end = time.perf_counter()
            self._lane.abandon()
            return Outcome(None, error=f"evaluation worker failed: {type(e).__name__}: {e}")


class ThreadLane:
    """Runs the objective in one worker thread (the default: works with any callable).

    On a per-trial timeout the hung thread cannot be killed: it is abandoned (it keeps running
    in the background until the objective returns) and a fresh worker takes the next trial."""

    kind = "thread"

    def __init__(self, timeout_s: float | None = None) -> None:
        self.timeout_s = timeout_s
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.Executor:
        return cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="asap-eval")

    def submit(self, objective: Objective, config: dict[str, Any], number: int) -> Pending:
        return Pending(self._pool.submit(_timed_evaluate, objective, config), lane=self)

    def abandon(self) -> None:
        """Give up on the running evaluation and start a fresh worker."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class ProcessLane(ThreadLane):
    """Runs the objective in one worker process (the objective must be picklable); on a
    per-trial timeout the worker process is killed."""

    kind = "process"

    def _new_pool(self) -> cf.Executor:
        import multiprocessing as mp

        self._warm: Any = None
        return cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))

    def submit(self, objective: Objective, config: dict[str, Any], number: int) -> Pending:
        if self._warm is not objective:  # start the worker and unpickle the objective (imports)
            try:  # before the trial's clock starts: the timeout is for the evaluation itself
                self._pool.submit(_accept, objective).result()
                self._warm = objective
            except Exception:
                pass
        return super().submit(objective, config, number)

    def abandon(self) -> None:
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            proc.kill()
        super().abandon()


class SimLane:
    """Evaluates at once and charges ``duration`` (seconds, or ``fn(config, number)``)."""

    kind = "simulated"

    def __init__(self, clock: SimClock, duration: Duration, timeout_s: float | None = None) -> None:
        self.clock, self.duration, self.timeout_s = clock, duration, timeout_s

    def submit(self, objective: Objective, config: dict[str, Any], number: int) -> Pending:
        outcome = evaluate(objective, config)
        d = self.duration(config, number) if callable(self.duration) else float(self.duration)
        if self.timeout_s is not None and d > self.timeout_s:
            d, outcome = (
                self.timeout_s,
                Outcome(None, error=f"timed out after {self.timeout_s:g} s (trial_timeout_s)"),
            )
        return Pending(outcome=outcome, end=self.clock.now() + d, clock=self.clock)

    def close(self) -> None:
        pass
