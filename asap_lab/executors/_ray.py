"""The Ray executor: each evaluation is a Ray task (one CPU) on the cluster's workers.

Ray is imported only when a :class:`RayExecutor` is made (``pip install -e ".[ray]"``). The
driver keeps the journal: a task returns the outcome and the worker that ran it (node id and
pid), nothing else is written on the workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from typing import Any

from asap_lab._objective import Objective, Outcome, evaluate
from asap_lab.errors import ConfigError
from asap_lab.executors._base import BaseExecutor, Pending

RAY_HINT = 'executor="ray" needs Ray: pip install -e ".[ray]"'


def import_ray() -> Any:
    """``import ray``, or one ConfigError line saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(f"{RAY_HINT} ({e})") from None
    return ray


def _ray_evaluate(objective: Objective, config: dict[str, Any]) -> tuple[Outcome, str]:
    """The task body, on a Ray worker: the outcome and ``node:pid`` of the worker."""
    import ray

    out = evaluate(objective, config)
    return out, f"{ray.get_runtime_context().get_node_id()[:8]}:{os.getpid()}"


class RayExecutor(BaseExecutor):
    """Evaluations as Ray tasks, ``n_workers`` in flight.

    ``address``: the cluster (``None``: a local Ray, ``"auto"``: the running cluster, or
    ``"ray://host:10001"``); Ray is initialised only if it is not already (then :meth:`close`
    shuts it down again), with ``runtime_env`` and ``init_kwargs``. A lost worker (the process
    killed, the node gone) marks the trial failed ``"worker lost: ..."`` with
    ``on_worker_lost="fail"`` (default), or Ray re-runs the task up to ``max_retries`` times
    with ``"retry"``. ``timeout_s`` cancels a task that runs longer (its worker is killed).
    The objective is shipped once per run (``ray.put``) with Ray's cloudpickle, so closures work.
    """

    kind = "ray"

    def __init__(
        self,
        address: str | None = None,
        n_workers: int = 2,
        *,
        on_worker_lost: str = "fail",
        max_retries: int = 1,
        timeout_s: float | None = None,
        runtime_env: dict[str, Any] | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(n_workers, timeout_s=timeout_s)
        if on_worker_lost not in ("fail", "retry"):
            raise ConfigError(f"on_worker_lost must be 'fail' or 'retry', got {on_worker_lost!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self.address, self.runtime_env = address, runtime_env
        self.on_worker_lost, self.max_retries = on_worker_lost, max_retries
        self.init_kwargs = dict(init_kwargs or {})
        self._ray = import_ray()
        self._owns_ray = False
        self._refs: dict[int, Any] = {}
        self._shipped: tuple[Any, Any] | None = None  # (objective, its ObjectRef)
        self._task: Any = None
        self._ensure()

    def _ensure(self) -> None:
        ray = self._ray
        if not ray.is_initialized():
            kw = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            ray.init(address=self.address, runtime_env=self.runtime_env, **kw)
            self._owns_ray = True
            self._shipped = None
        if self._task is None:
            retries = self.max_retries if self.on_worker_lost == "retry" else 0
            self._task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_ray_evaluate)

    def _objective_ref(self, objective: Objective) -> Any:
        if self._shipped is None or self._shipped[0] is not objective:
            self._shipped = (objective, self._ray.put(objective))
        return self._shipped[1]

    def _launch(self, objective: Objective, config: dict[str, Any], number: int, slot: int) -> Pending:
        self._ensure()
        fut: cf.Future[tuple[Outcome, float, str]] = cf.Future()
        try:
            ref = self._task.remote(self._objective_ref(objective), config)
        except Exception as e:  # e.g. an objective Ray cannot serialise: the trial fails
            fut.set_exception(e)
            return Pending(self, slot, fut)
        self._refs[slot] = ref

        def landed(f: cf.Future[Any]) -> None:  # stamped on the driver's clock
            try:
                out, worker = f.result()
            except BaseException as e:
                fut.set_exception(e)
            else:
                fut.set_result((out, time.perf_counter(), worker))

        ref.future().add_done_callback(landed)
        return Pending(self, slot, fut)

    def _abandon(self, slot: int) -> None:
        ref = self._refs.pop(slot, None)
        if ref is not None:
            with contextlib.suppress(Exception):  # kills the worker if the task still runs
                self._ray.cancel(ref, force=True)

    def _failure(self, exc: BaseException) -> str:
        ex = self._ray.exceptions
        lost = (ex.WorkerCrashedError, ex.NodeDiedError, ex.LocalRayletDiedError, ex.OwnerDiedError,
                ex.ObjectLostError)
        first = (str(exc).strip().splitlines() or [""])[0]
        if isinstance(exc, lost):
            tries = f" after {self.max_retries} retries" if self.on_worker_lost == "retry" else ""
            return f"worker lost{tries}: {type(exc).__name__}: {first}"
        return f"evaluation worker failed: {type(exc).__name__}: {first}"

    def close(self) -> None:
        """Cancel tasks still running; shut Ray down if this executor started it."""
        for slot in list(self._refs):
            p = self._slots[slot]
            if p is not None and not p.done():
                self._abandon(slot)
        self._refs.clear()
        self._shipped = None
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
            self._task = None
        self._owns_ray = False

    def __repr__(self) -> str:
        return (f"RayExecutor(address={self.address!r}, n_workers={self.n_slots}, "
                f"on_worker_lost={self.on_worker_lost!r}, timeout_s={self.timeout_s!r})")
