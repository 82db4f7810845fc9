"""Kill a journaled run with SIGKILL (repeatedly, at random points), rerun the same call: it
finishes with exactly n_trials trials and no finished trial is evaluated twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asap_lab.journal import read_journal

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import asap_lab as al

    journal, calls, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def objective(c):
        with open(calls, "a") as f:            # log every evaluation that starts
            f.write(json.dumps({"pid": os.getpid(), "t": time.time(), "params": c}) + "\\n")
            f.flush(); os.fsync(f.fileno())
        time.sleep(0.15)
        return (c["x"] - 1) ** 2 + c["k"]

    if __name__ == "__main__":
        run = al.optimize(objective, {"x": al.Float(-3, 3), "k": al.Int(0, 4)}, n_trials=n,
                          tools=["tpe", "qmc", "cmaes"], seed=3, journal=journal)
        print(len(run.trials))
    """
)


def _n_trials(journal: Path) -> int:
    try:
        return len(read_journal(journal).trials)
    except Exception:
        return -1


@pytest.mark.slow
def test_sigkill_then_resume_loses_nothing_and_repeats_nothing(tmp_path) -> None:
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    journal, calls, n = tmp_path / "run.jsonl", tmp_path / "calls.jsonl", 14
    cmd = [sys.executable, str(script), str(journal), str(calls), str(n)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rng = random.Random(0)
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        target = _n_trials(journal) + rng.randint(1, 3)
        deadline = time.time() + 60
        while _n_trials(journal) < target and proc.poll() is None and time.time() < deadline:
            time.sleep(rng.uniform(0.01, 0.1))
        time.sleep(rng.uniform(0.0, 0.15))  # land anywhere: inside an evaluation or between
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
            kills += 1
    assert kills >= 2, "the run finished before it could be killed; make it slower"
    assert _n_trials(journal) < n
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert final.stdout.strip().splitlines()[-1] == str(n)

    trials = read_journal(journal).trials
    assert [t.number for t in trials] == list(range(n))
    log = [json.loads(line) for line in calls.read_text().splitlines()]
    # no finished trial is evaluated again: nothing with its configuration starts after it ended
    # (a trial killed in flight never finished, so evaluating it again after a resume is right)
    finished = {json.dumps(t.params, sort_keys=True): t.end for t in trials}
    assert len(finished) == n
    for e in log:
        key = json.dumps(e["params"], sort_keys=True)
        assert key not in finished or e["t"] <= finished[key], f"{key} evaluated again after it finished"
    # at most one evaluation per kill was lost in flight
    assert n <= len(log) <= n + kills
    # rerunning a finished study evaluates nothing
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and len(calls.read_text().splitlines()) == len(log)
