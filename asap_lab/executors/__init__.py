"""Executors: where evaluations run (threads, processes, Ray tasks), ``n_slots`` at a time.

``BaseExecutor`` is the interface (``submit`` -> :class:`Pending` with ``result()``/``done()``,
``close``, ``n_slots``); :func:`asap_lab.testing.executors.run_conformance` is the suite every
executor passes. :class:`RayExecutor` imports Ray only when it is made.
"""

from __future__ import annotations

from asap_lab.executors._base import BaseExecutor, Pending, wait_first, worker_id
from asap_lab.executors._local import ProcessExecutor, ThreadExecutor
from asap_lab.executors._ray import RAY_HINT, RayExecutor

__all__ = [
    "RAY_HINT",
    "BaseExecutor",
    "Pending",
    "ProcessExecutor",
    "RayExecutor",
    "ThreadExecutor",
    "make_executor",
    "wait_first",
    "worker_id",
]

EXECUTORS = ("thread", "process", "ray")


def make_executor(name: str, n_workers: int = 1, timeout_s: float | None = None) -> BaseExecutor:
    """The executor called ``name`` (``"thread"``, ``"process"`` or ``"ray"``) with ``n_workers`` slots."""
    if name == "thread":
        return ThreadExecutor(n_workers, timeout_s=timeout_s)
    if name == "process":
        return ProcessExecutor(n_workers, timeout_s=timeout_s)
    if name == "ray":
        return RayExecutor(n_workers=n_workers, timeout_s=timeout_s)
    raise ValueError(f"unknown executor {name!r} (use {', '.join(EXECUTORS)})")
