"""The speculative scheduler: decide round t+1 while round t's configuration is evaluated.

While x_t evaluates, the scheduler forks the tools, tells the forks the fantasy (x_t, y_hat_t)
(the real tools and history are never touched), asks the forks and runs the selector on the
fantasy history: a speculative pick for round t+1. When y_t lands, the accept test
(:func:`relative_error` <= tau) either starts the speculative pick at once — and the real tools
learn y_t while it evaluates — or discards it and decides serially with the real y_t (the serial
fallback; the discarded pick is compared with the serial one, which feeds the Self-Tuner).
After an accepted speculation a shadow audit re-decides serially off the critical path when the
evaluation leaves time for it. Every test, its e, tau, outcome and the time saved or lost is
journaled as a ``spec`` record and emitted as a ``speculation`` event.

Cheap-evaluation regime: when evaluations are shorter than ``cheap_ratio`` x the decision
latency, speculation cannot hide the selector; then the LLM is consulted only every k-th round
(k = ceil(decision / eval)), and the transparent EI selector decides in between, so the LLM's
share of the wall-clock stays bounded.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

from asap_lab._objective import Outcome
from asap_lab.scheduler._clock import RealClock, ThreadLane
from asap_lab.scheduler._serial import Decision, SerialLoop, config_key
from asap_lab.scheduler._tuner import SelfTuner, relative_error
from asap_lab.selectors import Selection, SurrogateEISelector
from asap_lab.surrogate import SharedSurrogate
from asap_lab.tools import BaseTool
from asap_lab.trial import Proposal, Trial, TrialState


class SpeculativeLoop(SerialLoop):
    """Serial loop plus speculation, the accept test, the Self-Tuner and the cheap regime."""

    def __init__(
        self,
        *args: Any,
        tuner: SelfTuner | None = None,
        clock: Any = None,
        lane: Any = None,
        audit: bool = True,
        cheap_ratio: float = 1.0,
        enabled: bool = True,
        quality: float = 0.5,
        agreement: str = "ei",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.agreement = agreement
        self.enabled = enabled
        self.quality = quality
        self.tuner = tuner or SelfTuner()
        self.clock = clock or RealClock()
        self.lane = lane or ThreadLane()
        self.audit = audit
        self.cheap_ratio = cheap_ratio
        self.spec_log: list[dict[str, Any]] = []
        self.tau_per_round: list[float] = []  # tau used by each accept test
        self._fallback = SurrogateEISelector()
        self._eval_ewma: float | None = None
        self._decide_ewma: float | None = None
        self._cheap_count = 0
        self._last_tell_s = 0.0
        self._audit_due: tuple[Decision, float] | None = None
        # persistent surrogates (warm-started fits) for prediction, fantasy decisions and audits
        self._pred_model, self._spec_model, self._audit_model = (
            SharedSurrogate(self.space, self.direction) for _ in range(3)
        )

    # helpers ---------------------------------------------------------------------------------
    def _timed(self, kind: str, fn: Any, *a: Any) -> tuple[Any, float]:
        t0 = self.clock.now()
        with self.clock.work(kind):
            out = fn(*a)
        return out, self.clock.now() - t0

    def _ewma(self, old: float | None, x: float) -> float:
        return x if old is None else 0.7 * old + 0.3 * x

    def _cheap_regime(self) -> bool:
        if not self.enabled or self._eval_ewma is None or self._decide_ewma is None:
            return False
        return self._eval_ewma < self.cheap_ratio * self._decide_ewma

    def _serial_decision(self, number: int) -> Decision:
        proposals, ask_s = self._timed("ask", self.propose)
        ov = self.apply_override(proposals, number)
        if ov is not None:
            return Decision(proposals, ov[0], ov[1], ask_s, 0.0)
        cheap = False
        if self._cheap_regime():
            k = math.ceil((self._decide_ewma or 0) / max(self._eval_ewma or 1e-9, 1e-9))
            self._cheap_count += 1
            cheap = bool(self._cheap_count % max(k, 1))
        kind = "select_cheap" if cheap else "select"  # simulated: charged separately
        selector = self._fallback if cheap else None
        (chosen, sel, _), select_s = self._timed(kind, self.decide, proposals, number, None, None, selector)
        if cheap:
            sel = Selection(
                sel.pick,
                f"cheap-evaluation regime: {sel.rationale}",
                sel.picked_by,
                sel.scores,
                {**sel.meta, "cheap_regime": True},
            )
        else:
            self._decide_ewma = self._ewma(self._decide_ewma, ask_s + select_s + self._last_tell_s)
        return Decision(proposals, chosen, sel, ask_s, select_s)

    def predict(self, params: dict[str, Any]) -> float | None:
        """y_hat for a configuration being evaluated: the shared surrogate's mean (None if not ready)."""
        sur = self._pred_model.fit(self.history)
        if not sur.ready:
            return None
        mean, _ = sur.predict([params])
        return float(mean[0])

    def speculate(self, chosen: Proposal, number: int) -> Decision | None:
        """The decision for round ``number + 1`` under the fantasy y_hat for ``chosen``."""
        y_hat = self.predict(chosen.params)
        if y_hat is None:
            return None
        fantasy = Trial(
            number=number,
            params=chosen.params,
            value=y_hat,
            state=TrialState.COMPLETE,
            tool=chosen.tool,
            picked_by="fantasy",
        )

        forks, fork_s = self._timed("tell", self.told_forks, [fantasy])
        fhist = [*self.history, fantasy]
        pending = {config_key(chosen.params): number}
        proposals, ask_s = self._timed("ask", self.propose, forks, pending)
        if not any(p.error is None for p in proposals):
            return None
        (pick, sel, _), select_s = self._timed(
            "select", self.decide, proposals, number + 1, fhist, self._spec_model
        )
        self._decide_ewma = self._ewma(self._decide_ewma, fork_s + ask_s + select_s)
        return Decision(
            proposals,
            pick,
            sel,
            ask_s,
            select_s,
            speculative=True,
            spec={"y_hat": y_hat, "spec_s": fork_s + ask_s + select_s},
        )

    # main loop -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        clock = self.clock
        t_start = clock.now()
        last_end = t_start
        nxt: Decision | None = None
        deferred: Trial | None = None
        tell_s = 0.0
        while not self._should_stop(t_start):
            number = len(self.history)
            if nxt is None:
                nxt = self._serial_decision(number)
            d, nxt = nxt, None
            self.events.emit("proposals", number=number, proposals=d.proposals)
            self.events.emit("selection", number=number, selection=d.selection, proposal=d.chosen)
            start_wall, s = self._wall(), clock.now()
            exposed = s - last_end
            pending = self.lane.submit(self.objective, d.chosen.params, number)
            # -- decision lane, overlapped with the evaluation --
            if deferred is not None:
                _, tell_s = self._timed("tell", self.tell_all, deferred)
                deferred = None
            spec, spec_error = None, None
            last_round = number + 1 >= self.n_trials
            if self.enabled and not last_round and not self.controls.stopped and not self._cheap_regime():
                try:
                    spec = self.speculate(d.chosen, number)
                except Exception as e:
                    spec_error = f"{type(e).__name__}: {e}"
            spec_done = clock.now()
            outcome = pending.result()
            eval_s = pending.end - s
            if spec is not None:  # how long the speculation kept the finished result waiting
                spec.spec["overrun_s"] = max(spec_done - pending.end, 0.0)
            self._eval_ewma = self._ewma(self._eval_ewma, eval_s)
            last_end = pending.end
            trial = self.make_trial(number, d, outcome, start_wall, eval_s, exposed, tell_s)
            self.commit(trial)  # the tell comes after the accept test (deferred when accepted)
            self.events.emit("trial", trial=trial)
            tell_s = 0.0
            nxt, deferred = self._accept_test(trial, d, spec, spec_error)
            if deferred is None:
                _, tell_s = self._timed("tell", self.tell_all, trial)
        if deferred is not None:
            _, tell_s = self._timed("tell", self.tell_all, deferred)
        self.lane.close()
        return {"wall_s": clock.now() - t_start, "final_tell_s": tell_s}

    def _wall(self) -> float:
        return time.time() if not self.clock.simulated else self.clock.now()

    def make_trial(
        self,
        number: int,
        d: Decision,
        outcome: Outcome,
        start_wall: float,
        eval_s: float,
        exposed: float,
        tell_s: float,
    ) -> Trial:
        """The serial loop's trial plus the hidden decision time and the speculation record."""
        t = super().make_trial(number, d, outcome, start_wall, eval_s, exposed, tell_s)
        hidden = (d.ask_s + d.select_s) if d.speculative else 0.0
        return dataclasses.replace(
            t,
            timings={**t.timings, "hidden_s": hidden},
            decision={**t.decision, "speculative": d.speculative, **d.spec},
        )

    def _accept_test(
        self, trial: Trial, d: Decision, spec: Decision | None, spec_error: str | None
    ) -> tuple[Decision | None, Trial | None]:
        """Accept (return the speculative decision and defer the tell) or fall back to serial."""
        number = trial.number
        c = self.controls  # the single source of truth for freezing (API and widget alike)
        if c.tau_frozen and (
            not self.tuner.frozen or (c.tau_value is not None and c.tau_value != self.tuner.tau)
        ):
            self.tuner.freeze(c.tau_value)
        elif not c.tau_frozen and self.tuner.frozen:
            self.tuner.unfreeze()
        if spec is None:
            if spec_error is not None:
                self._log_spec(
                    number, None, trial.value, math.inf, False, 0.0, f"branch failed: {spec_error}"
                )
            return None, None
        y_hat = spec.spec["y_hat"]
        e = relative_error(y_hat, trial.value) if trial.ok else math.inf
        tau = self.tuner.tau
        self.tau_per_round.append(tau)
        reason = ""
        if self.controls.pending_overrides:
            reason = "invalidated by a human override"
        elif self.controls.paused or self.controls.stopped:
            reason = "run paused or stopped"
        elif config_key(spec.chosen.params) in self._evaluated:
            reason = "speculative pick duplicates an evaluated configuration"
        accepted = not reason and e <= tau
        if accepted:
            saved = spec.spec["spec_s"] - spec.spec.get("overrun_s", 0.0)
            self._log_spec(number, y_hat, trial.value, e, True, saved, "")
            self._maybe_audit_later(spec, e)
            return spec, trial
        # serial fallback: tell now, decide now; compare with the discarded speculative pick
        _, tell_s = self._timed("tell", self.tell_all, trial)
        serial = self._serial_decision(number + 1)
        serial.ask_s += tell_s
        if not reason and serial.selection.picked_by != "human":
            self.tuner.observe(e, not self._agrees(spec.chosen, serial.chosen))
        self._log_spec(
            number,
            y_hat,
            trial.value,
            e,
            False,
            -spec.spec.get("overrun_s", 0.0),
            reason or f"e={e:.3g} > tau={tau:.3g}",
        )
        return serial, None

    def _maybe_audit_later(self, spec: Decision, e: float) -> None:
        """Audit only when the tuner is live and evaluations leave room for a second decision."""
        room = (
            self._eval_ewma is not None
            and self._decide_ewma is not None
            and self._eval_ewma >= 2 * self._decide_ewma
        )
        self._audit_due = (spec, e) if self.audit and not self.tuner.frozen and room else None

    def tell_all(self, trial: Trial) -> float:
        t = super().tell_all(trial)
        self._last_tell_s = t
        due = self._audit_due
        if due is not None:  # shadow audit, on the decision lane while the next trial evaluates
            self._audit_due = None
            spec, e = due
            rec: dict[str, Any] = {
                "type": "audit",
                "number": len(self.history),
                "spec_pick": spec.chosen.tool,
            }
            try:
                serial = self._audit()
                agree = self._agrees(spec.chosen, serial)
                self.tuner.observe(e, not agree)
                rec.update(serial_pick=serial.tool, agree=agree, tau=self.tuner.tau)
            except Exception as err:
                rec["error"] = f"{type(err).__name__}: {err}"
            self.spec_log[-1]["audit"] = rec
            if self.journal is not None:
                self.journal.append(rec)
            self.events.emit("tau", tau=self.tuner.tau, frozen=self.tuner.frozen)
        return t

    def _audit(self) -> Proposal:
        """The serial decision for the round now evaluating, made with the real outcome."""
        number = len(self.history)
        proposals, _ = self._timed("ask", self.propose)
        (pick, _, _), _ = self._timed(
            "select", self.decide, proposals, number, self.history, self._audit_model
        )
        return pick

    def told_forks(self, fantasies: list[Trial]) -> list[BaseTool]:
        """Forks of the tools told ``fantasies``; the real tools never see a fantasy."""
        forks = [t.fork() for t in self.tools]
        for f in forks:
            f.tell_many(fantasies)
        return forks

    def _agrees(self, spec: Proposal, serial: Proposal) -> bool:
        """Did the speculative pick keep decision quality? Yes when it is the same tool's
        proposal; with ``agreement="ei"`` (the default) also when, under the surrogate of the
        real history, its expected improvement is at least ``quality`` x that of the serial pick
        or there is nothing left to improve; ``agreement="tool"`` asks for the same tool."""
        if spec.tool == serial.tool:
            return True
        if self.agreement == "tool":
            return False
        with self.clock.work("select"):
            ev = self.surrogate.fit(self.history).evidence([spec.params, serial.params])
        if not all(math.isfinite(x.ei) for x in ev):
            return False
        negligible = 1e-9 * (
            abs(self.surrogate.best_loss_) + 1.0
        )  # nothing left to improve: any pick will do
        return ev[1].ei <= negligible or ev[0].ei >= self.quality * ev[1].ei

    def _log_spec(
        self,
        number: int,
        y_hat: float | None,
        y: float | None,
        e: float,
        accepted: bool,
        saved_s: float,
        reason: str,
    ) -> None:
        rec = {
            "type": "spec",
            "number": number,
            "predicted": y_hat,
            "actual": y,
            "e": e if math.isfinite(e) else None,
            "tau": self.tau_per_round[-1] if self.tau_per_round else self.tuner.tau,  # the tau tested
            "tau_next": self.tuner.tau,
            "frozen": self.tuner.frozen,
            "accepted": accepted,
            "saved_s": saved_s,
            "reason": reason,
            "session": self.session,
        }
        self.spec_log.append(rec)
        if self.journal is not None:
            self.journal.append(rec)
        self.events.emit("speculation", **{k: v for k, v in rec.items() if k != "type"})
        self.events.emit("tau", tau=self.tuner.tau, frozen=self.tuner.frozen)
