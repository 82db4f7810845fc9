"""Checks for crash-and-resume tests: a journaled run killed (SIGKILL) and run again.

The objective under test appends one line per evaluation it *starts* to a calls file
(:data:`LOGGING_OBJECTIVE` is such an objective, as source text for subprocesses and kernels);
:func:`assert_resumed_cleanly` then checks the journal against that log.
"""

from __future__ import annotations

import json
from pathlib import Path

from asap_lab.journal import read_journal

__all__ = ["LOGGING_OBJECTIVE", "assert_resumed_cleanly", "journal_trials"]

LOGGING_OBJECTIVE = '''
import json, os, time
import asap_lab as al

def objective(c):
    with open(CALLS, "a") as f:            # log every evaluation that starts
        f.write(json.dumps({"pid": os.getpid(), "t": time.time(), "params": c}) + "\\n")
        f.flush(); os.fsync(f.fileno())
    time.sleep(SLEEP_S)
    return (c["x"] - 1) ** 2 + c["k"]

space = {"x": al.Float(-3, 3), "k": al.Int(0, 4)}
'''


def journal_trials(journal: Path) -> int:
    """Finished trials in the journal now (-1 while it is missing or unreadable)."""
    try:
        return len(read_journal(journal).trials)
    except Exception:
        return -1


def assert_resumed_cleanly(journal: Path, calls: Path, n: int, kills: int) -> None:
    """After ``kills`` SIGKILLs and a final complete run: trials 0..n-1 exactly once, no finished
    trial evaluated again after it finished, at most one evaluation lost in flight per kill."""
    trials = read_journal(journal).trials
    assert [t.number for t in trials] == list(range(n)), [t.number for t in trials]
    log = [json.loads(line) for line in calls.read_text().splitlines()]
    # a trial killed in flight never finished, so evaluating it again after a resume is right
    finished = {json.dumps(t.params, sort_keys=True): t.end for t in trials}
    assert len(finished) == n, "a configuration was recorded twice"
    for e in log:
        key = json.dumps(e["params"], sort_keys=True)
        assert key not in finished or e["t"] <= finished[key], f"{key} evaluated again after it finished"
    assert n <= len(log) <= n + kills, (len(log), n, kills)
