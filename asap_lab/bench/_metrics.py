"""Metric functions of the bench (pure: lists and dicts in, numbers out).

Regret curves (best-so-far regret after each trial, and as a step function of wall-clock),
ranks across methods, selection accuracy against the round's counterfactual values, and
confidence intervals over seeds (t-interval for paired differences, percentile bootstrap for
mean ranks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

INF = math.inf


def best_so_far(losses: Sequence[float | None]) -> list[float]:
    """Running minimum of the losses (``inf`` until the first non-None, finite value)."""
    out, best = [], INF
    for x in losses:
        if x is not None and math.isfinite(x) and x < best:
            best = x
        out.append(best)
    return out


def regret_curve(losses: Sequence[float | None], optimum: float) -> list[float]:
    """Simple regret after each trial: best loss so far minus the optimum (``inf`` before any)."""
    return [b - optimum if math.isfinite(b) else INF for b in best_so_far(losses)]


def regret_at_time(times: Sequence[float], regrets: Sequence[float], t: float) -> float:
    """The regret reached by time ``t`` (step function over trial end ``times``; inf before)."""
    r = INF
    for ti, ri in zip(times, regrets, strict=True):
        if ti <= t:
            r = ri
    return r


def ranks(scores: Mapping[str, float]) -> dict[str, float]:
    """Rank of each method (1 = lowest score), ties sharing their mean rank."""
    items = sorted(scores.items(), key=lambda kv: kv[1])
    out: dict[str, float] = {}
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1][1] == items[i][1]:
            j += 1
        for k in range(i, j + 1):
            out[items[k][0]] = (i + j) / 2 + 1
        i = j + 1
    return out


def mean_ranks(blocks: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean rank of each method over blocks (one block = one task and seed: method -> score)."""
    per = [ranks(b) for b in blocks]
    names = sorted({m for b in per for m in b})
    return {m: float(np.mean([b[m] for b in per if m in b])) for m in names}


def selection_accuracy(rounds: Sequence[tuple[float, Sequence[float]]]) -> dict[str, float | int | None]:
    """How often the pick had the best true value among the round's valid proposals.

    ``rounds``: ``(picked value, [true value of every valid proposal])`` per round; rounds with
    fewer than two proposals or all-equal values are skipped (no choice to get right). A pick
    tying the best counts as right. ``chance`` is the expected accuracy of a uniform pick.
    """
    right, chance, n = 0, 0.0, 0
    for picked, values in rounds:
        vals = [v for v in values if v is not None and math.isfinite(v)]
        if len(vals) < 2 or min(vals) == max(vals):
            continue
        best = min(vals)
        n += 1
        right += picked == best
        chance += sum(v == best for v in vals) / len(vals)
    return {"accuracy": right / n if n else None, "chance": chance / n if n else None, "n": n}


def t_interval(xs: Sequence[float], conf: float = 0.95) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)`` of a Student-t interval; low/high are nan for n < 2."""
    from scipy import stats

    a = np.asarray([x for x in xs if math.isfinite(x)], dtype=float)
    n = len(a)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(a.mean())
    if n < 2:
        return m, math.nan, math.nan, n
    half = float(stats.t.ppf(0.5 + conf / 2, n - 1) * a.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def bootstrap_ci(xs: Sequence[float], stat: Callable[[np.ndarray], float] = np.mean, conf: float = 0.95,
                 n_boot: int = 4000, seed: int = 0) -> tuple[float, float, float, int]:
    """``(stat, low, high, n)`` with a percentile bootstrap interval (fixed seed)."""
    a = np.asarray([x for x in xs if math.isfinite(x)], dtype=float)
    n = len(a)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    rng = np.random.default_rng(seed)
    boots = np.array([stat(a[rng.integers(0, n, n)]) for _ in range(n_boot)])
    lo, hi = np.quantile(boots, [(1 - conf) / 2, (1 + conf) / 2])
    return float(stat(a)), float(lo), float(hi), n


def compare(low: float, high: float, *, better: str = "lower") -> str:
    """Where an interval of a difference (A - B) lies: "A better", "B better" or "overlap"."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "overlap"
    if high < 0:
        return "A better" if better == "lower" else "B better"
    if low > 0:
        return "B better" if better == "lower" else "A better"
    return "overlap"


def claim_verdict(gain: tuple[float, float], harm: tuple[float, float] | None = None) -> str:
    """Verdict from two intervals: ``gain`` (> 0 means the claimed effect) and optional ``harm``
    (> 0 means significantly worse regret). Supported: gain's interval above 0 and harm not
    significantly above 0; not supported: gain's interval below 0 or harm above 0; otherwise
    inconclusive."""
    glo, ghi = gain
    harm_sig = harm is not None and math.isfinite(harm[0]) and harm[0] > 0
    if (math.isfinite(ghi) and ghi < 0) or harm_sig:
        return "not supported"
    if math.isfinite(glo) and glo > 0:
        return "supported"
    return "inconclusive (CI overlaps 0)" if math.isfinite(glo) else "inconclusive (too few runs for a CI)"
