"""Local executors: ``n_workers`` worker threads, or ``n_workers`` worker processes."""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

from asap_lab._objective import Objective
from asap_lab.executors._base import BaseExecutor, Pending, timed_evaluate


def _accept(_: Any) -> None:
    """Runs in a fresh worker so that unpickling the objective happens before any timeout."""


class ThreadExecutor(BaseExecutor):
    """Each slot is one worker thread (the default: works with any callable).

    On a per-trial timeout the hung thread cannot be killed: it is abandoned (it keeps running
    in the background until the objective returns) and a fresh thread takes the slot. Threads
    share the GIL: parallel speed-up needs an objective that releases it (NumPy, scikit-learn
    fits, I/O); otherwise use processes or Ray.
    """

    kind = "thread"

    def __init__(self, n_workers: int = 1, *, timeout_s: float | None = None) -> None:
        super().__init__(n_workers, timeout_s=timeout_s)
        self._pools: list[cf.Executor | None] = [None] * n_workers

    def _new_pool(self, slot: int) -> cf.Executor:
        return cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"asap-eval-{slot}")

    def _pool(self, slot: int) -> cf.Executor:
        pool = self._pools[slot]
        if pool is None:
            pool = self._pools[slot] = self._new_pool(slot)
        return pool

    def _launch(self, objective: Objective, config: dict[str, Any], number: int, slot: int) -> Pending:
        return Pending(self, slot, self._pool(slot).submit(timed_evaluate, objective, config))

    def _abandon(self, slot: int) -> None:
        pool = self._pools[slot]
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools[slot] = None

    def close(self) -> None:
        for slot, pool in enumerate(self._pools):
            if pool is not None:
                pool.shutdown(wait=True)
            self._pools[slot] = None


class ProcessExecutor(ThreadExecutor):
    """Each slot is one worker process (spawned; the objective must be picklable); on a
    per-trial timeout the slot's process is killed and a fresh one takes the slot."""

    kind = "process"

    def __init__(self, n_workers: int = 1, *, timeout_s: float | None = None) -> None:
        super().__init__(n_workers, timeout_s=timeout_s)
        self._warm: list[Any] = [None] * n_workers

    def _new_pool(self, slot: int) -> cf.Executor:
        import multiprocessing as mp

        self._warm[slot] = None
        return cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))

    def _launch(self, objective: Objective, config: dict[str, Any], number: int, slot: int) -> Pending:
        pool = self._pool(slot)
        if self._warm[slot] is not objective:  # start the worker and unpickle the objective
            try:  # (imports) before the trial's clock starts: the timeout is for the evaluation
                pool.submit(_accept, objective).result()
                self._warm[slot] = objective
            except Exception:
                pass  # the evaluation itself will fail with the reason
        return super()._launch(objective, config, number, slot)

    def _abandon(self, slot: int) -> None:
        pool = self._pools[slot]
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.kill()
        super()._abandon(slot)
