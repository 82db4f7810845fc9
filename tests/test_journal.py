"""Journal: one fsync'd line per finished trial, header checks, torn lines, locking."""

from __future__ import annotations

import json

import pytest

from asap_lab import JournalError, TrialState
from asap_lab.journal import Journal, read_journal
from asap_lab.testing.tools import make_trial

HEADER = {"space": {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": False}}, "direction": "minimize"}


def _write(path, n: int) -> None:
    with Journal(path) as j:
        j.open(HEADER)
        for i in range(n):
            j.append_trial(make_trial(i, {"x": i / 10}, None if i == 1 else float(i)))


def test_roundtrip(tmp_path) -> None:
    p = tmp_path / "run.jsonl"
    _write(p, 3)
    lines = p.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["type"] == "header"
    c = read_journal(p)
    assert [t.number for t in c.trials] == [0, 1, 2]
    assert c.trials[1].state is TrialState.FAILED and c.trials[1].value is None
    assert c.trials[2].params == {"x": 0.2} and c.trials[2].value == 2.0


def test_torn_last_line_is_cut_with_warning(tmp_path) -> None:
    p = tmp_path / "run.jsonl"
    _write(p, 3)
    good = p.read_bytes()
    p.write_bytes(good + b'{"type":"trial","trial":{"number":3,"par')
    j = Journal(p)
    with pytest.warns(RuntimeWarning, match="torn last line"):
        contents = j.open(HEADER)
    assert len(contents.trials) == 3
    j.append_trial(make_trial(3, {"x": 0.3}, 3.0))
    j.close()
    assert [t.number for t in read_journal(p).trials] == [0, 1, 2, 3]


def test_complete_last_line_without_newline_is_kept(tmp_path) -> None:
    p = tmp_path / "run.jsonl"
    _write(p, 2)
    p.write_bytes(p.read_bytes().rstrip(b"\n"))
    j = Journal(p)
    assert len(j.open(HEADER).trials) == 2
    j.append_trial(make_trial(2, {"x": 0.2}, 2.0))
    j.close()
    assert len(read_journal(p).trials) == 3


def test_damaged_middle_line_is_an_error(tmp_path) -> None:
    p = tmp_path / "run.jsonl"
    _write(p, 3)
    lines = p.read_text().splitlines()
    lines[2] = lines[2][:10]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalError, match="line 3 is damaged"):
        Journal(p).open(HEADER)


def test_header_mismatch_and_lock(tmp_path) -> None:
    p = tmp_path / "run.jsonl"
    _write(p, 1)
    with pytest.raises(JournalError, match="different direction"):
        Journal(p).open({**HEADER, "direction": "maximize"})
    j = Journal(p)
    j.open(HEADER)
    with pytest.raises(JournalError, match="in use by another process"):
        Journal(p).open(HEADER)
    j.close()
    Journal(p).open(HEADER)  # lock released


def test_non_finite_and_numpy_values_are_valid_json(tmp_path) -> None:
    import numpy as np

    p = tmp_path / "run.jsonl"
    with Journal(p) as j:
        j.open(HEADER)
        j.append({"type": "note", "a": float("nan"), "b": np.float32(1.5), "c": np.arange(2)})
    rec = json.loads(p.read_text().splitlines()[1])
    assert rec == {"type": "note", "a": None, "b": 1.5, "c": [0, 1]}
