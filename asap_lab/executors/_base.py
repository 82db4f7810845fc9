"""The executor interface: where evaluations run, ``n_slots`` at a time.

An executor takes ``submit(objective, config, number)`` and returns a :class:`Pending` at once;
the scheduler does decision work meanwhile and collects ``Pending.result()``, an
:class:`~asap_lab._objective.Outcome` that never raises: an objective error, a timeout
(``timeout_s``) or a lost worker all come back as a failed outcome with the reason. Every
executor passes the shared suite :func:`asap_lab.testing.executors.run_conformance`.
"""

from __future__ import annotations

import abc
import concurrent.futures as cf
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from asap_lab._objective import Objective, Outcome, evaluate

__all__ = ["BaseExecutor", "Pending", "wait_first", "worker_id"]


def worker_id() -> str:
    """``host:pid`` of the calling process (``host:pid:thread`` off the main thread)."""
    base = f"{socket.gethostname()}:{os.getpid()}"
    th = threading.current_thread()
    return base if th is threading.main_thread() else f"{base}:{th.name}"


def timed_evaluate(objective: Objective, config: dict[str, Any]) -> tuple[Outcome, float, str]:
    """Evaluate in a worker: the outcome, when it ended (``perf_counter``) and who ran it."""
    out = evaluate(objective, config)
    return out, time.perf_counter(), worker_id()


class Pending:
    """An evaluation under way in slot ``slot`` of ``executor``.

    ``result()`` waits for it (advancing a simulated clock), at most until ``timeout_s`` after
    submission; ``done()`` says whether it finished; after ``result()``, ``end`` is when it
    finished on the scheduler's clock and ``worker`` who ran it.
    """

    def __init__(
        self,
        executor: BaseExecutor,
        slot: int,
        future: cf.Future[tuple[Outcome, float, str]] | None = None,
        *,
        outcome: Outcome | None = None,
        end: float = 0.0,
        clock: Any = None,
        worker: str | None = None,
    ) -> None:
        self.executor, self.slot = executor, slot
        self._future, self._outcome, self.end, self._clock = future, outcome, end, clock
        self.worker = worker
        self._settled = False
        t = executor.timeout_s
        self.deadline = None if future is None or t is None else time.perf_counter() + t

    @property
    def simulated(self) -> bool:
        return self._future is None

    def done(self) -> bool:
        if self._settled:
            return True
        if self._future is None:
            return self._clock is None or self._clock.now() >= self.end
        return self._future.done()

    def result(self) -> Outcome:
        if self._outcome is not None and (self._settled or self._future is None):
            if self._clock is not None:
                self._clock.advance_to(self.end)
            self._settled = True
            return self._outcome
        assert self._future is not None
        wait = None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.0)
        try:
            self._outcome, self.end, self.worker = self._future.result(timeout=wait)
        except cf.TimeoutError:
            self.end = time.perf_counter()
            self.executor._abandon(self.slot)
            self._outcome = Outcome(None, error=f"timed out after {self.executor.timeout_s:g} s "
                                                "(trial_timeout_s)")
        except Exception as e:  # the worker died or the objective could not be sent to it
            self.end = time.perf_counter()
            self.executor._abandon(self.slot)
            self._outcome = Outcome(None, error=self.executor._failure(e))
        self._settled = True
        return self._outcome


class BaseExecutor(abc.ABC):
    """Runs evaluations, up to ``n_slots`` at a time.

    Subclasses implement :meth:`_launch` (start one evaluation in a given free slot and return
    its :class:`Pending`) and may override :meth:`_abandon` (give up on a slot: kill or replace
    its worker), :meth:`_failure` (the reason recorded when the worker raised) and :meth:`close`.
    A slot is free again once its result was taken (``Pending.result()``); submitting while
    every slot is busy raises ``RuntimeError``: the scheduler keeps at most ``n_slots``
    evaluations in flight. An executor can be used again after :meth:`close`.
    """

    kind: ClassVar[str] = "base"

    def __init__(self, n_workers: int = 1, *, timeout_s: float | None = None) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
        self.timeout_s = timeout_s
        self._slots: list[Pending | None] = [None] * n_workers

    @property
    def n_slots(self) -> int:
        """How many evaluations can run at once."""
        return len(self._slots)

    def submit(self, objective: Objective, config: dict[str, Any], number: int) -> Pending:
        """Start evaluating ``config`` (trial or round ``number``) in a free slot."""
        for slot, p in enumerate(self._slots):
            if p is None or p._settled:
                pending = self._launch(objective, dict(config), number, slot)
                self._slots[slot] = pending
                return pending
        raise RuntimeError(f"all {self.n_slots} slots of the {self.kind} executor are busy")

    @abc.abstractmethod
    def _launch(self, objective: Objective, config: dict[str, Any], number: int, slot: int) -> Pending:
        """Start the evaluation in ``slot`` (free) and return its handle."""

    def _abandon(self, slot: int) -> None:
        """Give up on the evaluation in ``slot`` (timed out or its worker failed)."""
        return None

    def _failure(self, exc: BaseException) -> str:
        return f"evaluation worker failed: {type(exc).__name__}: {exc}"

    def close(self) -> None:
        """Release the workers (waits for evaluations still running)."""
        return None

    def __enter__(self) -> BaseExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_workers={self.n_slots}, timeout_s={self.timeout_s!r})"


def wait_first(pendings: Sequence[Pending]) -> Pending:
    """The first of ``pendings`` to finish, or to pass its deadline (ties: the earliest in the list).

    Simulated pendings finish in order of their ``end``; waiting for one advances the clock
    when its ``result()`` is taken.
    """
    if not pendings:
        raise ValueError("nothing to wait for")
    if all(p.simulated for p in pendings):
        return min(pendings, key=lambda p: p.end)
    while True:
        done = [p for p in pendings if p.done()]
        if done:
            return done[0]
        deadlines = [p for p in pendings if p.deadline is not None]
        timeout = None
        if deadlines:
            first = min(deadlines, key=lambda p: p.deadline or 0.0)
            timeout = (first.deadline or 0.0) - time.perf_counter()
            if timeout <= 0:
                return first
        futures = [p._future for p in pendings if p._future is not None]
        cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
