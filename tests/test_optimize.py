"""The public API end to end with real optimizers: results, failures, errors, resume, events."""

from __future__ import annotations

import itertools
import math

import pytest

import asap_lab as al
from asap_lab import ConfigError, Float, Int, TrialState

SPACE = {"x": Float(-3, 3), "k": Int(0, 5)}


def bowl(c):
    return (c["x"] - 1) ** 2 + abs(c["k"] - 2)


def test_result_api_and_stats() -> None:
    run = al.optimize(bowl, SPACE, n_trials=12, tools=["tpe", "qmc", "cmaes"], seed=0)
    assert len(run.trials) == 12 and [t.number for t in run.trials] == list(range(12))
    assert run.best_value == min(t.value for t in run.trials)
    assert run.best_params == run.best_trial.params and bowl(run.best_params) == run.best_value
    t = run.trials[5]
    assert t.tool in {"tpe", "qmc", "cmaes"} and t.picked_by == "selector:ei"
    assert {p.tool for p in t.proposals} == {"tpe", "qmc", "cmaes"}
    assert t.end >= t.start > 0 and t.state is TrialState.COMPLETE and t.rationale
    for key in ("wall_s", "eval_s", "tools_s", "llm_s", "exposed_s"):
        assert run.stats[key] >= 0
    assert run.stats["wall_s"] >= run.stats["eval_s"]
    assert run.stats["llm_s"] == 0.0  # no LLM in this run
    curve = run.best_curve()
    assert curve[-1] == run.best_value and all(a >= b for a, b in itertools.pairwise(curve))


def test_seed_makes_runs_reproducible() -> None:
    a = al.optimize(bowl, SPACE, n_trials=10, tools=["tpe", "skopt-et", "cmaes"], seed=4)
    b = al.optimize(bowl, SPACE, n_trials=10, tools=["tpe", "skopt-et", "cmaes"], seed=4)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.tool for t in a.trials] == [t.tool for t in b.trials]


def test_random_alone_is_random_search_and_maximize() -> None:
    run = al.optimize(lambda c: -bowl(c), SPACE, n_trials=8, tools=["random"], seed=1, direction="maximize")
    assert {t.tool for t in run.trials} == {"random"}
    assert run.best_value == max(t.value for t in run.trials)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (float("nan"), "non-finite"),
        (float("inf"), "non-finite"),
        (None, "NoneType"),
        ("0.5", "str"),
        ({"loss": 1.0}, "without 'value'"),
        (RuntimeError("boom"), "RuntimeError: boom"),
    ],
)
def test_bad_objective_results_fail_the_trial_not_the_run(result, reason) -> None:
    calls = []

    def objective(c):
        calls.append(c)
        if len(calls) % 2 == 0:
            if isinstance(result, Exception):
                raise result
            return result
        return bowl(c)

    run = al.optimize(objective, SPACE, n_trials=6, tools=["tpe", "random"], seed=0)
    assert len(run.trials) == 6 and len(calls) == 6
    failed = [t for t in run.trials if t.state is TrialState.FAILED]
    assert [t.number for t in failed] == [1, 3, 5]
    assert all(reason in t.error and t.value is None for t in failed)
    assert run.stats["n_failed"] == 3 and math.isfinite(run.best_value)


def test_dict_objective_keeps_metrics() -> None:
    run = al.optimize(lambda c: {"value": bowl(c), "acc": 0.5}, SPACE, n_trials=3, tools=["random"], seed=0)
    assert all(t.metrics == {"acc": 0.5} for t in run.trials)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"n_trials": 0}, "n_trials must be a positive integer"),
        ({"n_trials": 2.5}, "n_trials must be a positive integer"),
        ({"n_trials": 3, "direction": "up"}, "direction must be"),
        ({"n_trials": 3, "tools": ["tpe", "magic"]}, "unknown tool 'magic'"),
        ({"n_trials": 3, "tools": []}, "non-empty"),
        ({"n_trials": 3, "seed": -1}, "seed must be"),
        ({"n_trials": 3, "selector": "oracle"}, "unknown selector"),
        ({"n_trials": 3, "timeout_s": 0}, "timeout_s"),
    ],
)
def test_bad_arguments_give_one_clear_error(kwargs, msg) -> None:
    with pytest.raises(ConfigError, match=msg) as ei:
        al.optimize(bowl, SPACE, **kwargs)
    assert "\n" not in str(ei.value)


def test_bad_space_and_objective() -> None:
    with pytest.raises(al.SpaceError, match="low < high"):
        al.optimize(bowl, {"x": Float(3, -3)}, n_trials=2)
    with pytest.raises(ConfigError, match="objective must be callable"):
        al.optimize("bowl", SPACE, n_trials=2)


def test_journal_resume_continues_numbering_without_reevaluating(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    seen: list[dict] = []

    def objective(c):
        seen.append(dict(c))
        return bowl(c)

    first = al.optimize(objective, SPACE, n_trials=5, tools=["tpe", "qmc"], seed=0, journal=path)
    assert len(first.trials) == 5 and len(seen) == 5
    second = al.optimize(objective, SPACE, n_trials=9, tools=["tpe", "qmc"], seed=0, journal=path)
    assert [t.number for t in second.trials] == list(range(9))
    assert len(seen) == 9  # only the 4 new ones were evaluated
    assert [t.params for t in second.trials[:5]] == [t.params for t in first.trials]
    assert second.stats["n_resumed"] == 5 and second.stats["n_session_trials"] == 4
    done = al.optimize(objective, SPACE, n_trials=9, tools=["tpe", "qmc"], seed=0, journal=path)
    assert len(seen) == 9 and len(done.trials) == 9
    with pytest.raises(al.JournalError, match="different space"):
        al.optimize(objective, {"y": Float(0, 1)}, n_trials=9, journal=path)


def test_timeout_stops_starting_trials() -> None:
    import time

    def slow(c):
        time.sleep(0.05)
        return bowl(c)

    run = al.optimize(slow, SPACE, n_trials=1000, tools=["random"], seed=0, timeout_s=0.5)
    assert 1 <= len(run.trials) < 100


def test_events_reach_listeners_and_a_broken_listener_is_detached() -> None:
    kinds: list[str] = []

    def broken(ev):
        raise ValueError("listener bug")

    with pytest.warns(RuntimeWarning, match="detached"):
        run = al.optimize(
            bowl,
            SPACE,
            n_trials=3,
            tools=["random", "tpe"],
            seed=0,
            callbacks=[lambda ev: kinds.append(ev.kind), broken],
        )
    assert len(run.trials) == 3
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("trial") == 3 and kinds.count("proposals") == 3 and kinds.count("selection") == 3


def test_a_broken_tool_does_not_end_the_run() -> None:
    from asap_lab.tools import RandomTool

    class Broken(RandomTool):
        name = "broken"

        def ask(self):
            raise RuntimeError("tool crashed")

    class Outside(RandomTool):
        name = "outside"

        def ask(self):
            return {"x": 99.0, "k": 0}

    run = al.optimize(bowl, SPACE, n_trials=4, tools=[Broken(), Outside(), "tpe"], seed=0)
    assert {t.tool for t in run.trials} == {"tpe"}
    errs = {p.tool: p.error for p in run.trials[0].proposals}
    assert "tool crashed" in errs["broken"] and "outside the space" in errs["outside"]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_hanging_objective_times_out_and_the_run_goes_on(executor) -> None:
    run = al.optimize(
        _hangs_on_k3, SPACE, n_trials=6, tools=["random"], seed=0, trial_timeout_s=1.0, executor=executor
    )
    assert len(run.trials) == 6
    hung = [t for t in run.trials if t.params["k"] == 3]
    assert all(t.state is TrialState.FAILED and "timed out after 1 s" in t.error for t in hung)
    assert all(t.ok for t in run.trials if t.params["k"] != 3)
    # the hung evaluation sleeps 30 s: well under that proves the timeout cut it (loose bound: the
    # machine may be loaded, and a killed process worker is replaced before the next trial)
    assert all(t.timings["eval_s"] < 15.0 for t in run.trials)


def _hangs_on_k3(c):
    import time as _t

    if c["k"] == 3:
        _t.sleep(30)
    return bowl(c)


def test_process_executor_reports_an_unpicklable_objective() -> None:
    run = al.optimize(lambda c: bowl(c), SPACE, n_trials=2, tools=["random"], seed=0, executor="process")
    assert all(not t.ok and "evaluation worker failed" in t.error for t in run.trials)


def test_bad_speculation_arguments_fail_before_the_journal_is_touched(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    for kwargs, msg in [
        ({"trial_timeout_s": 0}, "trial_timeout_s"),
        ({"spec_agreement": "x"}, "spec_agreement"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            al.optimize(bowl, SPACE, n_trials=2, journal=path, **kwargs)
        with pytest.raises(ConfigError, match=msg):
            al.start(bowl, SPACE, n_trials=2, journal=path, **kwargs)
    assert not path.exists()
