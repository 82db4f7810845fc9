"""The Ray executor on a local Ray (``ray.init(num_cpus=2)`` on this machine, 2 workers): trials
spread over both workers, a worker killed mid-trial (the trial fails or is retried, the run goes
on), results equal to the local executor's for a deterministic objective."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import asap_lab as al
from asap_lab import ConfigError, Float, Int, TrialState
from asap_lab.executors import RayExecutor
from asap_lab.testing import executors as conf

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason='ray is not installed (pip install -e ".[ray]"); CI installs it'),
]
SPACE = {"x": Float(-3, 3), "k": Int(0, 5)}
TOOLS = ["random", "tpe", "qmc"]


@pytest.fixture(scope="module")
def ray():
    return conf.shared_local_ray(num_cpus=2)  # shared with tests/test_executors.py, shut down at exit


def _pid(worker: str) -> int:
    return int(worker.rsplit(":", 1)[1])


def _release_when(folder: Path, n: int) -> None:
    t0 = time.time()
    while len(list(folder.glob("pid-*.json"))) < n and time.time() - t0 < 120:
        time.sleep(0.02)
    (folder / "release").touch()


def test_a_run_spreads_over_both_workers(ray, tmp_path) -> None:
    # the gate opens only once two evaluations run at the same time (a serial run would wait
    # out the gate's patience and show one worker); later ones go to whichever worker is free
    opener = threading.Thread(target=_release_when, args=(tmp_path, 2))
    opener.start()
    run = al.optimize(conf.PidGate(str(tmp_path), sleep_s=0.2), SPACE, n_trials=8, tools=TOOLS, seed=0,
                      executor="ray", n_workers=2, journal=tmp_path / "run.jsonl")
    opener.join()
    assert len(run.trials) == 8 and all(t.ok for t in run.trials)
    workers = run.stats["workers"]
    assert len(workers) == 2 and sum(workers.values()) == 8, workers
    pids = {_pid(w) for w in workers}
    assert os.getpid() not in pids  # evaluated in Ray worker processes, journaled on the driver
    node = ray.get_runtime_context().get_node_id()[:8]
    assert all(w.startswith(node + ":") for w in workers)
    assert ray.is_initialized()  # optimize did not shut down the Ray it found


def _kill_first_evaluation(folder: Path, killed: dict) -> None:
    """Wait for the first evaluation's pid file, SIGKILL that worker, then release the gate."""
    t0 = time.time()
    while time.time() - t0 < 60:
        files = sorted(folder.glob("pid-*.json"), key=lambda p: p.stat().st_mtime)
        if files:
            pid = int(files[0].name.split("-")[1])
            killed["pid"], killed["config"] = pid, json.loads(files[0].read_text())
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    time.sleep(0.5)
    (folder / "release").touch()


@pytest.mark.parametrize("mode", ["fail", "retry"])
def test_a_worker_killed_mid_trial(ray, tmp_path, mode) -> None:
    killed: dict = {}
    killer = threading.Thread(target=_kill_first_evaluation, args=(tmp_path, killed))
    killer.start()
    ex = RayExecutor(n_workers=2, on_worker_lost=mode, max_retries=2)
    run = al.optimize(conf.PidGate(str(tmp_path)), SPACE, n_trials=6, tools=TOOLS, seed=0, executor=ex)
    killer.join()
    assert killed, "no evaluation started"
    assert len(run.trials) == 6  # the run went on
    hit = [t for t in run.trials if t.params == killed["config"]]
    assert len(hit) == 1
    others = [t for t in run.trials if t is not hit[0]]
    assert all(t.ok for t in others)
    if mode == "fail":
        assert hit[0].state is TrialState.FAILED
        assert hit[0].error.startswith("worker lost: WorkerCrashedError"), hit[0].error
        assert run.stats["n_failed"] == 1
    else:  # Ray re-ran the task on another worker process
        assert hit[0].ok and _pid(hit[0].decision["worker"]) != killed["pid"]
        assert run.stats["n_failed"] == 0


def test_results_equal_the_local_executor(ray) -> None:
    """A deterministic objective: one Ray worker vs one worker thread (the same serial loop), and
    two Ray workers vs two threads with ``ordered=True`` and speculation (results taken in
    submission order, so the parallel schedule does not depend on timing)."""
    one = dict(n_trials=8, tools=TOOLS, seed=5)
    a, b = (al.optimize(conf.bowl, SPACE, executor=e, **one) for e in ("thread", "ray"))
    assert [(t.params, t.value, t.tool) for t in a.trials] == [(t.params, t.value, t.tool) for t in b.trials]
    two = dict(n_trials=10, tools=TOOLS, seed=5, n_workers=2, ordered=True, speculate=True, tau=0.5)
    c, d = (al.optimize(conf.bowl, SPACE, executor=e, **two) for e in ("thread", "ray"))
    assert [(t.params, t.value, t.tool) for t in c.trials] == [(t.params, t.value, t.tool) for t in d.trials]
    assert c.stats["spec_accepted"] == d.stats["spec_accepted"]
    assert len(d.stats["workers"]) == 2


def test_ray_executor_arguments(ray) -> None:
    with pytest.raises(ConfigError, match="on_worker_lost must be 'fail' or 'retry'"):
        RayExecutor(on_worker_lost="ignore")
    with pytest.raises(ConfigError, match="max_retries must be a non-negative integer"):
        RayExecutor(max_retries=-1)
    assert "n_workers=3" in repr(RayExecutor(n_workers=3))
