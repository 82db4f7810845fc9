"""The accept test's threshold tau and the Self-Tuner that adapts it from the execution log.

Accept test: the speculative decision for round t+1 was made under a predicted outcome y_hat of
round t; when the real y arrives, e = |y_hat - y| / max(|y|, eps) and the speculation is
accepted when e <= tau.

Self-Tuner (our design; the paper published none). Its data are (e, disagree) pairs: whether
the speculative pick (the tool chosen under y_hat) differs from the pick a serial decision makes
with the real y. Every rejected speculation yields such a pair for free (the serial decision is
made anyway); an accepted one yields a pair when a *shadow audit* re-decides serially off the
critical path. The tuner sets tau to the largest e* such that, among logged pairs with e <= e*,
the posterior mean disagreement rate (k + a) / (n + a + b), with a Beta(a=1, b=9) prior whose
mean is the target, stays <= ``target``: hide as much latency as the measured decision quality
allows. With fewer than ``min_pairs`` pairs it explores: tau grows by ``step`` after an agreeing
pair and shrinks after a disagreeing one. A frozen tau never moves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def relative_error(predicted: float | None, actual: float | None, eps: float = 1e-12) -> float:
    """e = |predicted - actual| / max(|actual|, eps); inf when either is missing."""
    if predicted is None or actual is None or not (math.isfinite(predicted) and math.isfinite(actual)):
        return math.inf
    return abs(predicted - actual) / max(abs(actual), eps)


@dataclass
class SelfTuner:
    """Adapts tau so that the disagreement rate of accepted speculations stays near ``target``."""

    tau: float = 0.1
    target: float = 0.1
    tau_max: float = 2.0
    step: float = 1.25
    min_pairs: int = 8
    frozen: bool = False
    log: list[tuple[float, bool]] = field(default_factory=list)
    history: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.history.append(self.tau)

    def freeze(self, value: float | None = None) -> None:
        self.frozen = True
        if value is not None:
            self.tau = float(value)
            self.history.append(self.tau)

    def unfreeze(self) -> None:
        self.frozen = False

    def observe(self, e: float, disagree: bool) -> float:
        """Log one (e, disagree) pair and re-tune (unless frozen); returns tau."""
        if math.isfinite(e):
            self.log.append((e, bool(disagree)))
        if not self.frozen:
            self.tau = self._tune(e, disagree)
        self.history.append(self.tau)
        return self.tau

    def _tune(self, e: float, disagree: bool) -> float:
        pairs = sorted(self.log)
        if len(pairs) < self.min_pairs:  # explore: widen after agreement, narrow after disagreement
            if not math.isfinite(e):
                return self.tau
            if disagree:
                return max(self.tau / self.step, 1e-4)
            return min(self.tau * self.step, self.tau_max)
        a = 1.0
        b = a * (1 - self.target) / self.target  # prior mean = target
        best, k = 0.0, 0
        for n, (ei, d) in enumerate(pairs, start=1):
            k += d
            if (k + a) / (n + a + b) <= self.target:
                best = ei
        return min(best, self.tau_max)

    def disagreement_rate(self, below: float | None = None) -> float | None:
        """Measured disagreement among logged pairs (with e <= ``below`` if given)."""
        sel = [d for e, d in self.log if below is None or e <= below]
        return sum(sel) / len(sel) if sel else None
