"""Human control of a live run through asap_lab.start(): pause/resume/stop, overrides applied
exactly once, invalid overrides rejected with a reason, errors surfaced by result()."""

from __future__ import annotations

import threading
import time

import pytest

import asap_lab as al
from asap_lab import Float, Int

SPACE = {"x": Float(-3, 3), "k": Int(0, 5)}


def slow_bowl(c):
    time.sleep(0.05)
    return (c["x"] - 1) ** 2 + abs(c["k"] - 2)


def _wait_for(pred, timeout=20.0):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def test_pause_resume_stop_leave_a_consistent_journal(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    h = al.start(slow_bowl, SPACE, n_trials=500, tools=["random", "tpe"], seed=0, journal=path)
    _wait_for(lambda: len(h.trials) >= 3)
    h.pause()
    _wait_for(lambda: any(e.kind == "paused" for e in h.events))
    n = len(h.trials)
    time.sleep(0.3)
    assert len(h.trials) == n and h.running  # nothing starts while paused
    h.resume()
    _wait_for(lambda: len(h.trials) >= n + 2)
    h.stop(wait=True, timeout=20)
    run = h.result()
    assert h.done and 5 <= len(run.trials) < 500
    from asap_lab.journal import read_journal

    assert [t.number for t in read_journal(path).trials] == [t.number for t in run.trials]


def test_override_by_tool_and_by_config_each_applied_once() -> None:
    gate = threading.Event()

    def gated(c):
        gate.wait(10)
        return slow_bowl(c)

    h = al.start(gated, SPACE, n_trials=6, tools=["random", "tpe", "qmc"], seed=0)
    h.override("qmc", note="try the sampler")
    h.override({"x": 1.0, "k": 2})
    gate.set()
    run = h.result(timeout=60)
    humans = [t for t in run.trials if t.picked_by == "human"]
    assert len(humans) == 2
    assert humans[0].tool == "qmc" and "try the sampler" in humans[0].rationale
    assert humans[1].tool == "human" and humans[1].params == {"x": 1.0, "k": 2} and humans[1].value == 0.0
    assert humans[1].number == humans[0].number + 1  # queued overrides apply to consecutive rounds
    assert [e.kind for e in h.events].count("override_applied") == 2


def test_invalid_overrides_are_rejected_with_a_reason_and_nothing_is_lost() -> None:
    gate = threading.Event()

    def gated(c):
        gate.wait(10)
        return slow_bowl(c)

    h = al.start(gated, SPACE, n_trials=4, tools=["random", "tpe"], seed=0)
    h.override({"x": 99.0, "k": 2})
    h.override("cmaes")
    gate.set()
    run = h.result(timeout=60)
    assert len(run.trials) == 4 and all(t.picked_by != "human" for t in run.trials)
    reasons = [e.data["reason"] for e in h.events if e.kind == "override_rejected"]
    assert len(reasons) == 2
    assert "outside [-3, 3]" in reasons[0] and "no usable proposal from 'cmaes'" in reasons[1]
    with pytest.raises(TypeError, match="tool name or a config dict"):
        h.override(3)


def test_start_checks_arguments_before_the_thread_and_result_reraises() -> None:
    with pytest.raises(al.ConfigError, match="unknown tool"):
        al.start(slow_bowl, SPACE, n_trials=3, tools=["nope"])
    with pytest.raises(al.ConfigError, match="unknown argument 'trials'"):
        al.start(slow_bowl, SPACE, trials=3)
    h = al.start(slow_bowl, SPACE, n_trials=3, tools=["random"], journal="/proc/forbidden/run.jsonl")
    with pytest.raises(OSError):
        h.result(timeout=20)
    assert h.events[-1].kind == "error"


def test_late_subscriber_gets_replayed_events() -> None:
    h = al.start(slow_bowl, SPACE, n_trials=3, tools=["random"], seed=0)
    h.result(timeout=30)
    seen = []
    h.subscribe(seen.append)
    kinds = [e.kind for e in seen]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert repr(h).startswith("<RunHandle done, 3 trials")


def test_freeze_tau_validates() -> None:
    c = al.Controls()
    c.freeze_tau(0.2)
    assert c.tau_frozen and c.tau_value == 0.2
    c.unfreeze_tau()
    assert not c.tau_frozen
    with pytest.raises(ValueError, match="non-negative"):
        c.freeze_tau(-1)
