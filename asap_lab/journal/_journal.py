"""The journal: an append-only JSON-lines file, fsync'd per record, that a run resumes from.

Line 1 is a ``header`` record (format version, space, direction, tool names). Each finished trial
is one ``trial`` record holding its proposals, pick, rationale, timings and result; other record
types (``session``, and later ``spec``/``event``) carry run-level facts. A trial that was running
when the process died has no record, so resuming evaluates it again and never evaluates a
finished one twice. A torn last line (the process died mid-write) is cut off with a warning; a
damaged line anywhere else is an error. An exclusive ``flock`` keeps two processes from writing
one journal at the same time.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asap_lab.errors import JournalError
from asap_lab.trial import Trial

FORMAT_VERSION = 1


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _clean(o: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def dumps(record: dict[str, Any]) -> str:
    """One journal line (no trailing newline): compact, key order kept, strict JSON."""
    return json.dumps(_clean(record), default=_default, separators=(",", ":"), allow_nan=False)


@dataclass
class JournalContents:
    """What a journal file holds."""

    header: dict[str, Any] | None
    trials: list[Trial] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    torn_bytes: int = 0  # size of a torn last line that was (or would be) cut off
    good_size: int = 0  # byte length of the well-formed part
    missing_newline: bool = False


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Parse a journal without modifying it."""
    p = Path(path)
    data = p.read_bytes() if p.exists() else b""
    out = JournalContents(header=None)
    pos = 0
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        last = i == len(lines) - 1
        if last and raw == b"":
            break
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict) or "type" not in rec:
                raise ValueError("not a record")
        except ValueError as e:
            if last or all(not ln.strip() for ln in lines[i + 1:]):
                out.torn_bytes = len(data) - pos
                break
            raise JournalError(f"journal {p}: line {i + 1} is damaged ({e}); refusing to resume") from None
        pos += len(raw) + (0 if last else 1)
        out.missing_newline = last  # a complete record whose newline never got written
        out.records.append(rec)
        if rec["type"] == "header":
            if out.header is not None:
                raise JournalError(f"journal {p}: a second header at line {i + 1}")
            out.header = rec
        elif rec["type"] == "trial":
            try:
                out.trials.append(Trial.from_dict(rec["trial"]))
            except (KeyError, TypeError, ValueError) as e:
                raise JournalError(f"journal {p}: line {i + 1} holds a malformed trial ({e})") from None
    out.good_size = pos
    if out.records and out.header is None:
        raise JournalError(f"journal {p}: the first record is not a header")
    numbers = [t.number for t in out.trials]
    if numbers != list(range(len(numbers))):
        raise JournalError(f"journal {p}: trial numbers are not 0..n-1 in order")
    return out


class Journal:
    """Writer side of a journal; ``open`` returns the trials already recorded."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fh: Any = None

    def open(
        self, header: dict[str, Any], *, match: tuple[str, ...] = ("space", "direction")
    ) -> JournalContents:
        """Lock and open the file; write ``header`` if new, else check it and cut a torn tail."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "ab+")  # noqa: SIM115 - kept open for the run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise JournalError(f"journal {self.path} is in use by another process") from None
        try:
            contents = read_journal(self.path)
            if contents.torn_bytes:
                warnings.warn(
                    f"journal {self.path}: cut off a torn last line ({contents.torn_bytes} bytes) "
                    "left by an interrupted write",
                    RuntimeWarning,
                    stacklevel=3,
                )
                fh.truncate(contents.good_size)
            if contents.missing_newline:
                fh.write(b"\n")
                self._sync(fh)
            if contents.header is None:
                rec = {"type": "header", "version": FORMAT_VERSION, **header}
                fh.write((dumps(rec) + "\n").encode())
                self._sync(fh)
                contents.header = rec
                contents.records.append(rec)
            else:
                self._check(contents.header, header, match)
        except BaseException:
            fh.close()
            raise
        self._fh = fh
        return contents

    def _check(self, old: dict[str, Any], new: dict[str, Any], match: tuple[str, ...]) -> None:
        if old.get("version") != FORMAT_VERSION:
            raise JournalError(f"journal {self.path}: format version {old.get('version')} is not supported")
        for key in match:
            if json.loads(dumps({"v": old.get(key)})) != json.loads(dumps({"v": new.get(key)})):
                raise JournalError(
                    f"journal {self.path} was written for a different {key}; "
                    "use a new journal path or the same settings"
                )

    @staticmethod
    def _sync(fh: Any) -> None:
        fh.flush()
        os.fsync(fh.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Append one record and fsync it."""
        if self._fh is None:
            raise JournalError(f"journal {self.path} is not open")
        self._fh.write((dumps(record) + "\n").encode())
        self._sync(self._fh)

    def append_trial(self, trial: Trial) -> None:
        self.append({"type": "trial", "trial": trial.to_dict()})

    def close(self) -> None:
        if self._fh is not None:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
