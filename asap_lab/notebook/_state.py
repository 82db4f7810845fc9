"""Run state for the widget: folds run events into small JSON-ready views (no Jupyter imports).

The listener side (:meth:`RunState.apply`) runs on the scheduler's thread and only updates
Python structures under a lock and marks the state dirty; the widget's flusher thread calls
:meth:`RunState.snapshot` at most a few times a second and ships the result to the browser.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from asap_lab.events import Event
from asap_lab.trial import Trial

__all__ = ["RunState", "clean"]

MAX_NOTICES = 12


def clean(o: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None, numpy scalars plain numbers, others str."""
    if o is None or isinstance(o, (bool, str, int)):
        return o
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    item = getattr(o, "item", None)  # numpy scalar
    if callable(item):
        try:
            return clean(item())
        except (TypeError, ValueError):
            pass
    return str(o)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def params_text(params: dict[str, Any]) -> str:
    """``x=1.23, act=relu``: a configuration in one short line."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def who(picked_by: str) -> str:
    """The decision maker in words: LLM, fallback, human or selector (name)."""
    if picked_by == "llm":
        return "LLM"
    if picked_by.startswith("selector:"):
        return f"selector ({picked_by.split(':', 1)[1]})"
    return picked_by


class RunState:
    """Everything the widget shows, built from events; every method is thread-safe."""

    def __init__(self, direction: str = "minimize", n_trials: int = 0) -> None:
        self.lock = threading.Lock()
        self.direction = direction
        self.n_trials = n_trials
        self.status = "starting"
        self.tools: list[str] = []
        self.resumed = 0
        self.t0: float | None = None
        self.last_time: float | None = None
        self.rounds: dict[int, dict[str, Any]] = {}
        self.trials: list[dict[str, Any]] = []
        self.speculation: list[dict[str, Any]] = []
        self.tau: dict[str, Any] = {"tau": None, "frozen": False}
        self.notices: list[dict[str, Any]] = []
        self.live_timing = {"eval_s": 0.0, "tools_s": 0.0, "select_s": 0.0, "llm_s": 0.0, "exposed_s": 0.0}
        self.stats: dict[str, Any] | None = None
        self.error: str | None = None
        self.stop_requested = False
        self.finished = False
        self.dirty = True

    # events (scheduler thread) ------------------------------------------------------------
    def apply(self, ev: Event) -> None:
        """Fold one event in; unknown kinds are ignored."""
        handler = getattr(self, f"_on_{ev.kind}", None)
        if handler is None:
            return
        with self.lock:
            self.last_time = ev.time
            handler(ev.data, ev.time)
            self.dirty = True

    def notice(self, text: str, level: str = "info") -> None:
        """A line in the widget's log (control acknowledgements, rejected overrides, errors)."""
        with self.lock:
            self._notice(text, level)
            self.dirty = True

    def _notice(self, text: str, level: str) -> None:
        self.notices.append({"text": text, "level": level})
        del self.notices[:-MAX_NOTICES]

    def _round(self, number: int) -> dict[str, Any]:
        return self.rounds.setdefault(int(number), {"number": int(number), "proposals": [],
                                                     "selection": None, "result": None})

    def _on_run_start(self, d: dict[str, Any], t: float) -> None:
        self.status = "running"
        self.tools = list(d.get("tools", []))
        self.n_trials = int(d.get("n_trials", self.n_trials))
        self.resumed = int(d.get("resumed", 0))
        self.t0 = t

    def _on_proposals(self, d: dict[str, Any], t: float) -> None:
        rnd = self._round(d["number"])
        rnd["proposals"] = [
            {"tool": p.tool, "params": params_text(p.params) if p.params else "",
             "config": json.dumps(clean(p.params)), "ask_s": p.ask_s, "error": p.error,
             "ei": None, "picked": False, "eligible": p.error is None}
            for p in d["proposals"]
        ]

    def _on_selection(self, d: dict[str, Any], t: float) -> None:
        rnd = self._round(d["number"])
        sel = d["selection"]
        meta = dict(sel.meta)
        eligible = meta.get("eligible")
        rows = rnd["proposals"]
        chosen = d.get("proposal")
        if chosen is not None and not any(r["tool"] == sel.pick for r in rows):
            rows.append({"tool": chosen.tool, "params": params_text(chosen.params),
                         "config": json.dumps(clean(chosen.params)), "ask_s": 0.0, "error": None,
                         "ei": None, "picked": False, "eligible": True})
        for r in rows:
            r["ei"] = sel.scores.get(r["tool"])
            r["picked"] = r["tool"] == sel.pick
            if eligible is not None and r["error"] is None:
                r["eligible"] = r["tool"] in eligible
        rnd["selection"] = {
            "pick": sel.pick, "picked_by": sel.picked_by, "who": who(sel.picked_by),
            "rationale": sel.rationale, "llm_s": meta.get("llm_s"), "backend": meta.get("backend"),
            "prompt_tokens": meta.get("prompt_tokens"), "cached_tokens": meta.get("cached_tokens"),
            "fallback_reason": meta.get("fallback_reason"), "shortlisted": eligible,
        }

    def _on_trial(self, d: dict[str, Any], t: float) -> None:
        self.add_trial(d["trial"])

    def add_trial(self, tr: Trial) -> None:
        """Record a finished trial (from an event, or from a journal when replaying)."""
        rnd = self._round(tr.number)
        rnd["result"] = {"value": tr.value, "ok": tr.ok, "error": tr.error, "eval_s": tr.duration_s}
        dec = tr.decision
        t0 = self.t0 if self.t0 is not None else tr.start
        self.trials.append({
            "n": tr.number, "value": tr.value if tr.ok else None, "ok": tr.ok, "t": max(tr.end - t0, 0.0),
            "tool": tr.tool, "by": tr.picked_by, "kv_prompt": dec.get("prompt_tokens"),
            "kv_cached": dec.get("cached_tokens"), "error": None if tr.ok else (tr.error or "failed")[:200],
            "fallback": dec.get("fallback_reason"),
        })
        for k in ("eval_s", "select_s", "llm_s", "exposed_s"):
            self.live_timing[k] += float(tr.timings.get(k, 0.0))
        self.live_timing["tools_s"] += float(tr.timings.get("ask_s", 0.0) + tr.timings.get("tell_s", 0.0))

    def _on_override_applied(self, d: dict[str, Any], t: float) -> None:
        ov = d["override"]
        what = f"{ov.tool}'s proposal" if ov.tool else "typed configuration"
        self._notice(f"round {d['number']}: override #{ov.id} applied ({what})", "ok")

    def _on_override_rejected(self, d: dict[str, Any], t: float) -> None:
        self._notice(f"round {d['number']}: override #{d['override'].id} rejected: {d['reason']}", "warn")

    def _on_paused(self, d: dict[str, Any], t: float) -> None:
        self.status = "paused"

    def _on_resumed(self, d: dict[str, Any], t: float) -> None:
        self.status = "stopping" if self.stop_requested else "running"

    def _on_speculation(self, d: dict[str, Any], t: float) -> None:
        keys = ("number", "predicted", "actual", "e", "tau", "accepted", "saved_s", "reason")
        self.speculation.append({k: d.get(k) for k in keys})

    def _on_tau(self, d: dict[str, Any], t: float) -> None:
        self.tau = {"tau": d.get("tau"), "frozen": bool(d.get("frozen", False))}

    def _on_run_end(self, d: dict[str, Any], t: float) -> None:
        run = d.get("run")
        self.stats = dict(getattr(run, "stats", {}) or {})
        # fewer trials than asked: stopped (by a human, or by timeout_s)
        self.status = "done" if len(self.trials) >= self.n_trials else "stopped"
        self.finished = True

    def _on_error(self, d: dict[str, Any], t: float) -> None:
        self.error = str(d.get("error"))
        self.status = "error"
        self.finished = True
        self._notice(f"run failed: {self.error}", "error")

    # views (flusher thread) -----------------------------------------------------------------
    def best(self) -> tuple[float | None, int | None]:
        vals = [(r["value"], r["n"]) for r in self.trials if r["value"] is not None]
        if not vals:
            return None, None
        pick = min if self.direction == "minimize" else max
        return pick(vals, key=lambda x: x[0])

    def timing(self) -> dict[str, Any]:
        s = self.stats
        if s:
            base = {k: float(s.get(k) or 0.0) for k in ("wall_s", "eval_s", "tools_s", "select_s", "llm_s",
                                                         "exposed_s")}
            base.update(kv_hit_rate=s.get("kv_hit_rate"), final=True)
            return base
        wall = (self.last_time - self.t0) if (self.t0 is not None and self.last_time is not None) else 0.0
        return {**self.live_timing, "wall_s": max(wall, 0.0), "kv_hit_rate": None, "final": self.finished}

    def snapshot(self, view_round: int = -1) -> dict[str, Any]:
        """The traitlet values: ``info``, ``round_view``, ``trials``, ``speculation``, ``timing``,
        ``notices`` (a JSON-safe dict; clears the dirty flag)."""
        with self.lock:
            self.dirty = False
            numbers = sorted(self.rounds)
            latest = numbers[-1] if numbers else None
            shown = view_round if view_round in self.rounds else latest
            best, best_n = self.best()
            info = {
                "status": self.status, "n_trials": self.n_trials, "done_trials": len(self.trials),
                "round": latest, "first_round": numbers[0] if numbers else None, "tools": self.tools,
                "best": best, "best_trial": best_n, "direction": self.direction, "error": self.error,
                "resumed": self.resumed, "elapsed": self.timing()["wall_s"],
                "live": not self.finished, "tau": self.tau,
                "failed": sum(not r["ok"] for r in self.trials),
                "fallbacks": sum(r["by"] == "fallback" for r in self.trials),
            }
            rv = self.rounds.get(shown) if shown is not None else None
            return clean({
                "info": info,
                "round_view": rv or {},
                "trials": self.trials,
                "speculation": self.speculation,
                "timing": self.timing(),
                "notices": self.notices,
            })
