"""Finished trials and the round's proposals: the records that flow from the loop to the journal."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Proposal", "Trial", "TrialState", "loss_of"]


class TrialState(StrEnum):
    """Outcome of an evaluated configuration."""

    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class Proposal:
    """One tool's proposal for a round, with the time the tool took to make it."""

    tool: str
    params: dict[str, Any]
    ask_s: float = 0.0
    error: str | None = None  # why it was not offered to the selector (failure, duplicate, ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Proposal:
        return cls(d["tool"], dict(d["params"]), float(d.get("ask_s", 0.0)), d.get("error"))


@dataclass(frozen=True)
class Trial:
    """A finished trial: what was evaluated, who proposed and picked it, how it went.

    ``tool`` is the tool whose proposal was evaluated (``"human"`` for a typed configuration);
    ``picked_by`` names the decision maker (``"selector:<name>"``, ``"llm"``, ``"fallback"``,
    ``"human"``). ``start``/``end`` are Unix times of the evaluation. ``decision`` holds the
    selector's accounting: for the LLM, backend, prompt/cached/completion tokens, latency and, on a
    fallback, the reason.
    """

    number: int
    params: dict[str, Any]
    value: float | None
    state: TrialState
    tool: str
    picked_by: str
    rationale: str = ""
    start: float = 0.0
    end: float = 0.0
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    proposals: tuple[Proposal, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    session: str = ""
    decision: dict[str, Any] = field(default_factory=dict)  # selector accounting (LLM tokens, fallback)

    @property
    def ok(self) -> bool:
        return self.state is TrialState.COMPLETE

    @property
    def duration_s(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = self.state.value
        d["proposals"] = [p.to_dict() for p in self.proposals]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trial:
        return cls(
            number=int(d["number"]),
            params=dict(d["params"]),
            value=None if d.get("value") is None else float(d["value"]),
            state=TrialState(d["state"]),
            tool=d["tool"],
            picked_by=d["picked_by"],
            rationale=d.get("rationale", ""),
            start=float(d.get("start", 0.0)),
            end=float(d.get("end", 0.0)),
            error=d.get("error"),
            metrics=dict(d.get("metrics", {})),
            proposals=tuple(Proposal.from_dict(p) for p in d.get("proposals", [])),
            timings={k: float(v) for k, v in d.get("timings", {}).items()},
            session=d.get("session", ""),
            decision=dict(d.get("decision", {})),
        )


def loss_of(trial: Trial, direction: str) -> float | None:
    """The value to *minimise* (negated for ``maximize``); None for failed trials."""
    if not trial.ok or trial.value is None or not math.isfinite(trial.value):
        return None
    return trial.value if direction == "minimize" else -trial.value
