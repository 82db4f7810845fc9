"""The selector interface: pick one of the round's proposals and say why."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from asap_lab.space import Space
from asap_lab.surrogate import SharedSurrogate
from asap_lab.trial import Proposal, Trial


@dataclass(frozen=True)
class Selection:
    """A decision: the picked tool, who made it, why, and any evidence or accounting."""

    pick: str
    rationale: str
    picked_by: str
    scores: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInfo:
    """What a selector learns once per run: the problem and the pool."""

    space: Space
    direction: str
    tools: tuple[tuple[str, str], ...]  # (name, description) of each tool in pool order
    n_trials: int
    description: str = "an objective function of the configuration"


@dataclass
class SelectionContext:
    """What a selector may know about the round beyond proposals and history."""

    space: Space
    direction: str
    history: Sequence[Trial]
    round: int
    n_trials: int
    seed: int = 0
    model: SharedSurrogate | None = None  # a persistent surrogate to refit (warm start)

    @cached_property
    def surrogate(self) -> SharedSurrogate:
        """The shared surrogate fitted on the history (fitted once per round, on first use)."""
        model = self.model or SharedSurrogate(self.space, self.direction, seed=self.seed)
        return model.fit(self.history)


class BaseSelector(abc.ABC):
    """Chooses one proposal per round. ``select`` must return the name of a given proposal."""

    name: str = "base"

    def bind(self, info: RunInfo) -> None:  # noqa: B027 - optional hook
        """Called once before the first round; a no-op unless the selector keeps per-run state."""

    @abc.abstractmethod
    def select(self, proposals: Sequence[Proposal], context: SelectionContext) -> Selection:
        """Pick one of ``proposals`` (all valid, non-empty)."""

    def close(self) -> None:  # noqa: B027
        """Release what :meth:`bind` acquired (an LLM engine, a connection)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
