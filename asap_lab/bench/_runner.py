"""Runs the bench: one ``optimize`` call per (group, task, method, seed), one JSON record each.

Runs without an LLM go to ``jobs`` worker processes; runs with an LLM follow one at a time in
this process, after the others have finished, so that their measured decision latencies are
not inflated by the bench's own workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from asap_lab.bench._methods import get_method, optimize_kwargs
from asap_lab.bench._metrics import INF, regret_curve, selection_accuracy


@dataclass(frozen=True)
class RunSpec:
    """One run of the bench."""

    group: str  # "a" (tools vs pool), "b" (wall-clock, LLM), "d" (tau)
    task: str
    method: str
    seed: int
    n_trials: int
    llm: str | None = None
    pool: tuple[str, ...] | None = None
    eval_median_s: float | None = None  # tabular: scale recorded times to this median (None: x1)


def eval_scale(task: Any, eval_median_s: float | None) -> float:
    """Factor applied to a tabular task's recorded CV times (1 when not rescaled)."""
    if eval_median_s is None:
        return 1.0
    return float(eval_median_s / np.median(task.table.fit_s))


WARMUP = 4  # the EI selector's round-robin rounds: left out of selection accuracy for every method


def _selection_rounds(task: Any, trials: list[Any]) -> list[tuple[float, list[float]]]:
    rounds = []
    for t in trials:
        if t.number < WARMUP:
            continue
        valid = [p for p in t.proposals if p.error is None]
        if t.picked_by == "human" or not any(p.tool == t.tool for p in valid):
            continue  # no proposal of this round was picked (random fallback)
        rounds.append((task.value_of(t.params), [task.value_of(p.params) for p in valid]))
    return rounds


def run_one(spec: RunSpec, progress: Any = None) -> dict[str, Any]:
    """Run one spec and return its record (an ``error`` key instead of metrics if it failed)."""
    import warnings

    from asap_lab import optimize
    from asap_lab.tasks import get_task
    from asap_lab.tasks.tabular import TabularTask
    from asap_lab.trial import loss_of

    rec: dict[str, Any] = asdict(spec)
    t_real = time.perf_counter()
    try:
        task = get_task(spec.task)
        method = get_method(spec.method)
        tabular = isinstance(task, TabularTask)
        scale = eval_scale(task, spec.eval_median_s) if tabular else 1.0
        kw = optimize_kwargs(method, task, seed=spec.seed, n_trials=spec.n_trials, pool=spec.pool,
                             llm=spec.llm, eval_scale=scale)
        clock = kw.pop("clock")
        cbs = [progress] if progress is not None else []
        t0_wall = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = optimize(task, task.space, callbacks=cbs, **kw)
    except Exception as e:
        rec.update(error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=6))
        return rec
    s = run.stats
    losses = [loss_of(t, run.direction) for t in run.trials]
    known = task.optimum is not None  # else: regret against the best any run found (see analysis)
    regrets = regret_curve(losses, float(task.optimum)) if known else [INF] * len(losses)
    ends = [t.end - (t0_wall if clock == "real" else 0.0) for t in run.trials]
    norm = (task.worst - task.optimum) if tabular else 1.0
    tm = [t.timings for t in run.trials]
    decide = [x.get("ask_s", 0.0) + x.get("select_s", 0.0) + x.get("tell_s", 0.0) for x in tm]
    llm_lat = [float(t.decision["llm_s"]) for t in run.trials if "llm_s" in t.decision]
    rec.update(
        clock=clock, eval_scale=scale, optimum=float(task.optimum) if known else None, regret_norm=norm,
        losses=[x if x is not None and math.isfinite(x) else None for x in losses],
        regrets=[r if math.isfinite(r) else None for r in regrets], times=ends,
        final_regret=regrets[-1] if regrets and math.isfinite(regrets[-1]) else None,
        wall_s=s["wall_s"], eval_s=s["eval_s"], R=s["overhead_ratio"], decide_s=sum(decide),
        exposed_s=s["exposed_s"], llm_calls=s.get("llm_calls", 0), llm_fallbacks=s.get("llm_fallbacks", 0),
        llm_latency_mean=float(np.mean(llm_lat)) if llm_lat else None,
        llm_latency_first=llm_lat[0] if llm_lat else None,
        llm_backend=s.get("llm_backend"),
        kv_hit_rate=s.get("kv_hit_rate"), kv_prompt_tokens=s.get("kv_prompt_tokens"),
        kv_cached_tokens=s.get("kv_cached_tokens"), accept_rate=s.get("accept_rate"),
        spec_accepted=s.get("spec_accepted"), spec_rejected=s.get("spec_rejected"),
        tau_final=s.get("tau"), tau_history=s.get("tau_history"),
        cheap_regime_rounds=s.get("cheap_regime_rounds"),
        picks=s.get("picks"), picked_by={k: sum(t.picked_by == k for t in run.trials)
                                         for k in {t.picked_by for t in run.trials}},
        n_done=len(run.trials), real_s=time.perf_counter() - t_real,
    )
    if tabular:
        rec["selection"] = selection_accuracy(_selection_rounds(task, run.trials))
        if not method.speculate and clock == "hybrid":  # serial: wall = decisions + evaluations
            rec["wall_at_recorded_s"] = s["wall_s"] - s["eval_s"] + s["eval_s"] / scale
            rec["eval_at_recorded_s"] = s["eval_s"] / scale
    return rec


_LIMITS: Any = None


def _one_thread() -> None:
    """BLAS/OpenMP pools limited to one thread in this process (the runs must not compete with the
    LLM or with each other for the 2 cores; the embedded LLM runs on 1 thread too)."""
    global _LIMITS
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _LIMITS = threadpool_limits(limits=1)


class _TrialTick:
    """Event listener: advances a progress bar's postfix per finished trial."""

    def __init__(self, bar: Any, label: str, n: int) -> None:
        self.bar, self.label, self.n, self.k = bar, label, n, 0

    def __call__(self, ev: Any) -> None:
        if ev.kind == "trial" and self.bar is not None:
            self.k += 1
            self.bar.set_postfix_str(f"{self.label} trial {self.k}/{self.n}", refresh=True)


def run_all(specs: list[RunSpec], *, jobs: int = 2, show_progress: bool = True) -> list[dict[str, Any]]:
    """Run every spec (cheap ones in ``jobs`` processes, LLM ones serially after); records in
    the order of ``specs``."""
    bar = None
    if show_progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(specs), file=sys.stderr, unit="run", dynamic_ncols=True)
        except ImportError:  # the bench extra is not installed: no bar
            bar = None
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # restored on return (the tests call this in-process)
        return _run(specs, jobs, bar)


def _run(specs: list[RunSpec], jobs: int, bar: Any) -> list[dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    cheap = [i for i, s in enumerate(specs) if not get_method(s.method).uses_llm]
    llm = [i for i, s in enumerate(specs) if get_method(s.method).uses_llm]
    if jobs > 1 and len(cheap) > 1:
        with cf.ProcessPoolExecutor(max_workers=jobs, initializer=_one_thread) as ex:
            futs = {ex.submit(run_one, specs[i]): i for i in cheap}
            for f in cf.as_completed(futs):
                out[futs[f]] = f.result()
                if bar is not None:
                    bar.update(1)
    else:
        for i in cheap:
            out[i] = run_one(specs[i])
            if bar is not None:
                bar.update(1)
    for i in llm:
        s = specs[i]
        tick = _TrialTick(bar, f"{s.method} {s.task} seed {s.seed}", s.n_trials)
        out[i] = run_one(s, progress=tick)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [out[i] for i in range(len(specs))]
