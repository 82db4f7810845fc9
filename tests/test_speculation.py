"""Speculation: accept/reject, serial fallback, no fantasy in the real history, frozen tau,
override invalidation, a failing speculative branch, and the Self-Tuner on a simulated clock."""

from __future__ import annotations

import math
import statistics
import threading
import time
import warnings

import pytest

import asap_lab as al
from asap_lab.journal import read_journal
from asap_lab.scheduler import SelfTuner, relative_error
from asap_lab.selectors import BaseSelector, Selection
from asap_lab.tasks import get_task
from asap_lab.testing.tools import UniformTool
from asap_lab.tools import RandomTool

TASK = get_task("branin")
TOOLS = ["tpe", "cmaes", "random"]
SIM = {"eval_s": 10.0, "latency": {"ask": 0.5, "select": 2.0, "tell": 0.2}}


def _sim(n, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cmaes overflow warnings on long runs
        return al.optimize(
            TASK,
            TASK.space,
            n_trials=n,
            seed=0,
            speculate=True,
            selector="ei",
            tools=kw.pop("tools", TOOLS),
            simulate=kw.pop("simulate", SIM),
            **kw,
        )


def test_relative_error_and_tuner_basics() -> None:
    assert relative_error(1.1, 1.0) == pytest.approx(0.1)
    assert relative_error(0.0, 0.0) == 0.0 and relative_error(1e-3, 0.0) > 1e6
    assert math.isinf(relative_error(None, 1.0)) and math.isinf(relative_error(1.0, float("nan")))
    t = SelfTuner(tau=0.1, target=0.1, min_pairs=3)
    assert t.observe(0.05, False) > 0.1  # explore: widen after agreement
    frozen = SelfTuner(tau=0.3)
    frozen.freeze()
    for e, d in [(0.1, True), (0.2, False), (5.0, True)] * 10:
        frozen.observe(e, d)
    assert set(frozen.history) == {0.3}


def test_frozen_high_tau_accepts_and_zero_tau_rejects() -> None:
    acc = _sim(20, tau=1e9, freeze_tau=True)
    rej = _sim(20, tau=0.0, freeze_tau=True)
    assert acc.stats["spec_rejected"] == 0 and acc.stats["spec_accepted"] >= 15
    assert rej.stats["spec_accepted"] == 0 and rej.stats["spec_rejected"] >= 15
    spec_trials = [t for t in acc.trials if t.decision.get("speculative")]
    assert len(spec_trials) == acc.stats["spec_accepted"]
    assert all(t.timings["exposed_s"] == 0.0 for t in spec_trials)  # started the moment y landed
    assert not any(t.decision.get("speculative") for t in rej.trials)  # serial fallback each time
    # accepted speculation hides the decision: less wall-clock for the same 20 evaluations
    assert acc.stats["wall_s"] < rej.stats["wall_s"]
    assert acc.stats["eval_s"] == rej.stats["eval_s"] == 200.0
    assert set(acc.stats["tau_history"]) == {1e9} and set(rej.stats["tau_history"]) == {0.0}


def test_real_history_is_never_polluted_by_a_fantasy(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    run = _sim(15, tau=1e9, freeze_tau=True, journal=path)
    assert all(t.picked_by != "fantasy" for t in run.trials)
    assert all(t.value == TASK(t.params) for t in run.trials)  # every value is a real evaluation
    recs = read_journal(path).records
    assert [t.number for t in read_journal(path).trials] == list(range(15))
    specs = [r for r in recs if r["type"] == "spec"]
    assert specs and all(r["actual"] == TASK(run.trials[r["number"]].params) for r in specs)
    assert all(r["predicted"] != r["actual"] for r in specs)


def test_tools_are_told_only_real_trials() -> None:
    from asap_lab.tools import make_tool

    tools = [make_tool("tpe"), make_tool("cmaes")]
    run = al.optimize(
        TASK,
        TASK.space,
        n_trials=12,
        seed=0,
        speculate=True,
        selector="ei",
        tools=tools,
        simulate=SIM,
        tau=1e9,
        freeze_tau=True,
    )
    assert all(t.n_told_ == len(run.trials) for t in tools)
    assert all(len(t._study.trials) >= 0 for t in tools[:1])
    real = [ft for ft in tools[0]._study.trials if ft.state.name == "COMPLETE"]
    assert len(real) == 12 and {ft.value for ft in real} == {t.value for t in run.trials}


class _ForkBomb(RandomTool):
    name = "forkbomb"

    def fork(self):
        raise RuntimeError("cannot fork")


def test_an_exception_in_the_speculative_branch_does_not_kill_the_run() -> None:
    run = _sim(8, tools=[_ForkBomb(), "tpe"])
    assert len(run.trials) == 8
    run2 = al.optimize(
        TASK,
        TASK.space,
        n_trials=8,
        seed=0,
        speculate=True,
        selector="ei",
        tools=[_ForkBomb(), "tpe"],
        simulate=SIM,
        journal=None,
    )
    assert run2.stats["spec_accepted"] == 0 and run2.stats["spec_rejected"] == 0


def test_branch_failure_is_journaled(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    al.optimize(
        TASK,
        TASK.space,
        n_trials=6,
        seed=0,
        speculate=True,
        selector="ei",
        tools=[_ForkBomb(), "tpe"],
        simulate=SIM,
        journal=path,
    )
    reasons = [r["reason"] for r in read_journal(path).records if r["type"] == "spec"]
    assert reasons and all("branch failed: RuntimeError: cannot fork" in r for r in reasons)


def test_override_invalidates_a_pending_speculation() -> None:
    started = threading.Event()
    blocked = threading.Event()
    release = threading.Event()

    def objective(c):
        if started.is_set() and not release.is_set():
            blocked.set()
            release.wait(10)
        time.sleep(0.4)  # longer than a decision even on a loaded machine: not the cheap regime
        return TASK(c)

    h = al.start(
        objective,
        TASK.space,
        n_trials=10,
        seed=0,
        speculate=True,
        selector="ei",
        tools=TOOLS,
        tau=1e9,
        freeze_tau=True,
    )
    while len(h.trials) < 4:
        time.sleep(0.01)
    started.set()
    assert blocked.wait(30)  # an evaluation is running: the scheduler speculates beside it
    time.sleep(0.3)
    h.override({"x0": 1.0, "x1": 2.0})
    release.set()
    run = h.result(timeout=60)
    specs = [e.data for e in h.events if e.kind == "speculation"]
    assert any(s["reason"] == "invalidated by a human override" and not s["accepted"] for s in specs)
    human = [t for t in run.trials if t.picked_by == "human"]
    assert len(human) == 1 and human[0].params == {"x0": 1.0, "x1": 2.0}


class LastValueSelector(BaseSelector):
    """A test selector whose pick flips with the last observed value (buckets of width 0.5 in
    log |y|): a speculative decision made under a predicted value that is off by a relative
    error e disagrees with the serial one with probability about (2/3) * min(1, e / 0.5)."""

    name = "last-value"

    def select(self, proposals, context):
        last = context.history[-1].value if context.history and context.history[-1].ok else 0.0
        i = math.floor(math.log(abs(last) + 1e-12) / 0.5) % len(proposals)
        return Selection(proposals[i].tool, f"bucket {i}", "selector:last-value")


def noisy_branin(c):
    """Branin times a log-normal factor (sd 0.4) drawn from the configuration: a stationary world
    where no surrogate predicts well, so large relative errors keep occurring."""
    import numpy as np

    seed = abs(hash((round(c["x0"], 12), round(c["x1"], 12)))) % 2**32
    return TASK(c) * float(np.exp(np.random.default_rng(seed).normal(0, 0.4)))


def _tuner_run(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return al.optimize(
            noisy_branin,
            TASK.space,
            n_trials=500,
            seed=0,
            speculate=True,
            selector=LastValueSelector(),
            tools=[UniformTool(name="a"), UniformTool(name="b"), UniformTool(name="c")],
            simulate=SIM,
            spec_agreement="tool",
            **kw,
        )


@pytest.mark.slow
def test_self_tuner_converges_over_500_simulated_rounds_and_frozen_tau_never_moves() -> None:
    t0 = time.perf_counter()
    live = _tuner_run(tau=0.05, tau_target=0.1)
    frozen = _tuner_run(tau=0.05, freeze_tau=True)
    h = live.stats["tau_history"]
    assert len(h) >= 490
    tail = h[-150:]
    med = statistics.median(tail)
    assert 0 < med < 2.0, f"tau should settle strictly inside its range, got median {med}"
    assert max(tail) - min(tail) <= 0.5 * med + 1e-9, f"tau still wandering: {min(tail)}..{max(tail)}"
    assert set(frozen.stats["tau_history"]) == {0.05}
    # the tuned threshold keeps the measured disagreement near the target
    rate = live.stats["spec_disagreement_accepted"]
    assert rate is not None and rate <= 0.2, rate
    print(
        f"\n500 rounds x2 in {time.perf_counter() - t0:.0f} s; tuned tau median {med:.3g}, "
        f"accept {live.stats['accept_rate']:.2f} vs frozen {frozen.stats['accept_rate']:.2f}, "
        f"R {live.stats['overhead_ratio']:.3f} vs {frozen.stats['overhead_ratio']:.3f}, "
        f"disagreement among accepted {rate:.3f}"
    )


def test_cheap_evaluations_keep_the_llm_off_the_critical_path() -> None:
    from asap_lab.testing.fake_llm import FakeLLM

    fake = FakeLLM("first")
    sim = {"eval_s": 0.5, "latency": {"ask": 0.1, "select": 2.0, "tell": 0.1}}
    run = al.optimize(TASK, TASK.space, n_trials=30, seed=0, speculate=True, llm=fake, tools=TOOLS,
                      simulate=sim)
    cheap = [t for t in run.trials if t.decision.get("cheap_regime")]
    assert len(cheap) >= 15 and all(t.picked_by == "selector:ei" for t in cheap)
    assert len(fake.calls) < 15  # the LLM is consulted only every k-th round
    assert run.stats["cheap_regime_rounds"] == len(cheap)
    assert run.stats["spec_accepted"] + run.stats["spec_rejected"] <= 3  # no speculation there
    serial = al.optimize(TASK, TASK.space, n_trials=30, seed=0, speculate=False, llm=FakeLLM("first"),
                         tools=TOOLS, simulate=sim)
    assert run.stats["wall_s"] < 0.6 * serial.stats["wall_s"]
