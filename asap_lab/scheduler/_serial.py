"""The serial loop: per round ask every tool, select, evaluate, record, tell every tool."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asap_lab._objective import Objective, Outcome, evaluate
from asap_lab.control import Controls, Override
from asap_lab.errors import SpaceError
from asap_lab.events import EventBus
from asap_lab.journal import Journal
from asap_lab.selectors import BaseSelector, RoundRobinSelector, Selection, SelectionContext
from asap_lab.space import Space
from asap_lab.surrogate import SharedSurrogate
from asap_lab.tools import BaseTool
from asap_lab.trial import Proposal, Trial, TrialState


@dataclass
class Decision:
    """A decided round: its proposals, the pick, and what it cost."""

    proposals: list[Proposal]
    chosen: Proposal
    selection: Selection
    ask_s: float = 0.0
    select_s: float = 0.0
    speculative: bool = False
    spec: dict[str, Any] = field(default_factory=dict)


def config_key(params: dict[str, Any]) -> str:
    """A hashable identity of a configuration (type-aware: True is not 1)."""
    return repr(sorted((k, type(v).__name__, v) for k, v in params.items()))


class SerialLoop:
    """Runs rounds one after the other; every delay sits on the critical path."""

    def __init__(
        self,
        objective: Objective,
        space: Space,
        tools: Sequence[BaseTool],
        selector: BaseSelector,
        *,
        direction: str,
        n_trials: int,
        history: list[Trial],
        journal: Journal | None = None,
        timeout_s: float | None = None,
        seed: int | None = None,
        events: EventBus | None = None,
        session: str = "",
        controls: Controls | None = None,
    ) -> None:
        self.objective = objective
        self.space = space
        self.tools = list(tools)
        self.selector = selector
        self.direction = direction
        self.n_trials = n_trials
        self.history = history
        self.journal = journal
        self.timeout_s = timeout_s
        self.seed = seed
        self.events = events or EventBus()
        self.session = session
        self.controls = controls or Controls()
        self.tool_errors: list[str] = []
        self._rng = np.random.default_rng(seed)
        self._pending_tell_s = 0.0
        self.surrogate = SharedSurrogate(space, direction, seed=0 if seed is None else seed)
        self._evaluated = {config_key(t.params): t.number for t in history}

    # Round parts -----------------------------------------------------------------------------
    def propose(self, tools: Sequence[BaseTool] | None = None, pending: dict[str, int] | None = None
                ) -> list[Proposal]:
        """Ask every tool once (each timed).

        A failing or out-of-space proposal, or one that repeats an evaluated (or ``pending``)
        configuration, is kept with its ``error`` set and is not offered to the selector.
        """
        out = []
        seen = {**self._evaluated, **(pending or {})}
        for tool in self.tools if tools is None else tools:
            t0 = time.perf_counter()
            try:
                params = self.space.validate(tool.ask())
                err = None
            except SpaceError as e:
                params, err = {}, f"proposal outside the space: {e}"
            except Exception as e:
                params, err = {}, f"{type(e).__name__}: {e}"
            if err is None and config_key(params) in seen:
                err = f"duplicate of trial {seen[config_key(params)]}"
            out.append(Proposal(tool.name, params, time.perf_counter() - t0, err))
        return out

    def decide(self, proposals: list[Proposal], number: int, history: Sequence[Trial] | None = None,
               model: SharedSurrogate | None = None, selector: BaseSelector | None = None,
               ) -> tuple[Proposal, Selection, float]:
        """Run the selector on the valid proposals; fall back to round-robin if it misbehaves.

        ``history``/``model`` default to the real history and surrogate (a speculative decision
        passes the history with its fantasy trial and a surrogate of its own); ``selector``
        defaults to the run's selector.
        """
        valid = [p for p in proposals if p.error is None]
        t0 = time.perf_counter()
        if not valid:
            params = self.space.sample(self._rng)
            p = Proposal("random-fallback", params)
            sel = Selection(p.tool, "no usable proposal this round (failed or duplicates); sampled "
                            "uniformly", "fallback")
            return p, sel, time.perf_counter() - t0
        ctx = SelectionContext(self.space, self.direction, self.history if history is None else history,
                               number, self.n_trials, seed=0 if self.seed is None else self.seed,
                               model=self.surrogate if model is None else model)
        try:
            sel = (selector or self.selector).select(valid, ctx)
            if sel.pick not in {p.tool for p in valid}:
                raise ValueError(f"picked {sel.pick!r}, not one of this round's tools")
        except Exception as e:
            rr = RoundRobinSelector().select(valid, ctx)
            sel = Selection(rr.pick, f"selector failed ({type(e).__name__}: {e}); {rr.rationale}",
                            "fallback", meta={"fallback_reason": f"{type(e).__name__}: {e}"})
        chosen = next(p for p in valid if p.tool == sel.pick)
        return chosen, sel, time.perf_counter() - t0

    def tell_all(self, trial: Trial) -> float:
        """Tell every tool the finished trial; returns the time it took."""
        t0 = time.perf_counter()
        for tool in self.tools:
            try:
                tool.tell(trial)
            except Exception as e:
                msg = f"{tool.name}.tell failed on trial {trial.number}: {type(e).__name__}: {e}"
                self.tool_errors.append(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
        return time.perf_counter() - t0

    def commit(self, trial: Trial) -> None:
        """Add the finished trial to the history and journal it (fsync)."""
        self.history.append(trial)
        self._evaluated.setdefault(config_key(trial.params), trial.number)
        if self.journal is not None:
            self.journal.append_trial(trial)

    def record(self, trial: Trial) -> None:
        """Commit the trial, then tell the tools and observers."""
        self.commit(trial)
        self._pending_tell_s = self.tell_all(trial)
        self.events.emit("trial", trial=trial)

    def make_trial(self, number: int, d: Decision, outcome: Outcome, start_wall: float, eval_s: float,
                   exposed: float, tell_s: float) -> Trial:
        """The finished trial of decision ``d`` with its outcome and the round's timings."""
        sel = d.selection
        return Trial(
            number=number,
            params=d.chosen.params,
            value=outcome.value,
            state=TrialState.COMPLETE if outcome.ok else TrialState.FAILED,
            tool=d.chosen.tool,
            picked_by=sel.picked_by,
            rationale=sel.rationale,
            start=start_wall,
            end=start_wall + eval_s,
            error=outcome.error,
            metrics=outcome.metrics,
            proposals=tuple(d.proposals),
            timings={
                "ask_s": d.ask_s,
                "tell_s": tell_s,
                "select_s": d.select_s,
                "llm_s": float(sel.meta.get("llm_s", 0.0)),
                "eval_s": eval_s,
                "exposed_s": exposed,
            },
            session=self.session,
            decision={**sel.meta, "scores": dict(sel.scores)} if sel.scores else dict(sel.meta),
        )

    # Main loop -----------------------------------------------------------------------------
    def _should_stop(self, t_start: float) -> bool:
        if self.controls.paused and not self.controls.stopped:
            self.events.emit("paused", number=len(self.history))
            while self.controls.paused and not self.controls.stopped:
                self.controls.wait_while_paused(0.2)
            self.events.emit("resumed", number=len(self.history))
        if self.controls.stopped or len(self.history) >= self.n_trials:
            return True
        return self.timeout_s is not None and time.perf_counter() - t_start >= self.timeout_s

    def apply_override(self, proposals: list[Proposal], number: int) -> tuple[Proposal, Selection] | None:
        """Take a pending human override, if any, and turn it into this round's pick."""
        while (ov := self.controls.take_override()) is not None:
            picked = self._resolve_override(ov, proposals)
            if isinstance(picked, str):
                self.events.emit("override_rejected", number=number, override=ov, reason=picked)
                continue
            self.events.emit("override_applied", number=number, override=ov, proposal=picked[0])
            return picked
        return None

    def _resolve_override(self, ov: Override, proposals: list[Proposal]) -> tuple[Proposal, Selection] | str:
        note = f": {ov.note}" if ov.note else ""
        if ov.tool is not None:
            match = [p for p in proposals if p.tool == ov.tool and p.error is None]
            if not match:
                names = [p.tool for p in proposals if p.error is None]
                return f"override: no usable proposal from {ov.tool!r} this round (have {names})"
            return match[0], Selection(ov.tool, f"human override: picked {ov.tool}'s proposal{note}", "human")
        try:
            config = self.space.validate(ov.config)
        except SpaceError as e:
            return f"override: configuration rejected: {e}"
        return Proposal("human", config), Selection("human", f"human override: typed configuration{note}",
                                                    "human")

    def run(self) -> dict[str, Any]:
        """Run until ``n_trials`` trials exist (counting resumed ones); returns session timings."""
        t_start = time.perf_counter()
        last_end = t_start
        while not self._should_stop(t_start):
            number = len(self.history)
            proposals = self.propose()
            ask_s = sum(p.ask_s for p in proposals)
            self.events.emit("proposals", number=number, proposals=proposals)
            overridden = self.apply_override(proposals, number)
            if overridden is not None:
                (chosen, sel), select_s = overridden, 0.0
            else:
                chosen, sel, select_s = self.decide(proposals, number)
            self.events.emit("selection", number=number, selection=sel, proposal=chosen)
            start_wall, t0 = time.time(), time.perf_counter()
            exposed = t0 - last_end
            outcome = evaluate(self.objective, chosen.params)
            t1 = time.perf_counter()
            last_end = t1
            d = Decision(proposals, chosen, sel, ask_s, select_s)
            tell_s = self._pending_tell_s
            self.record(self.make_trial(number, d, outcome, start_wall, t1 - t0, exposed, tell_s))
        # the last tell happens after the last evaluation: count it as exposed tool time
        return {"wall_s": time.perf_counter() - t_start, "final_tell_s": self._pending_tell_s}
