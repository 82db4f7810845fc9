"""The result of a run: trials, the best one, and the wall-clock decomposition."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asap_lab.space import Space
from asap_lab.trial import Trial, loss_of


@dataclass
class Run:
    """What :func:`asap_lab.optimize` returns.

    ``trials`` holds every finished trial of the study (resumed ones included); ``stats`` the
    time decomposition of this session (see :func:`summarize`).
    """

    space: Space
    direction: str
    trials: list[Trial]
    stats: dict[str, Any] = field(default_factory=dict)
    journal: Path | None = None

    @property
    def best_trial(self) -> Trial | None:
        ok = [t for t in self.trials if loss_of(t, self.direction) is not None]
        return min(ok, key=lambda t: (loss_of(t, self.direction), t.number)) if ok else None

    @property
    def best_value(self) -> float | None:
        b = self.best_trial
        return None if b is None else b.value

    @property
    def best_params(self) -> dict[str, Any] | None:
        b = self.best_trial
        return None if b is None else dict(b.params)

    def best_curve(self) -> list[float | None]:
        """Best value so far after each trial (None before the first success)."""
        out: list[float | None] = []
        best: float | None = None
        for t in self.trials:
            loss = loss_of(t, self.direction)
            if loss is not None and (best is None or loss < best):
                best = loss
            out.append(None if best is None else (best if self.direction == "minimize" else -best))
        return out

    def __repr__(self) -> str:
        return (f"Run(n_trials={len(self.trials)}, best_value={self.best_value!r}, "
                f"wall_s={self.stats.get('wall_s', 0.0):.2f})")


def summarize(trials: list[Trial], session: str, wall_s: float, final_tell_s: float,
              n_workers: int = 1) -> dict[str, Any]:
    """Time decomposition of one session: where the wall-clock went.

    ``eval_s`` is time inside the objective, ``tools_s`` asking and telling the tools,
    ``select_s`` the selector (``llm_s`` the part spent in the LLM), ``exposed_s`` the time
    between the end of one evaluation and the start of the next (plus the final tell), and
    ``overhead_ratio`` = wall / eval (R in the benchmarks; 1.0 means nothing was exposed).
    With ``n_workers`` > 1 those sums run over the slots: ``exposed_s`` adds each slot's idle
    gaps, R ideally falls to 1 / n_workers, and ``parallel_efficiency`` = eval / (n_workers x
    wall) is the share of worker time spent evaluating; ``workers`` counts this session's
    trials per worker (``trial.decision["worker"]``: host:pid, or Ray node:pid).
    """
    mine = [t for t in trials if t.session == session]
    tm = [t.timings for t in mine]
    eval_s = sum(x.get("eval_s", 0.0) for x in tm)
    stats: dict[str, Any] = {
        "wall_s": wall_s,
        "eval_s": eval_s,
        "tools_s": sum(x.get("ask_s", 0.0) + x.get("tell_s", 0.0) for x in tm) + final_tell_s,
        "select_s": sum(x.get("select_s", 0.0) for x in tm),
        "llm_s": sum(x.get("llm_s", 0.0) for x in tm),
        "exposed_s": sum(x.get("exposed_s", 0.0) for x in tm) + final_tell_s,
        "n_trials": len(trials),
        "n_session_trials": len(mine),
        "n_resumed": len(trials) - len(mine),
        "n_failed": sum(not t.ok for t in trials),
        "overhead_ratio": wall_s / eval_s if eval_s > 0 else float("inf"),
    }
    stats["n_workers"] = n_workers
    stats["parallel_efficiency"] = eval_s / (n_workers * wall_s) if wall_s > 0 else None
    workers: dict[str, int] = {}
    for t in mine:
        if "worker" in t.decision:
            workers[str(t.decision["worker"])] = workers.get(str(t.decision["worker"]), 0) + 1
    stats["workers"] = workers
    stats.update(_llm_stats(mine))
    picks: dict[str, int] = {}
    for t in trials:
        picks[t.tool] = picks.get(t.tool, 0) + 1
    stats["picks"] = picks
    return stats


def _llm_stats(trials: list[Trial]) -> dict[str, Any]:
    """KV-cache accounting read from the engine: hit rate over LLM calls after the first."""
    calls = [t.decision for t in trials if "prompt_tokens" in t.decision]
    later = calls[1:]
    prompt = sum(int(d["prompt_tokens"]) for d in later)
    cached = sum(int(d["cached_tokens"]) for d in later)
    return {
        "llm_calls": len(calls),
        "llm_fallbacks": sum(t.picked_by == "fallback" for t in trials),
        "kv_prompt_tokens": prompt,
        "kv_cached_tokens": cached,
        "kv_hit_rate": cached / prompt if prompt else None,
        "prompt_compactions": max((int(t.decision.get("compactions", 0)) for t in trials), default=0),
        "llm_backend": next((d["backend"] for d in calls), None),
    }
