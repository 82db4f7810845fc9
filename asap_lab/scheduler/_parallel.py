"""The parallel loop: keep ``n_workers`` evaluations in flight, one decision per free slot.

A free slot gets a decision made with the real history plus the configurations in flight:
forks of the tools are told a fantasy for each (the shared surrogate's mean, or the mean of the
finished values before the surrogate is ready: a "constant liar"), the selector sees the
history with those fantasies, a proposal repeating an in-flight configuration is refused, and a
tool that already has a pick in flight is passed over when another tool has a usable proposal,
so the slots spread over the pool. The real tools and history are never told a fantasy.

Trial numbers are given as results land (the journal stays 0..n-1 in order, fsync'd one record
per landed result), so a resumed run sees exactly the trials that finished, in landing order;
evaluations that were in flight at a kill are lost and decided again. ``trial.decision`` keeps
``decided`` (the decision order), ``slot`` and ``worker``. With ``ordered=True`` results are
taken in submission order instead (a finished result waits for earlier ones): the run then does
not depend on timing, so any executor gives the same trials for a deterministic objective.

With speculation, while every slot is busy the loop decides the next pick ahead, fantasising
every configuration in flight; when a result lands the per-slot accept test (relative error of
that slot's fantasy <= tau, no override pending, not paused or stopped, not a duplicate)
starts the pick at once, else the loop decides with the real result. Rejections feed the
Self-Tuner as in the speculative loop; there is no shadow audit and no cheap regime here.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from asap_lab.executors import Pending, wait_first
from asap_lab.scheduler._serial import Decision, config_key
from asap_lab.scheduler._speculative import SpeculativeLoop
from asap_lab.scheduler._tuner import relative_error
from asap_lab.trial import Proposal, Trial, TrialState


@dataclass(eq=False)
class _Flight:
    """A decision being evaluated."""

    d: Decision
    pending: Pending
    decided: int
    start_wall: float
    start: float
    exposed: float
    tell_s: float


class ParallelLoop(SpeculativeLoop):
    """Up to ``lane.n_slots`` evaluations in flight; speculation is per slot (see the module)."""

    def __init__(self, *args: Any, ordered: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n_workers = self.lane.n_slots
        self.ordered = ordered
        self._decided = len(self.history)
        self._slot_end: dict[int, float] = {}
        self._y_hat: dict[str, float] = {}  # fantasies behind the speculative decision

    # decisions -------------------------------------------------------------------------------
    def _fantasies(self, flights: list[_Flight]) -> list[Trial]:
        if not flights:
            return []
        params = [f.d.chosen.params for f in flights]
        sur = self._pred_model.fit(self.history)
        if sur.ready:
            values = [float(v) for v in sur.predict(params)[0]]
        else:  # constant liar: the mean of the finished values
            ok = [t.value for t in self.history if t.ok and t.value is not None]
            if not ok:
                return []
            values = [float(np.mean(ok))] * len(params)
        n = len(self.history)
        return [
            Trial(number=n + i, params=p, value=v, state=TrialState.COMPLETE, tool=f.d.chosen.tool,
                  picked_by="fantasy")
            for i, (f, p, v) in enumerate(zip(flights, params, values, strict=True))
        ]

    @staticmethod
    def _spread(proposals: list[Proposal], busy: set[str]) -> list[Proposal]:
        """Pass over tools with a pick in flight when another tool has a usable proposal."""
        if not any(p.error is None and p.tool not in busy for p in proposals):
            return proposals
        return [dataclasses.replace(p, error="tool has a pick in flight (spread over the slots)")
                if p.error is None and p.tool in busy else p for p in proposals]

    def _slot_decision(self, flights: list[_Flight], speculative: bool = False) -> Decision | None:
        """A pick for a free slot given ``flights`` in flight (None: no speculation possible)."""
        number = len(self.history) + len(flights)
        fantasies, fork_s = self._timed("tell", self._fantasies, flights)
        if speculative and not fantasies:
            return None
        tools = hist = model = None
        if fantasies:
            tools, s = self._timed("tell", self.told_forks, fantasies)
            fork_s += s
            hist, model = [*self.history, *fantasies], self._spec_model
        pending = {config_key(f.d.chosen.params): f.decided for f in flights}
        proposals, ask_s = self._timed("ask", self.propose, tools, pending)
        proposals = self._spread(proposals, {f.d.chosen.tool for f in flights})
        if not speculative:
            ov = self.apply_override(proposals, number)
            if ov is not None:
                return Decision(proposals, ov[0], ov[1], ask_s + fork_s, 0.0)
        elif not any(p.error is None for p in proposals):
            return None
        (chosen, sel, _), select_s = self._timed("select", self.decide, proposals, number, hist, model)
        if not speculative:
            return Decision(proposals, chosen, sel, ask_s + fork_s, select_s)
        self._y_hat = {config_key(t.params): float(t.value or 0.0) for t in fantasies}
        return Decision(proposals, chosen, sel, ask_s + fork_s, select_s, speculative=True,
                        spec={"spec_s": fork_s + ask_s + select_s})

    # main loop -------------------------------------------------------------------------------
    def _may_start(self, t_real: float, flights: list[_Flight]) -> bool:
        c = self.controls
        if c.stopped or c.paused or len(self.history) + len(flights) >= self.n_trials:
            return False
        return self.timeout_s is None or time.perf_counter() - t_real < self.timeout_s

    def _start(self, d: Decision, t_start: float, tell_s: float, n_flying: int) -> _Flight:
        number = len(self.history) + n_flying
        self.events.emit("proposals", number=number, proposals=d.proposals)
        self.events.emit("selection", number=number, selection=d.selection, proposal=d.chosen)
        start_wall, s = self._wall(), self.clock.now()
        pending = self.lane.submit(self.objective, d.chosen.params, number)
        exposed = s - self._slot_end.get(pending.slot, t_start)
        self._decided += 1
        return _Flight(d, pending, self._decided - 1, start_wall, s, exposed, tell_s)

    def run(self) -> dict[str, Any]:
        clock = self.clock
        t_start, t_real = clock.now(), time.perf_counter()
        flights: list[_Flight] = []
        nxt: Decision | None = None  # decided ahead: an accepted speculation or a post-rejection pick
        deferred: list[Trial] = []
        tell_s = 0.0
        try:
            while True:
                while len(flights) < self.n_workers and self._may_start(t_real, flights):
                    d = nxt or self._slot_decision(flights)
                    assert d is not None
                    nxt = None
                    flights.append(self._start(d, t_start, tell_s, len(flights)))
                    tell_s = 0.0
                if not flights:
                    nxt = None
                    if self._should_stop(t_real):
                        break
                    continue
                for t in deferred:  # the real tools learn accepted results while the slots run
                    tell_s += self._timed("tell", self.tell_all, t)[1]
                deferred = []
                spec, spec_error = None, None
                full = len(flights) == self.n_workers
                more = len(self.history) + len(flights) < self.n_trials
                if self.enabled and nxt is None and full and more and not self.controls.stopped:
                    try:
                        spec = self._slot_decision(flights, speculative=True)
                    except Exception as e:
                        spec_error = f"{type(e).__name__}: {e}"
                spec_done = clock.now()
                f = flights[0] if self.ordered else self._first(flights)
                flights.remove(f)
                trial = self._land(f)
                nxt, defer, s = self._accept_slot(trial, f, spec, spec_error, spec_done, flights, t_real)
                tell_s += s
                if defer:
                    deferred.append(trial)
            for t in deferred:
                tell_s += self._timed("tell", self.tell_all, t)[1]
        finally:
            self.lane.close()
        return {"wall_s": clock.now() - t_start, "final_tell_s": tell_s}

    @staticmethod
    def _first(flights: list[_Flight]) -> _Flight:
        p = wait_first([f.pending for f in flights])
        return next(f for f in flights if f.pending is p)

    def _land(self, f: _Flight) -> Trial:
        """Record the landed result as the next trial (journal, event); the tools are told later."""
        outcome = f.pending.result()
        eval_s = f.pending.end - f.start
        self._slot_end[f.pending.slot] = f.pending.end
        t = self.make_trial(len(self.history), f.d, outcome, f.start_wall, eval_s, f.exposed, f.tell_s)
        worker = f.pending.worker or f"slot-{f.pending.slot}"
        t = dataclasses.replace(t, decision={**t.decision, "decided": f.decided, "slot": f.pending.slot,
                                             "worker": worker})
        self.commit(t)
        self.events.emit("trial", trial=t)
        return t

    def _accept_slot(
        self, trial: Trial, f: _Flight, spec: Decision | None, spec_error: str | None, spec_done: float,
        flights: list[_Flight], t_real: float,
    ) -> tuple[Decision | None, bool, float]:
        """(the next pick if decided now, whether the tell is deferred, tell seconds spent)."""
        self._sync_tau()
        if spec is None:
            if spec_error is not None:
                self._log_spec(trial.number, None, trial.value, math.inf, False, 0.0,
                               f"branch failed: {spec_error}")
            return None, False, self._timed("tell", self.tell_all, trial)[1]
        overrun = max(spec_done - f.pending.end, 0.0)
        spec.spec["overrun_s"] = overrun
        y_hat = self._y_hat.get(config_key(trial.params))
        e = relative_error(y_hat, trial.value) if trial.ok and y_hat is not None else math.inf
        tau = self.tuner.tau
        self.tau_per_round.append(tau)
        key = config_key(spec.chosen.params)
        reason = ""
        if self.controls.pending_overrides:
            reason = "invalidated by a human override"
        elif not self._may_start(t_real, flights):
            reason = "run paused or stopped"
        elif key in self._evaluated or key in {config_key(x.d.chosen.params) for x in flights}:
            reason = "speculative pick duplicates an evaluated or running configuration"
        if not reason and e <= tau:
            spec.spec["y_hat"] = y_hat
            self._log_spec(trial.number, y_hat, trial.value, e, True, spec.spec["spec_s"] - overrun, "")
            return spec, True, 0.0
        tell_s = self._timed("tell", self.tell_all, trial)[1]
        fresh = self._slot_decision(flights) if self._may_start(t_real, flights) else None
        if fresh is not None and not reason and fresh.selection.picked_by != "human":
            self.tuner.observe(e, not self._agrees(spec.chosen, fresh.chosen))
        self._log_spec(trial.number, y_hat, trial.value, e, False, -overrun,
                       reason or f"e={e:.3g} > tau={tau:.3g}")
        return fresh, False, tell_s

    def _sync_tau(self) -> None:
        """Controls are the single source of truth for freezing tau (API and widget alike)."""
        c = self.controls
        if c.tau_frozen and (
            not self.tuner.frozen or (c.tau_value is not None and c.tau_value != self.tuner.tau)
        ):
            self.tuner.freeze(c.tau_value)
        elif not c.tau_frozen and self.tuner.frozen:
            self.tuner.unfreeze()
