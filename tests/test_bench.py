"""asap bench: metric functions on hand-built inputs, the tabular benchmark (determinism, size,
grid = space), the hybrid clock, the analysis' verdict logic and an end-to-end smoke bench."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from asap_lab.bench._analysis import analyze, claim_b
from asap_lab.bench._metrics import (
    best_so_far,
    bootstrap_ci,
    claim_verdict,
    mean_ranks,
    ranks,
    regret_at_time,
    regret_curve,
    selection_accuracy,
    t_interval,
)
from asap_lab.scheduler import HybridClock
from asap_lab.tasks import get_task, list_tasks
from asap_lab.tasks.tabular import TABULAR_TASKS, load_table
from asap_lab.tasks.tabular._grid import GRIDS, evaluate_config
from asap_lab.tasks.tabular.generate import data_path, write

INF = math.inf


# metrics ----------------------------------------------------------------------------------------
def test_best_so_far_and_regret_curve() -> None:
    losses = [None, 5.0, 7.0, float("nan"), 2.0, 3.0]
    assert best_so_far(losses) == [INF, 5.0, 5.0, 5.0, 2.0, 2.0]
    assert regret_curve(losses, optimum=1.5) == [INF, 3.5, 3.5, 3.5, 0.5, 0.5]


def test_regret_at_time_is_a_step_function() -> None:
    times, regrets = [1.0, 2.0, 4.0], [3.0, 1.0, 0.0]
    assert regret_at_time(times, regrets, 0.5) == INF
    assert regret_at_time(times, regrets, 1.0) == 3.0
    assert regret_at_time(times, regrets, 3.9) == 1.0
    assert regret_at_time(times, regrets, 10.0) == 0.0


def test_ranks_share_ties_and_mean_ranks() -> None:
    assert ranks({"a": 0.0, "b": 0.0, "c": 1.0, "d": -1.0}) == {"d": 1.0, "a": 2.5, "b": 2.5, "c": 4.0}
    blocks = [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 2.0}, {"a": 0.0, "b": 0.0}]
    # a: ranks 1, 2, 1.5 -> 1.5; b: 2, 1, 1.5 -> 1.5
    assert mean_ranks(blocks) == {"a": 1.5, "b": 1.5}
    assert mean_ranks([{"a": 1.0, "b": 2.0, "c": 3.0}])["c"] == 3.0


def test_selection_accuracy_counts_best_picks_and_chance() -> None:
    rounds = [
        (1.0, [1.0, 2.0]),  # right; chance 1/2
        (2.0, [1.0, 2.0, 2.0]),  # wrong; chance 1/3
        (3.0, [3.0]),  # one proposal: skipped
        (1.0, [1.0, 1.0, 2.0]),  # a tie with the best counts as right; chance 2/3
        (4.0, [4.0, 4.0]),  # all equal: skipped
    ]
    out = selection_accuracy(rounds)
    assert out["n"] == 3
    assert out["accuracy"] == pytest.approx(2 / 3)
    assert out["chance"] == pytest.approx((1 / 2 + 1 / 3 + 2 / 3) / 3)
    assert selection_accuracy([])["accuracy"] is None


def test_t_interval_matches_the_formula() -> None:
    m, lo, hi, n = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, df=2) * sd / sqrt(n)
    assert (m, n) == (2.0, 3)
    assert lo == pytest.approx(2 - half) and hi == pytest.approx(2 + half)
    m, lo, hi, n = t_interval([5.0])
    assert m == 5.0 and n == 1 and math.isnan(lo) and math.isnan(hi)


def test_bootstrap_ci() -> None:
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0, 3)
    v, lo, hi, n = bootstrap_ci(list(range(100)))
    assert v == 49.5 and n == 100 and lo < 49.5 < hi and hi - lo < 20


def test_claim_verdict_rules() -> None:
    assert claim_verdict((0.1, 0.5)) == "supported"
    assert claim_verdict((0.1, 0.5), harm=(-0.2, 0.3)) == "supported"
    assert claim_verdict((0.1, 0.5), harm=(0.01, 0.3)) == "not supported"  # regret significantly worse
    assert claim_verdict((-0.5, -0.1)) == "not supported"
    assert claim_verdict((-0.1, 0.5)).startswith("inconclusive")
    assert claim_verdict((math.nan, math.nan)).startswith("inconclusive")


def _rec(method: str, seed: int, wall: float, regret: float, **kw: object) -> dict:
    base = {"group": "b", "task": "t", "method": method, "seed": seed, "wall_s": wall,
            "final_regret": regret, "regret_norm": 1.0, "times": [wall], "regrets": [regret], "R": 1.0,
            "eval_s": wall, "decide_s": 0.0, "clock": "hybrid", "n_done": 1}
    base.update(kw)
    return base


def test_claim_b_verdict_follows_the_measurements() -> None:
    fast = [_rec("llm-serial", s, w, 0.1) for s, w in enumerate([100.0, 110.0, 90.0])]
    fast += [_rec("asap-full", s, w, 0.1) for s, w in enumerate([50.0, 52.0, 47.0])]
    b = claim_b(fast)
    assert b["measured"] and b["main"]["verdict"] == "supported"
    assert b["main"]["speedup"]["mean"] == pytest.approx(np.mean([2.0, 110 / 52, 90 / 47]))
    worse = [r if r["method"] != "asap-full" else {**r, "final_regret": 0.5, "regrets": [0.5]} for r in fast]
    assert claim_b(worse)["main"]["verdict"] == "not supported"  # faster but regret worse every seed
    mixed = [_rec("llm-serial", s, 100.0, 0.1) for s in range(3)]
    mixed += [_rec("asap-full", s, w, 0.1) for s, w in enumerate([80.0, 130.0, 100.0])]
    assert claim_b(mixed)["main"]["verdict"].startswith("inconclusive")
    assert analyze(fast)["c"] == {"measured": False}


def _a_recs(regret: dict[str, list[float]]) -> list[dict]:
    out = []
    for method, values in regret.items():
        for i, v in enumerate(values):
            out.append(_rec(method, i % 3, 1.0, v, group="a", task=f"t{i // 3}", clock="sim"))
    return out


def test_claim_a_ranks_the_pool_against_the_best_single_tool() -> None:
    from asap_lab.bench._analysis import claim_a

    pool_best = _a_recs({"pool-ei": [0.0] * 6, "tool:x": [0.5] * 6, "tool:y": [0.2] * 6, "random": [1.0] * 6})
    a = claim_a(pool_best)
    assert a["mean_rank"] == {"pool-ei": 1.0, "tool:y": 2.0, "tool:x": 3.0, "random": 4.0}
    assert a["best_tool"] == "tool:y" and a["rank_diff"]["mean"] == -1.0 and a["verdict"] == "supported"
    tool_best = _a_recs({"pool-ei": [0.3] * 6, "tool:x": [0.1] * 6, "tool:y": [0.5] * 6})
    a = claim_a(tool_best)
    assert a["best_tool"] == "tool:x" and a["verdict"] == "not supported"
    assert {w["vs"] for w in a["pool_significantly_worse"]} == {"tool:x"}
    # the pool wins half the blocks and loses the other half: no verdict either way
    mixed = _a_recs({"pool-ei": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], "tool:x": [0.5] * 6})
    assert claim_a(mixed)["verdict"].startswith("inconclusive")


def test_fill_regrets_uses_the_best_any_run_found() -> None:
    from asap_lab.bench._analysis import fill_regrets

    recs = [{"group": "a", "task": "real", "method": m, "seed": 0, "optimum": None, "losses": ls,
             "regrets": [None] * len(ls), "final_regret": None} for m, ls in (("x", [3.0, 2.0]),
                                                                               ("y", [None, 4.0, 1.0]))]
    known = {"group": "a", "task": "syn", "method": "x", "seed": 0, "optimum": 0.0, "losses": [5.0],
             "regrets": [5.0], "final_regret": 5.0}
    x, y, k = fill_regrets([*recs, known])
    assert x["regrets"] == [2.0, 1.0] and x["final_regret"] == 1.0
    assert y["regrets"] == [None, 3.0, 0.0] and y["final_regret"] == 0.0 and y["optimum"] == 1.0
    assert k is known  # a known optimum is left alone


# tabular benchmark ------------------------------------------------------------------------------
def test_tabular_tasks_are_registered() -> None:
    for name in GRIDS:
        assert name in list_tasks()
        assert isinstance(get_task(name), TABULAR_TASKS[name])


def test_data_files_are_small() -> None:
    sizes = {name: data_path(name).stat().st_size for name in GRIDS}
    assert all(s < 200_000 for s in sizes.values()), sizes
    assert sum(sizes.values()) < 1_000_000


def test_wheel_ships_the_data_files() -> None:
    import tomllib

    import asap_lab.tasks.tabular as tab

    cfg = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    patterns = cfg["tool"]["setuptools"]["package-data"]["asap_lab.tasks.tabular"]
    shipped = {p.name for pat in patterns for p in Path(tab.__file__).parent.glob(pat)}
    assert shipped == {f"{name}.csv.gz" for name in GRIDS}


def test_importing_asap_lab_does_not_import_altair() -> None:
    import subprocess
    import sys

    code = "import sys, asap_lab, asap_lab.tasks, asap_lab.bench; print('altair' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_every_configuration_of_the_space_is_one_row(name: str) -> None:
    task = get_task(name)
    table = load_table(name)
    grid = list(GRIDS[name].configs())
    assert len(table.values) == len(grid) == GRIDS[name].size == len(table.index)
    for i, config in enumerate(grid):
        assert task.space.validate(config) == config
        assert table.row(config) == i
    rng = np.random.default_rng(0)
    for _ in range(200):  # whatever a tool can propose is on the grid
        config = task.space.validate(task.space.sample(rng))
        assert table.values[table.row(config)] == task.value_of(config)
    assert task.optimum == table.values.min() and task.regret(task.optimum) == 0.0
    best = grid[int(np.argmin(table.values))]
    assert task(best)["value"] == task.optimum
    assert np.all(table.fit_s > 0) and task.eval_time(best) == table.fit_s[int(np.argmin(table.values))]
    assert np.all((table.values >= 0) & (table.values <= 1))


def test_generator_reproduces_stored_values_bit_exactly() -> None:
    spec = GRIDS["tab-hgb-wine"]  # the fastest grid
    table = load_table(spec.name)
    configs = list(spec.configs())
    for i in (0, 1, len(configs) // 2, len(configs) - 1):
        value, fit_s = evaluate_config(spec, configs[i])
        assert value == table.values[i], (i, configs[i])  # bit-exact, not approx
        assert fit_s > 0  # times are measurements: stored, never compared


def test_writer_is_deterministic(tmp_path: Path) -> None:
    spec = GRIDS["tab-hgb-wine"]
    configs = list(spec.configs())[:3]
    rows = [{**c, "value": 0.1 * (i + 1) / 3, "fit_s": 0.5} for i, c in enumerate(configs)]
    write(spec, rows, tmp_path / "a.csv.gz")
    write(spec, rows, tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    text = gzip.decompress((tmp_path / "a.csv.gz").read_bytes()).decode().splitlines()
    assert text[0].split(",") == [*spec.params, "value", "fit_s"]
    assert float(text[2].split(",")[-2]) == rows[1]["value"]  # repr round-trips exactly


# hybrid clock -----------------------------------------------------------------------------------
def test_hybrid_clock_charges_real_time_and_simulated_waits() -> None:
    clock = HybridClock()
    t0 = clock.now()
    clock.advance_to(t0 + 100.0)
    t1 = clock.now()
    assert 100.0 <= t1 - t0 < 101.0
    clock.advance_to(t0)  # the past: nothing changes
    assert clock.now() >= t1
    with clock.work("select"):
        sum(range(200_000))
    assert clock.now() > t1  # the work block's real time is charged


def test_measured_decisions_clock_in_optimize() -> None:
    from asap_lab import ConfigError, optimize

    task = get_task("tab-hgb-wine")
    run = optimize(task, task.space, n_trials=4, tools=["qmc"], seed=0,
                   simulate={"eval_s": lambda c, n: 10.0 * task.eval_time(c), "decisions": "measured"})
    expected = sum(10.0 * task.eval_time(t.params) for t in run.trials)
    assert run.stats["eval_s"] == pytest.approx(expected, abs=0.05)  # + the lookups' real time
    assert run.stats["wall_s"] > run.stats["eval_s"]  # decisions add their real time
    # the plain simulated clock charges no decision time at all when no latency is given
    plain = optimize(task, task.space, n_trials=4, tools=["qmc"], seed=0,
                     simulate={"eval_s": lambda c, n: 10.0 * task.eval_time(c)})
    assert plain.stats["wall_s"] == pytest.approx(plain.stats["eval_s"], abs=1e-9)
    with pytest.raises(ConfigError, match=r"'latency'.*'measured'"):
        optimize(task, task.space, n_trials=2, simulate={"eval_s": 1.0, "decisions": "real"})


def test_run_one_record() -> None:
    from asap_lab.bench import RunSpec, run_one

    rec = run_one(RunSpec("b", "tab-hgb-wine", "pool-ei", 0, 6, pool=("tpe", "qmc"), eval_median_s=5.0))
    assert "error" not in rec, rec.get("traceback")
    assert rec["n_done"] == 6 and len(rec["regrets"]) == 6 and rec["clock"] == "hybrid"
    assert rec["selection"]["n"] <= 6
    assert rec["regrets"] == sorted(rec["regrets"], reverse=True)  # best-so-far never gets worse
    assert rec["wall_s"] >= rec["eval_s"] > 0
    # serial loop: wall = decisions + evaluations, so the unscaled wall keeps the same decisions
    decisions = rec["wall_s"] - rec["eval_s"]
    assert rec["wall_at_recorded_s"] - rec["eval_at_recorded_s"] == pytest.approx(decisions)
    bad = run_one(RunSpec("a", "branin", "asap-full", 0, 3))  # needs an LLM and a tabular task
    assert "error" in bad


def test_plan_of_a_preset() -> None:
    import dataclasses

    from asap_lab.bench import PRESETS, plan

    p = PRESETS["smoke"]
    specs = plan(p)
    n_a = len(p.a_tasks) * p.a_seeds * (len(p.pool) + 2)  # each tool alone, random, the pool
    n_b = len(p.b_tasks) * p.b_seeds * 2  # pool-ei and ei-spec: no LLM in smoke
    n_d = len(p.d_tasks) * p.d_seeds * (1 + len(p.fixed_taus))
    assert len(specs) == n_a + n_b + n_d
    assert {s.method for s in specs if s.group == "d"} == {"tau-tuned", "tau-fixed@0.1"}
    with_llm = plan(dataclasses.replace(p, llm="embedded"))
    llm_runs = [s for s in with_llm if s.method in ("llm-serial", "asap-nospec", "asap-full")]
    assert len(llm_runs) == len(p.b_tasks) * p.b_seeds * 3 and all(s.llm == "embedded" for s in llm_runs)


# end to end -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_asap_bench_smoke_end_to_end(tmp_path: Path) -> None:
    from asap_lab.cli import main

    out = tmp_path / "bench"
    rc = main(["bench", "--preset", "smoke", "--out", str(out), "--no-progress", "--jobs", "1"])
    assert rc == 0
    report = (out / "report.md").read_text()
    for head in ("## (a)", "## (b)", "## (c)", "## (d)", "## Where ASAP loses"):
        assert head in report
    for stem in ("regret_vs_trials", "regret_vs_wall", "mean_rank", "tau_history"):
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<svg")
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "results.json").read_text())
    assert len(data["records"]) == len([r for r in data["records"] if "error" not in r]) > 0
    assert (out / "command.txt").read_text().startswith("asap bench --preset smoke")
