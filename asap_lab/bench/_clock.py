"""The bench's hybrid clock: real decision time, simulated evaluation time.

``optimize(simulate=...)`` normally charges every decision step a *fixed* latency
(:class:`asap_lab.scheduler.SimClock`). For the tabular tasks the bench wants decisions charged
what they really cost here (LLM latency from the engine, tool ask/tell, surrogate fits) and
evaluations charged their recorded training time. :class:`HybridClock` does that: ``now()`` is
the real time elapsed on the scheduler thread plus the simulated waits for evaluations (waiting
for a result jumps to ``max(now, end)``). Everything the scheduler does between clock reads is
charged at its measured cost, including work outside ``clock.work`` blocks (prediction,
bookkeeping); evaluations themselves are table lookups (microseconds) charged their recorded
duration. This assumes the evaluation runs on other hardware than the decisions (a GPU, other
cores), which is the paper's setting.

``optimize`` takes no clock argument, so :func:`hybrid_clock` swaps the ``SimClock`` name that
``asap_lab._optimize`` instantiates for the duration of one call, and fails loudly if that
seam changes (no hybrid clock created).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from asap_lab.scheduler import SimClock


class HybridClock(SimClock):
    """Real elapsed seconds of the scheduler thread + simulated evaluation waits (+ optional
    fixed ``latency[kind]`` per work block, 0 by default)."""

    created = 0

    def __init__(self, latency: dict[str, float] | None = None) -> None:
        super().__init__(latency)
        self._t0 = time.perf_counter()
        self._extra = 0.0
        HybridClock.created += 1

    def now(self) -> float:
        return time.perf_counter() - self._t0 + self._extra

    def advance_to(self, t: float) -> None:
        gap = t - self.now()
        if gap > 0:
            self._extra += gap

    @contextmanager
    def work(self, kind: str) -> Iterator[None]:
        yield
        self._extra += float(self.latency.get(kind, 0.0))


@contextmanager
def hybrid_clock() -> Iterator[None]:
    """Make ``optimize(simulate=...)`` use :class:`HybridClock` inside the block."""
    import asap_lab._optimize as opt

    if not hasattr(opt, "SimClock"):
        raise RuntimeError("asap_lab._optimize no longer names SimClock: update asap_lab.bench._clock")
    before = HybridClock.created
    with mock.patch.object(opt, "SimClock", HybridClock):
        yield
    if HybridClock.created == before:
        raise RuntimeError("optimize(simulate=...) did not build its clock through "
                           "asap_lab._optimize.SimClock: the hybrid clock was not used")
