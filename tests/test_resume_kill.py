"""Kill a journaled run with SIGKILL (repeatedly, at random points), rerun the same call: it
finishes with exactly n_trials trials and no finished trial is evaluated twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asap_lab.testing.resume import LOGGING_OBJECTIVE, assert_resumed_cleanly, journal_trials

SCRIPT = (
    "import sys\nCALLS, SLEEP_S = sys.argv[2], 0.15\n"
    + LOGGING_OBJECTIVE
    + textwrap.dedent(
        """
        if __name__ == "__main__":
            journal, n = sys.argv[1], int(sys.argv[3])
            run = al.optimize(objective, space, n_trials=n, tools=["tpe", "qmc", "cmaes"], seed=3,
                              journal=journal)
            print(len(run.trials))
        """
    )
)


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
        target = journal_trials(journal) + rng.randint(1, 3)
        deadline = time.time() + 60
        while journal_trials(journal) < target and proc.poll() is None and time.time() < deadline:
            time.sleep(rng.uniform(0.01, 0.1))
        time.sleep(rng.uniform(0.0, 0.15))  # land anywhere: inside an evaluation or between
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
            kills += 1
    assert kills >= 2, "the run finished before it could be killed; make it slower"
    assert journal_trials(journal) < n
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert final.stdout.strip().splitlines()[-1] == str(n)

    assert_resumed_cleanly(journal, calls, n, kills)
    log = calls.read_text().splitlines()
    # rerunning a finished study evaluates nothing
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and len(calls.read_text().splitlines()) == len(log)
