"""Executors: the shared conformance suite over thread, process and Ray executors, and the
parallel loop on a local pool (no Ray needed): trials over both slots, controls, resume,
determinism with ``ordered=True``, speculation per slot on the simulated clock, argument errors."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time

import pytest

import asap_lab as al
from asap_lab import ConfigError, Float, Int, TrialState
from asap_lab.executors import ProcessExecutor, RayExecutor, ThreadExecutor, wait_first
from asap_lab.journal import read_journal
from asap_lab.scheduler import SimClock, SimLane
from asap_lab.testing import executors as conf

HAVE_RAY = importlib.util.find_spec("ray") is not None
SPACE = {"x": Float(-3, 3), "k": Int(0, 5)}
TOOLS = ["random", "tpe", "qmc"]


def bowl(c):
    return (c["x"] - 1) ** 2 + abs(c["k"] - 2)


def slow_bowl(c):
    time.sleep(0.05)
    return bowl(c)


def _wait_for(pred, timeout=60.0):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


# conformance ---------------------------------------------------------------------------------
def test_thread_executor_conforms() -> None:
    conf.run_conformance(lambda n, t: ThreadExecutor(n, timeout_s=t))


@pytest.mark.slow
def test_process_executor_conforms() -> None:
    conf.run_conformance(lambda n, t: ProcessExecutor(n, timeout_s=t))


@pytest.fixture(scope="module")
def local_ray():
    if not HAVE_RAY:
        pytest.skip('ray is not installed (pip install -e ".[ray]"); CI installs it')
    return conf.shared_local_ray()  # shut down at exit, shared with tests/test_ray.py


@pytest.mark.slow
def test_ray_executor_conforms(local_ray) -> None:
    conf.run_conformance(lambda n, t: RayExecutor(n_workers=n, timeout_s=t))


def test_the_simulated_lane_takes_n_slots_and_charges_durations() -> None:
    clock = SimClock()
    lane = SimLane(clock, lambda c, n: 1.0 + c["x"], n_slots=2)
    a, b = lane.submit(bowl, {"x": 2.0, "k": 2}, 0), lane.submit(bowl, {"x": 0.0, "k": 2}, 1)
    with pytest.raises(RuntimeError):
        lane.submit(bowl, {"x": 1.0, "k": 2}, 2)
    first = wait_first([a, b])
    assert first is b and b.result().value == 1.0 and clock.now() == 1.0
    assert not a.done() and lane.submit(bowl, {"x": 1.0, "k": 2}, 2).slot == 1


def test_import_asap_lab_does_not_import_ray() -> None:
    code = "import sys, asap_lab, asap_lab.executors, asap_lab.scheduler; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# the parallel loop on a local pool -----------------------------------------------------------
def test_two_thread_workers_share_the_run_without_repeating_a_configuration(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    run = al.optimize(slow_bowl, SPACE, n_trials=10, tools=TOOLS, seed=0, n_workers=2, journal=path)
    assert [t.number for t in run.trials] == list(range(10))
    assert sorted(t.decision["decided"] for t in run.trials) == list(range(10))
    assert {t.decision["slot"] for t in run.trials} == {0, 1}
    workers = run.stats["workers"]
    assert len(workers) == 2 and sum(workers.values()) == 10 and run.stats["n_workers"] == 2
    keys = {tuple(sorted(t.params.items())) for t in run.trials}
    assert len(keys) == 10  # pending configurations are refused, in-flight ones fantasised
    for k in ("wall_s", "eval_s", "exposed_s", "tools_s", "select_s", "overhead_ratio",
              "parallel_efficiency"):
        assert run.stats[k] is not None
    assert [t.number for t in read_journal(path).trials] == list(range(10))
    again = al.optimize(slow_bowl, SPACE, n_trials=13, tools=TOOLS, seed=0, n_workers=2, journal=path)
    assert [t.number for t in again.trials] == list(range(13))  # resumes, numbering continues
    assert again.trials[:10] == read_journal(path).trials[:10]


def test_slots_prefer_different_tools() -> None:
    run = al.optimize(slow_bowl, SPACE, n_trials=6, tools=TOOLS, seed=0, n_workers=3,
                      simulate={"eval_s": 1.0})
    first = run.trials[:3]  # three slots decided at once: three different tools
    assert len({t.tool for t in first}) == 3
    spread = [p for t in run.trials for p in t.proposals if p.error and "in flight" in p.error]
    assert spread  # the passed-over proposals say why


@pytest.mark.slow
def test_ordered_results_do_not_depend_on_the_executor() -> None:
    kw = dict(n_trials=8, tools=TOOLS, seed=3, n_workers=2, ordered=True)
    a = al.optimize(conf.bowl, SPACE, executor="thread", **kw)
    b = al.optimize(conf.bowl, SPACE, executor="process", **kw)
    assert [(t.params, t.value, t.tool) for t in a.trials] == [(t.params, t.value, t.tool) for t in b.trials]
    assert b.stats["workers"] and all(":" in w for w in b.stats["workers"])


def test_failures_and_timeouts_in_one_slot_leave_the_other_running() -> None:
    def flaky(c):
        if c["k"] == 3:
            time.sleep(5)
        if c["k"] == 4:
            raise ValueError("k=4 is broken")
        return bowl(c)

    run = al.optimize(flaky, SPACE, n_trials=14, tools=["random"], seed=1, n_workers=2, trial_timeout_s=1.0)
    assert len(run.trials) == 14
    for t in run.trials:
        if t.params["k"] == 3:
            assert t.state is TrialState.FAILED and "timed out after 1 s" in t.error
        elif t.params["k"] == 4:
            assert t.state is TrialState.FAILED and "k=4 is broken" in t.error
        else:
            assert t.ok
    assert any(t.params["k"] in (3, 4) for t in run.trials) and any(t.ok for t in run.trials)


def test_speculation_per_slot_on_the_simulated_clock(tmp_path) -> None:
    path = tmp_path / "spec.jsonl"
    kw = dict(n_trials=30, tools=TOOLS, seed=0, n_workers=3, speculate=True,
              simulate={"eval_s": lambda c, n: 1.0 + abs(c["x"]), "latency": {"ask": 0.1, "select": 0.2}})
    run = al.optimize(bowl, SPACE, journal=path, **kw)
    again = al.optimize(bowl, SPACE, **kw)
    assert [t.params for t in run.trials] == [t.params for t in again.trials]  # no timing in it
    s = run.stats
    assert s["spec_accepted"] > 0 and s["spec_rejected"] > 0
    specs = [r for r in read_journal(path).records if r.get("type") == "spec"]
    assert len(specs) == s["spec_accepted"] + s["spec_rejected"]
    accepted = [t for t in run.trials if t.decision.get("speculative")]
    assert len(accepted) == s["spec_accepted"]
    # an accepted pick starts as its slot's result lands, unless the speculation overran it
    assert all(t.timings["exposed_s"] == pytest.approx(t.decision["overrun_s"]) for t in accepted)
    assert any(t.timings["exposed_s"] == 0.0 for t in accepted)
    assert s["overhead_ratio"] < 0.5  # three slots busy: wall well under the sum of evaluations
    assert set(s["workers"]) == {"sim-0", "sim-1", "sim-2"}


# controls with several slots -----------------------------------------------------------------
def test_stop_records_every_trial_in_flight(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    gate = threading.Event()
    started = []

    def gated(c):
        started.append(1)
        if len(started) > 4:
            gate.wait(30)
        return bowl(c)

    h = al.start(gated, SPACE, n_trials=100, tools=TOOLS, seed=0, n_workers=2, journal=path)
    _wait_for(lambda: len(started) >= 6)  # two evaluations held at the gate
    h.stop()
    gate.set()
    run = h.result(timeout=60)
    selections = [e for e in h.events if e.kind == "selection"]
    assert len(run.trials) == len(selections) == len(started) < 100  # nothing left running
    assert [t.number for t in read_journal(path).trials] == list(range(len(run.trials)))


def test_pause_holds_new_starts_and_overrides_apply_once() -> None:
    gate = threading.Event()

    def gated(c):
        gate.wait(30)
        return slow_bowl(c)

    h = al.start(gated, SPACE, n_trials=14, tools=TOOLS, seed=0, n_workers=2)
    h.override("qmc")
    h.override({"x": 1.0, "k": 2})
    gate.set()
    _wait_for(lambda: len(h.trials) >= 3)
    h.pause()
    _wait_for(lambda: any(e.kind == "paused" for e in h.events))
    n = len(h.trials)
    assert n < 14 and len([e for e in h.events if e.kind == "selection"]) == n  # in-flight ones landed
    h.resume()
    run = h.result(timeout=60)
    applied = [e for e in h.events if e.kind == "override_applied"]
    assert len(applied) == 2 and len(run.trials) == 14
    human = [t for t in run.trials if t.picked_by == "human"]
    assert [t.params for t in human if t.tool == "human"] == [{"x": 1.0, "k": 2}]
    assert [t.tool for t in human if t.tool != "human"] == ["qmc"]


# arguments -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_workers": 0}, "n_workers must be a positive integer"),
        ({"n_workers": "2"}, "n_workers must be a positive integer"),
        ({"executor": "gpu"}, "executor must be 'thread', 'process', 'ray' or a BaseExecutor"),
        ({"executor": ThreadExecutor(2), "n_workers": 3}, "n_workers=3 but the executor has 2 slots"),
        ({"executor": ThreadExecutor(2), "simulate": {"eval_s": 1.0}}, "takes no executor"),
        ({"ordered": "yes"}, "ordered must be True or False"),
    ],
)
def test_bad_executor_arguments_give_one_line(kwargs, message, tmp_path) -> None:
    path = tmp_path / "never.jsonl"
    with pytest.raises(ConfigError, match=message) as e:
        al.optimize(bowl, SPACE, n_trials=3, journal=path, **kwargs)
    assert "\n" not in str(e.value) and not path.exists()
    with pytest.raises(ConfigError, match=message):
        al.start(bowl, SPACE, n_trials=3, **kwargs)


def test_ray_missing_says_how_to_install(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[ray\]"'):
        al.optimize(bowl, SPACE, n_trials=3, executor="ray", n_workers=2)
