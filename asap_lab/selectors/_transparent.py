"""Transparent (non-LLM) selectors: round-robin and shared-surrogate expected improvement."""

from __future__ import annotations

import math
from collections.abc import Sequence

from asap_lab.selectors._base import BaseSelector, Selection, SelectionContext
from asap_lab.trial import Proposal


class RoundRobinSelector(BaseSelector):
    """Cycles through the tools in pool order: each tool's proposal gets its turn."""

    name = "round-robin"

    def select(self, proposals: Sequence[Proposal], context: SelectionContext) -> Selection:
        p = proposals[context.round % len(proposals)]
        return Selection(p.tool, f"round-robin turn of {p.tool}", f"selector:{self.name}")


class SurrogateEISelector(BaseSelector):
    """Picks the proposal with the highest expected improvement under the shared GP surrogate.

    Until ``min_history`` trials have succeeded it falls back to round-robin (the surrogate has
    nothing to say yet). Ties in EI (e.g. all zero) go to the proposal farthest from evaluated
    points. The rationale quotes the numbers it used.
    """

    name = "ei"

    def __init__(self, min_history: int = 4) -> None:
        self.min_history = min_history

    def select(self, proposals: Sequence[Proposal], context: SelectionContext) -> Selection:
        n_ok = sum(t.ok for t in context.history)
        if n_ok < self.min_history:
            p = proposals[context.round % len(proposals)]
            return Selection(
                p.tool,
                f"warm-up round-robin: {n_ok}/{self.min_history} successful trials before the "
                f"surrogate is used; {p.tool}'s turn",
                f"selector:{self.name}",
            )
        sur = context.surrogate
        ev = sur.evidence([p.params for p in proposals])
        scores = {p.tool: e.ei for p, e in zip(proposals, ev, strict=True)}

        def key(i: int) -> tuple[float, float]:
            ei = ev[i].ei if math.isfinite(ev[i].ei) else -1.0
            return (round(ei, 12), ev[i].distance)

        best = max(range(len(proposals)), key=key)
        e = ev[best]
        ranked = sorted(range(len(proposals)), key=key, reverse=True)
        runner = proposals[ranked[1]].tool if len(ranked) > 1 else "none"
        return Selection(
            proposals[best].tool,
            f"highest expected improvement {e.ei:.3g} (predicted {e.mean:.4g} ± {e.std:.2g}, "
            f"distance to nearest trial {e.distance:.2f}); runner-up {runner}",
            f"selector:{self.name}",
            scores=scores,
        )
