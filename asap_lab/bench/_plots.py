"""Altair charts of the bench, saved as SVG and PNG offline (vl-convert; no CDN).

Imported only by ``asap bench`` (altair is the optional ``bench`` extra).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def _scale(recs: list[dict[str, Any]]) -> dict[str, float]:
    """Per task, the regret that normalises its curves: tabular worst − best; synthetic the
    median regret after the first trial (so curves start near 1)."""
    first: dict[str, list[float]] = defaultdict(list)
    out = {}
    for r in recs:
        if r["regrets"] and r["regrets"][0] is not None:
            first[r["task"]].append(r["regrets"][0])
        if r["clock"] != "real":
            out[r["task"]] = float(r["regret_norm"])
    for task, xs in first.items():
        out.setdefault(task, float(np.median(xs)) or 1.0)
    return out


def _save(chart: Any, out: Path, stem: str) -> list[str]:
    names = []
    for ext in ("svg", "png"):
        path = out / f"{stem}.{ext}"
        chart.save(str(path), **({"scale_factor": 1.0} if ext == "png" else {}))
        names.append(path.name)
    return names


def regret_vs_trials(records: list[dict[str, Any]], out: Path) -> list[str]:
    import altair as alt

    recs = [r for r in records if r["group"] == "a" and "error" not in r]
    if not recs:
        return []
    sc = _scale(recs)
    acc: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in recs:
        for i, x in enumerate(r["regrets"]):
            if x is not None:
                acc[(r["task"], r["method"], i + 1)].append(x / sc[r["task"]])
    rows = [{"task": t, "method": m, "trial": i, "regret": max(float(np.mean(v)), 1e-4)}
            for (t, m, i), v in acc.items()]
    chart = alt.Chart(alt.Data(values=rows)).mark_line().encode(
        x=alt.X("trial:Q", title="trial"),
        y=alt.Y("regret:Q", scale=alt.Scale(type="log"), title="mean normalised regret (log, floor 1e-4)"),
        color=alt.Color("method:N"),
        strokeDash=alt.condition(alt.datum.method == "pool-ei", alt.value([1, 0]), alt.value([4, 2])),
    ).properties(width=220, height=160).facet(facet=alt.Facet("task:N"), columns=3).resolve_scale(
        y="independent").properties(title="(a) simple regret vs trials (mean over seeds)")
    return _save(chart, out, "regret_vs_trials")


def regret_vs_wall(records: list[dict[str, Any]], out: Path) -> list[str]:
    import altair as alt

    recs = [r for r in records if r["group"] in ("b", "d") and "error" not in r]
    if not recs:
        return []
    rows = []
    for r in recs:
        norm = float(r["regret_norm"] or 1.0)
        for t, x in zip(r["times"], r["regrets"], strict=True):
            if x is not None:
                rows.append({"panel": f"({r['group']}) {r['task']}", "method": r["method"],
                             "run": f"{r['method']} s{r['seed']}", "wall": t,
                             "regret": max(x / norm, 1e-4)})
    chart = alt.Chart(alt.Data(values=rows)).mark_line(interpolate="step-after").encode(
        x=alt.X("wall:Q", title="wall-clock (s, simulated evaluations)"),
        y=alt.Y("regret:Q", scale=alt.Scale(type="log"), title="normalised regret (log, floor 1e-4)"),
        color="method:N", detail="run:N",
    ).properties(width=300, height=180).facet(facet=alt.Facet("panel:N"), columns=2).resolve_scale(
        x="independent", y="independent").properties(title="simple regret vs wall-clock, one line per run")
    return _save(chart, out, "regret_vs_wall")


def mean_rank(analysis: dict[str, Any], out: Path) -> list[str]:
    import altair as alt

    a = analysis["a"]
    if not a.get("rank_ci"):
        return []
    rows = [{"method": m, "rank": c["mean"], "lo": c["lo"], "hi": c["hi"]} for m, c in a["rank_ci"].items()
            if math.isfinite(c["lo"])]
    base = alt.Chart(alt.Data(values=rows)).encode(y=alt.Y("method:N", sort="x"))
    chart = (base.mark_bar().encode(x=alt.X("rank:Q", title="mean rank (1 = best), 95% bootstrap CI"))
             + base.mark_rule().encode(x="lo:Q", x2="hi:Q")).properties(
        width=360, height=22 * len(rows), title="(a) mean rank across tasks and seeds")
    return _save(chart, out, "mean_rank")


def tau_history(records: list[dict[str, Any]], out: Path) -> list[str]:
    import altair as alt

    rows = [{"run": f"{r['task']} s{r['seed']}", "test": i + 1, "tau": max(float(t), 1e-5)}
            for r in records if r["group"] == "d" and r["method"] == "tau-tuned" and "error" not in r
            for i, t in enumerate(r.get("tau_history") or [])]
    if not rows:
        return []
    chart = alt.Chart(alt.Data(values=rows)).mark_line().encode(
        x=alt.X("test:Q", title="accept test"), y=alt.Y("tau:Q", scale=alt.Scale(type="log")),
        color="run:N").properties(width=420, height=200, title="(d) Self-Tuner: tau at each accept test")
    return _save(chart, out, "tau_history")


def make_plots(records: list[dict[str, Any]], analysis: dict[str, Any], out: Path) -> list[str]:
    """Write every chart to ``out``; returns the file names (empty if altair is missing)."""
    try:
        import altair  # noqa: F401
    except ImportError:
        return []
    files: list[str] = []
    for fn in (regret_vs_trials, regret_vs_wall, tau_history):
        files += fn(records, out)
    files += mean_rank(analysis, out)
    return files
