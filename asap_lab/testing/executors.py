"""Conformance suite for executors: every :class:`~asap_lab.executors.BaseExecutor` must pass it.

Use it from a test module::

    from asap_lab.testing.executors import run_conformance
    def test_my_executor():
        run_conformance(lambda n_workers, timeout_s: MyExecutor(n_workers, timeout_s=timeout_s))

The factory takes ``(n_workers, timeout_s)``. The objectives here are module-level (picklable),
so process and remote executors can run them; they talk through files, not shared memory.
No check asserts a duration: concurrency is shown by a rendezvous that only completes when
``n_workers`` evaluations run at the same time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from asap_lab.executors import BaseExecutor, wait_first

ExecutorFactory = Callable[[int, "float | None"], BaseExecutor]


def square(c: dict[str, Any]) -> dict[str, Any]:
    """``x**2`` with a metric (metrics must come back too)."""
    return {"value": float(c["x"]) ** 2, "twice": 2 * c["x"]}


def boom(c: dict[str, Any]) -> float:
    raise ValueError(f"boom at {c['x']}")


class Sleeper:
    """Sleeps ``seconds`` then returns ``x``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, c: dict[str, Any]) -> float:
        time.sleep(self.seconds)
        return float(c["x"])


class Rendezvous:
    """Each evaluation leaves a file in ``folder`` and waits (up to ``patience_s``) until ``n``
    are there; returns how many it saw. Evaluations that do not overlap see fewer than ``n``."""

    def __init__(self, folder: str, n: int, patience_s: float = 60.0) -> None:
        self.folder, self.n, self.patience_s = folder, n, patience_s

    def __call__(self, c: dict[str, Any]) -> float:
        open(os.path.join(self.folder, uuid.uuid4().hex), "w").close()
        t0 = time.monotonic()
        while len(os.listdir(self.folder)) < self.n and time.monotonic() - t0 < self.patience_s:
            time.sleep(0.02)
        return float(len(os.listdir(self.folder)))


def bowl(c: dict[str, Any]) -> float:
    """A deterministic objective on ``{"x": Float, "k": Int}``."""
    return (float(c["x"]) - 1.0) ** 2 + abs(int(c["k"]) - 2)


class PidGate:
    """Writes ``pid-<pid>-<id>.json`` (the config) into ``folder``, waits until ``folder/release``
    exists (up to ``patience_s``), sleeps ``sleep_s``, returns :func:`bowl`: a test can see which
    process runs which configuration and kill it mid-trial."""

    def __init__(self, folder: str, sleep_s: float = 0.0, patience_s: float = 60.0) -> None:
        self.folder, self.sleep_s, self.patience_s = folder, sleep_s, patience_s

    def __call__(self, c: dict[str, Any]) -> float:
        import json

        path = os.path.join(self.folder, f"pid-{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        with open(path + ".tmp", "w") as fh:
            json.dump(c, fh)
        os.replace(path + ".tmp", path)
        t0 = time.monotonic()
        while not os.path.exists(os.path.join(self.folder, "release")):
            if time.monotonic() - t0 > self.patience_s:
                break
            time.sleep(0.02)
        time.sleep(self.sleep_s)
        return bowl(c)


def check_result_and_worker(factory: ExecutorFactory) -> None:
    """A result comes back with its metrics, ``end`` and a worker id; ``close`` then reuse works."""
    ex = factory(1, None)
    try:
        p = ex.submit(square, {"x": 3}, 0)
        out = p.result()
        assert out.ok and out.value == 9.0 and out.metrics == {"twice": 6}, out
        assert p.done() and isinstance(p.worker, str) and p.worker, p.worker
        assert p.end > 0 and p.slot == 0
        ex.close()
        assert ex.submit(square, {"x": -2}, 1).result().value == 4.0, "unusable after close()"
    finally:
        ex.close()


def check_failure_is_an_outcome(factory: ExecutorFactory) -> None:
    """An objective that raises gives a failed outcome with the reason; nothing is raised."""
    ex = factory(1, None)
    try:
        out = ex.submit(boom, {"x": 7}, 0).result()
        assert not out.ok and out.value is None and "ValueError: boom at 7" in (out.error or ""), out
        assert ex.submit(square, {"x": 2}, 1).result().value == 4.0
    finally:
        ex.close()


def check_slots_run_at_once(factory: ExecutorFactory, n_workers: int = 2) -> None:
    """``n_slots`` evaluations run at the same time, on distinct workers; results map to handles."""
    folder = tempfile.mkdtemp(prefix="asap-rendezvous-")
    ex = factory(n_workers, None)
    try:
        assert ex.n_slots == n_workers
        meet = Rendezvous(folder, n_workers)
        first = ex.submit(meet, {"x": 0}, 0)
        assert not first.done(), "the first evaluation finished before the others started"
        pendings = [first] + [ex.submit(meet, {"x": i}, i) for i in range(1, n_workers)]
        assert sorted(p.slot for p in pendings) == list(range(n_workers))
        assert wait_first(pendings).done()
        outs = [p.result() for p in pendings]
        assert all(o.value == float(n_workers) for o in outs), [o.value for o in outs]
        workers = {p.worker for p in pendings}
        assert len(workers) == n_workers, f"{n_workers} evaluations ran on {workers}"
        many = [ex.submit(square, {"x": i}, i) for i in range(n_workers)]
        assert [p.result().value for p in many] == [float(i * i) for i in range(n_workers)]
    finally:
        ex.close()
        shutil.rmtree(folder, ignore_errors=True)


def check_busy_slots_refuse(factory: ExecutorFactory, n_workers: int = 2) -> None:
    """Submitting while every slot is busy raises ``RuntimeError``; a finished slot is free again."""
    ex = factory(n_workers, None)
    try:
        running = [ex.submit(Sleeper(1.0), {"x": i}, i) for i in range(n_workers)]
        try:
            ex.submit(square, {"x": 1}, 99)
        except RuntimeError:
            pass
        else:
            raise AssertionError("submit accepted more evaluations than slots")
        assert [p.result().value for p in running] == [float(i) for i in range(n_workers)]
        assert ex.submit(square, {"x": 5}, 100).result().value == 25.0
    finally:
        ex.close()


def check_timeout(factory: ExecutorFactory) -> None:
    """Past ``timeout_s`` the trial fails "timed out" and the slot takes the next evaluation."""
    ex = factory(1, 0.5)
    try:
        p = ex.submit(Sleeper(4.0), {"x": 1}, 0)
        out = p.result()
        assert not out.ok and "timed out after 0.5 s" in (out.error or ""), out
        assert ex.submit(square, {"x": 3}, 1).result().value == 9.0
    finally:
        ex.close()


def run_conformance(factory: ExecutorFactory, n_workers: int = 2) -> None:
    """Every check above, with ``n_workers`` slots where it matters."""
    check_result_and_worker(factory)
    check_failure_is_an_outcome(factory)
    check_slots_run_at_once(factory, n_workers)
    check_busy_slots_refuse(factory, n_workers)
    check_timeout(factory)


def shared_local_ray(num_cpus: int = 2) -> Any:
    """``ray.init`` a light local Ray once per process (no dashboard, no log forwarding, a small
    object store) and shut it down at exit; test modules share it (each start costs seconds)."""
    import atexit

    import ray

    for attempt in range(3):  # on a loaded machine the raylet can miss Ray's fixed 30 s start window
        if ray.is_initialized():
            break
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     object_store_memory=100 * 2**20)
            atexit.register(ray.shutdown)
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    return ray
