"""From the run records to the numbers of the report: per-claim comparisons and verdicts.

Every verdict is computed here from the measurements with the rule stated in
:func:`asap_lab.bench._metrics.claim_verdict`; nothing is asserted in advance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from asap_lab.bench._metrics import (
    bootstrap_ci,
    claim_verdict,
    mean_ranks,
    ranks,
    regret_at_time,
    regret_curve,
    t_interval,
)

Rec = dict[str, Any]


def ok(records: Sequence[Rec], group: str | None = None) -> list[Rec]:
    return [r for r in records if "error" not in r and (group is None or r["group"] == group)]


def norm_regret(r: Rec) -> float:
    """Final regret divided by the task's regret scale (tabular: worst - optimum); inf if none."""
    if r.get("final_regret") is None:
        return math.inf
    return float(r["final_regret"]) / float(r.get("regret_norm") or 1.0)


def _by(records: Sequence[Rec], *keys: str) -> dict[tuple[Any, ...], list[Rec]]:
    out: dict[tuple[Any, ...], list[Rec]] = defaultdict(list)
    for r in records:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def _ci(xs: Sequence[float]) -> dict[str, float]:
    m, lo, hi, n = t_interval(xs)
    return {"mean": m, "lo": lo, "hi": hi, "n": n}


def _paired(records: Sequence[Rec], a: str, b: str, fn: Any) -> list[float]:
    """``fn(rec_a, rec_b)`` for every (task, seed) where both methods have a record."""
    out = []
    for (_task, _seed), rs in sorted(_by(records, "task", "seed").items()):
        by_m = {r["method"]: r for r in rs}
        if a in by_m and b in by_m:
            v = fn(by_m[a], by_m[b])
            if v is not None and math.isfinite(v):
                out.append(float(v))
    return out


def claim_a(records: Sequence[Rec]) -> dict[str, Any]:
    """(a) the pool (+ EI selector) vs each single tool of the pool, by rank of final regret."""
    recs = ok(records, "a")
    blocks: list[dict[str, float]] = []
    for _key, rs in sorted(_by(recs, "task", "seed").items()):
        blocks.append({r["method"]: norm_regret(r) for r in rs})
    if not blocks:
        return {"measured": False}
    mr = mean_ranks(blocks)
    tools = sorted((m for m in mr if m.startswith("tool:")), key=lambda m: mr[m])
    out: dict[str, Any] = {"measured": "pool-ei" in mr and bool(tools), "mean_rank": mr,
                           "n_blocks": len(blocks), "tasks": sorted({r["task"] for r in recs}),
                           "seeds": sorted({r["seed"] for r in recs})}
    rank_ci = {}
    for m in mr:
        per = [ranks(b)[m] for b in blocks if m in b]
        v, lo, hi, n = bootstrap_ci(per)
        rank_ci[m] = {"mean": v, "lo": lo, "hi": hi, "n": n}
    out["rank_ci"] = rank_ci
    if not out["measured"]:
        return out
    best = tools[0]
    diffs = [ranks(b)["pool-ei"] - ranks(b)[best] for b in blocks if "pool-ei" in b and best in b]
    d, lo, hi, n = bootstrap_ci(diffs)
    out.update(best_tool=best, rank_diff={"mean": d, "lo": lo, "hi": hi, "n": n},
               verdict=claim_verdict((-hi, -lo)))
    # per task: mean final normalised regret per method, and where the pool is significantly worse
    per_task: dict[str, dict[str, dict[str, float]]] = {}
    losses = []
    for task, rs in sorted(_by(recs, "task").items()):
        by_m = _by(rs, "method")
        per_task[task[0]] = {m[0]: _ci([norm_regret(r) for r in v]) for m, v in sorted(by_m.items())}
        for m in by_m:
            if m[0] == "pool-ei":
                continue
            diff = _paired(rs, "pool-ei", m[0], lambda x, y: norm_regret(x) - norm_regret(y))
            c = _ci(diff)
            if math.isfinite(c["lo"]) and c["lo"] > 0:
                losses.append({"task": task[0], "vs": m[0], **c})
    out["per_task"] = per_task
    tab = [r for r in recs if r.get("selection")]
    out["selection"] = {m: v["selection"] for m, v in method_summary(tab).items()}
    out["pool_significantly_worse"] = losses
    return out


def _speed_and_regret(recs: Sequence[Rec], base: str, new: str) -> dict[str, Any]:
    """Speed-up wall(base)/wall(new) and regret(new) - regret(base), paired by task and seed;
    plus the regret each reached by the earlier of the two finishing times."""
    speed = _paired(recs, base, new, lambda b, n: b["wall_s"] / n["wall_s"])
    harm = _paired(recs, base, new, lambda b, n: norm_regret(n) - norm_regret(b))

    def at_budget(b: Rec, n: Rec) -> float:
        t = min(b["wall_s"], n["wall_s"])
        rb = regret_at_time(b["times"], [math.inf if x is None else x for x in b["regrets"]], t)
        rn = regret_at_time(n["times"], [math.inf if x is None else x for x in n["regrets"]], t)
        return (rn - rb) / float(n.get("regret_norm") or 1.0) if math.isfinite(rb + rn) else math.nan

    budget = _paired(recs, base, new, at_budget)
    s = _ci(speed)
    h = _ci(harm)
    return {"base": base, "new": new, "speedup": s, "regret_diff": h,
            "regret_diff_at_equal_wall": _ci(budget),
            "verdict": claim_verdict((s["lo"] - 1, s["hi"] - 1), (h["lo"], h["hi"])) if s["n"] else None}


def method_summary(recs: Sequence[Rec]) -> dict[str, dict[str, Any]]:
    """Per method: mean R, wall, final normalised regret, KV hit rate, accept rate, latency."""
    out = {}
    for (m,), rs in sorted(_by(recs, "method").items()):
        def col(key: str, rs: list[Rec] = rs) -> dict[str, float]:
            return _ci([float(r[key]) for r in rs if r.get(key) is not None])
        sel = [r["selection"] for r in rs if r.get("selection") and r["selection"]["n"]]
        out[m] = {"runs": len(rs), "R": col("R"), "wall_s": col("wall_s"), "eval_s": col("eval_s"),
                  "decide_s": col("decide_s"), "regret": _ci([norm_regret(r) for r in rs]),
                  "kv_hit_rate": col("kv_hit_rate"), "accept_rate": col("accept_rate"),
                  "llm_latency": col("llm_latency_mean"), "llm_first": col("llm_latency_first"),
                  "llm_fallbacks": sum(int(r.get("llm_fallbacks") or 0) for r in rs),
                  "llm_calls": sum(int(r.get("llm_calls") or 0) for r in rs),
                  "tau_final": col("tau_final"),
                  "cheap_rounds": sum(int(r.get("cheap_regime_rounds") or 0) for r in rs),
                  "R_at_recorded": _ci([r["wall_at_recorded_s"] / r["eval_at_recorded_s"] for r in rs
                                        if r.get("eval_at_recorded_s")]),
                  "selection": {
                      "accuracy": float(np.mean([s["accuracy"] for s in sel])) if sel else None,
                      "chance": float(np.mean([s["chance"] for s in sel])) if sel else None,
                      "rounds": int(sum(s["n"] for s in sel))}}
    return out


def claim_b(records: Sequence[Rec]) -> dict[str, Any]:
    """(b) ASAP full vs the serial LLM loop: wall-clock speed-up, regret kept."""
    recs = ok(records, "b")
    methods = {r["method"] for r in recs}
    out: dict[str, Any] = {"summary": method_summary(recs), "tasks": sorted({r["task"] for r in recs}),
                           "seeds": sorted({r["seed"] for r in recs})}
    if "llm-serial" in methods:
        out["speedup_vs_serial"] = {
            m: _ci(_paired(recs, "llm-serial", m, lambda b, n: b["wall_s"] / n["wall_s"]))
            for m in sorted(methods - {"llm-serial"})}
    if {"llm-serial", "asap-full"} <= methods:
        out.update(measured=True, main=_speed_and_regret(recs, "llm-serial", "asap-full"),
                   prompt_only=_speed_and_regret(recs, "llm-serial", "asap-nospec"),
                   spec_only=_speed_and_regret(recs, "asap-nospec", "asap-full"))
    else:
        out["measured"] = False
    if {"pool-ei", "ei-spec"} <= methods:
        out["ei_spec"] = _speed_and_regret(recs, "pool-ei", "ei-spec")
    return out


def claim_c(records: Sequence[Rec]) -> dict[str, Any]:
    """(c) KV-cache hit rate of the prefix-stable prompt vs the LLAMBO-style shuffled prompt."""
    recs = ok(records, "b")
    methods = {r["method"] for r in recs}
    if not {"llm-serial", "asap-nospec"} <= methods:
        return {"measured": False}
    diff = _ci(_paired(recs, "llm-serial", "asap-nospec", lambda b, n: n["kv_hit_rate"] - b["kv_hit_rate"]
                       if n.get("kv_hit_rate") is not None and b.get("kv_hit_rate") is not None else None))
    lat = _ci(_paired(recs, "llm-serial", "asap-nospec",
                      lambda b, n: b["llm_latency_mean"] / n["llm_latency_mean"]
                      if b.get("llm_latency_mean") and n.get("llm_latency_mean") else None))
    return {"measured": True, "hit_diff": diff, "latency_ratio": lat,
            "verdict": claim_verdict((diff["lo"], diff["hi"])) if diff["n"] else None}


def claim_d(records: Sequence[Rec]) -> dict[str, Any]:
    """(d) Self-Tuner vs fixed tau (speculation, EI selector, fixed simulated decision latency)."""
    recs = ok(records, "d")
    fixed = sorted({r["method"] for r in recs if r["method"].startswith("tau-fixed")})
    if not fixed or not any(r["method"] == "tau-tuned" for r in recs):
        return {"measured": False}
    comps = {f: _speed_and_regret(recs, f, "tau-tuned") for f in fixed}
    vs = [c["verdict"] for c in comps.values()]
    if all(v == "supported" for v in vs):
        overall = "supported"
    elif any(v == "not supported" for v in vs):
        overall = "not supported"
    else:
        overall = "inconclusive (CI overlaps 0)"
    return {"measured": True, "comparisons": comps, "verdict": overall, "summary": method_summary(recs),
            "tasks": sorted({r["task"] for r in recs}), "seeds": sorted({r["seed"] for r in recs})}


def where_asap_loses(records: Sequence[Rec]) -> dict[str, Any]:
    """Cheap evaluations: per-trial wall of the pool vs random search on the synthetic tasks."""
    recs = [r for r in ok(records, "a") if r["clock"] == "real"]
    out: dict[str, Any] = {}
    for m in ("pool-ei", "random"):
        xs = [r["wall_s"] / max(r["n_done"], 1) for r in recs if r["method"] == m]
        out[m] = _ci(xs)
    ratio = _paired(recs, "random", "pool-ei", lambda b, n: n["wall_s"] / max(b["wall_s"], 1e-9))
    out["wall_ratio_pool_over_random"] = _ci(ratio)
    out["tasks"] = sorted({r["task"] for r in recs})
    return out


def fill_regrets(records: Sequence[Rec]) -> list[Rec]:
    """Regret for tasks without a known optimum (real training tasks): against the best loss any
    run of the bench found on that task (``optimum_source`` says so)."""
    best: dict[str, float] = {}
    for r in ok(records):
        if r.get("optimum") is None:
            xs = [x for x in r.get("losses") or [] if x is not None]
            if xs:
                best[r["task"]] = min(best.get(r["task"], math.inf), min(xs))
    out = []
    for r in records:
        if "error" in r or r.get("optimum") is not None or r["task"] not in best:
            out.append(r)
            continue
        regs = regret_curve(r["losses"], best[r["task"]])
        fin = [x for x in regs if math.isfinite(x)]
        out.append({**r, "optimum": best[r["task"]], "optimum_source": "best found by any run",
                    "regrets": [x if math.isfinite(x) else None for x in regs],
                    "final_regret": regs[-1] if fin and math.isfinite(regs[-1]) else None})
    return out


def analyze(records: Sequence[Rec]) -> dict[str, Any]:
    errors = [{k: r[k] for k in ("group", "task", "method", "seed", "error")}
              for r in records if "error" in r]
    return {"a": claim_a(records), "b": claim_b(records), "c": claim_c(records), "d": claim_d(records),
            "loses": where_asap_loses(records), "errors": errors}
