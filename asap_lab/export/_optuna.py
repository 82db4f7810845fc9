"""Post-hoc export of an asap run into an Optuna storage (SQLite/RDB URL or journal file).

Each asap trial becomes one Optuna trial (``create_trial`` + ``Study.add_trial``) with the space's
Optuna distributions, the raw objective value, COMPLETE or FAIL, the evaluation's start/end as
``datetime_start``/``datetime_complete`` and the asap record in user attributes. The export is
incremental: a trial whose ``asap_number`` is already in the study is not added again, so
exporting the same run twice (or after it was resumed) adds only the new trials.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import FrozenTrial, create_trial
from optuna.trial import TrialState as OptunaState

from asap_lab._run import Run
from asap_lab.errors import ConfigError, JournalError
from asap_lab.journal import dumps, read_journal
from asap_lab.space import Space
from asap_lab.trial import Trial, loss_of

StorageLike = str | os.PathLike[str] | BaseStorage
_JOURNAL_SUFFIXES = (".log", ".jsonl")
#: Trial start times below this (2001-09-09) come from a simulated clock, not Unix time.
_REAL_TIME = 1e9
#: Run-level stats copied into the study's ``asap_stats``: scalars and flat dicts (lists are left out).
_SCALARS = (int, float, str, bool, type(None))


def _jsonable(o: Any) -> Any:
    """``o`` as strict JSON values (numpy scalars to Python, NaN/inf to None)."""
    return json.loads(dumps({"v": o}))["v"]


def _flat(v: Any) -> bool:
    """A scalar, or a dict of scalars (``picks``): what ``asap_stats`` keeps."""
    if isinstance(v, dict):
        return all(isinstance(x, _SCALARS) for x in v.values())
    return isinstance(v, _SCALARS)


def _version() -> str:
    from asap_lab import __version__

    return __version__


# Storage -------------------------------------------------------------------------------------------
def check_storage(storage: Any) -> None:
    """Raise :class:`ConfigError` when ``storage`` is not something :func:`open_storage` takes."""
    if isinstance(storage, BaseStorage):
        return
    if isinstance(storage, (str, os.PathLike)):
        s = os.fspath(storage)
        if "://" in s or s.lower().endswith(_JOURNAL_SUFFIXES):
            return
        raise ConfigError(
            f"storage {s!r} is neither an Optuna storage URL (e.g. 'sqlite:///{s}') "
            "nor a journal file path ending in .log or .jsonl"
        )
    raise ConfigError(
        "storage must be an Optuna storage URL ('sqlite:///x.db'), a journal file path "
        f"(.log/.jsonl) or an optuna.storages.BaseStorage, got {type(storage).__name__}"
    )


def _is_asap_journal(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.lstrip().startswith(b'{"type":"header"')


def open_storage(storage: StorageLike) -> BaseStorage:
    """An Optuna storage for ``storage``: a URL (``RDBStorage``), a ``.log``/``.jsonl`` path
    (``JournalStorage`` over a ``JournalFileBackend``) or a ``BaseStorage`` (returned as is).

    An asap journal is refused as an Optuna journal file (the formats differ).
    """
    check_storage(storage)
    if isinstance(storage, BaseStorage):
        return storage
    s = os.fspath(storage)
    try:
        if "://" in s:
            return optuna.storages.RDBStorage(s)
        path = Path(s).expanduser()
        if _is_asap_journal(path):
            raise ConfigError(f"{path} is an asap journal, not an Optuna journal file; use another path")
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    except ConfigError:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ConfigError(f"cannot open Optuna storage {s!r}: {type(e).__name__}: {first}") from None


# Trials ----------------------------------------------------------------------------------------------
def trial_user_attrs(trial: Trial) -> dict[str, Any]:
    """The asap record of ``trial`` as Optuna user attributes (JSON values only)."""
    proposals = []
    for p in trial.proposals:
        d: dict[str, Any] = {"tool": p.tool, "params": p.params}
        if p.error:
            d["error"] = p.error
        proposals.append(d)
    attrs = {
        "asap_number": trial.number,
        "tool": trial.tool,
        "picked_by": trial.picked_by,
        "rationale": trial.rationale,
        "error": trial.error,
        "session": trial.session,
        "timings": trial.timings,
        "metrics": trial.metrics,
        "decision": trial.decision,
        "proposals": proposals,
    }
    return {k: _jsonable(v) for k, v in attrs.items()}


def _when(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts)  # naive local time, as Optuna records it


def frozen_trial(trial: Trial, distributions: dict[str, BaseDistribution]) -> FrozenTrial:
    """The Optuna trial for an asap trial: COMPLETE with the raw value, or FAIL (error in attrs)."""
    ok = trial.ok and trial.value is not None and math.isfinite(trial.value)
    try:
        ft = create_trial(
            state=OptunaState.COMPLETE if ok else OptunaState.FAIL,
            value=float(trial.value) if ok and trial.value is not None else None,
            params=dict(trial.params),
            distributions=distributions,
            user_attrs=trial_user_attrs(trial),
        )
    except ValueError as e:
        raise ConfigError(f"trial {trial.number} does not fit the space's distributions: {e}") from None
    if trial.start >= _REAL_TIME and trial.end >= trial.start:  # else a simulated clock: export time
        ft.datetime_start = _when(trial.start)
        ft.datetime_complete = _when(trial.end)
    return ft


def open_study(
    storage: BaseStorage, study_name: str, direction: str, space: Space, *, overwrite: bool = False
) -> optuna.Study:
    """Create (or load) the study and check it can hold this run.

    Refuses a study with another direction, another asap space, or trials not written by asap;
    ``overwrite=True`` deletes an existing study of that name first.
    """
    if overwrite:
        with contextlib.suppress(KeyError):  # no such study yet
            optuna.delete_study(study_name=study_name, storage=storage)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction=direction,  # type: ignore[arg-type]
        load_if_exists=True,
    )
    hint = "pass overwrite=True to replace it, or another study name"
    if len(study.directions) != 1 or study.direction.name.lower() != direction:
        have = ", ".join(d.name.lower() for d in study.directions)
        raise ConfigError(
            f"Optuna study {study_name!r} exists with direction {have}, not {direction}; {hint}"
        )
    old_space = study.user_attrs.get("asap_space")
    if old_space is not None and old_space != _jsonable(space.to_dict()):
        raise ConfigError(f"Optuna study {study_name!r} holds a run over another search space; {hint}")
    foreign = [t.number for t in study.get_trials(deepcopy=False) if "asap_number" not in t.user_attrs]
    if foreign:
        raise ConfigError(
            f"Optuna study {study_name!r} holds {len(foreign)} trial(s) not exported by asap; {hint}"
        )
    return study


def exported_params(study: optuna.Study) -> dict[int, dict[str, Any]]:
    """``asap_number -> params`` of the trials already in ``study``."""
    return {int(t.user_attrs["asap_number"]): dict(t.params) for t in study.get_trials(deepcopy=False)}


def add_trials(
    study: optuna.Study,
    trials: Sequence[Trial],
    distributions: dict[str, BaseDistribution],
    done: dict[int, dict[str, Any]],
) -> int:
    """Add the trials whose number is not in ``done`` (updated in place); returns how many.

    A trial already there with other parameters means the study holds another run: refused.
    """
    added = 0
    for t in sorted(trials, key=lambda t: t.number):
        if t.number in done:
            if done[t.number] != dict(t.params):
                raise ConfigError(
                    f"Optuna study {study.study_name!r} already holds an asap trial #{t.number} with other "
                    "parameters (another run); pass overwrite=True or another study name"
                )
            continue
        study.add_trial(frozen_trial(t, distributions))
        done[t.number] = dict(t.params)
        added += 1
    return added


# Sources -------------------------------------------------------------------------------------------
@dataclass
class Source:
    """What gets exported: the trials and the run-level facts stored as study user attributes."""

    trials: list[Trial]
    space: Space
    direction: str
    tools: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    journal: Path | None = None

    @property
    def default_name(self) -> str:
        if self.journal is not None:
            return self.journal.stem
        session = next((t.session for t in self.trials if t.session), "")
        return f"asap-{session}" if session else "asap"

    def study_attrs(self) -> dict[str, Any]:
        stats = {k: v for k, v in self.stats.items() if _flat(v)}
        ok = [t for t in self.trials if loss_of(t, self.direction) is not None]
        best = min(ok, key=lambda t: (loss_of(t, self.direction), t.number)) if ok else None
        picks: dict[str, int] = {}
        for t in self.trials:
            picks[t.tool] = picks.get(t.tool, 0) + 1
        stats.update(
            n_trials=len(self.trials),
            n_failed=sum(not t.ok for t in self.trials),
            picks=picks,
            best_number=None if best is None else best.number,
            best_value=None if best is None else best.value,
        )
        tools = self.tools or list(dict.fromkeys(p.tool for t in self.trials for p in t.proposals))
        return _jsonable(
            {
                "asap_version": _version(),
                "asap_source": None if self.journal is None else str(self.journal),
                "asap_direction": self.direction,
                "asap_space": self.space.to_dict(),
                "asap_tools": tools,
                "asap_stats": stats,
            }
        )


def _check_direction(direction: Any) -> str:
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    return str(direction)


def load_source(source: Any, *, space: Any = None, direction: str | None = None) -> Source:
    """A :class:`Source` from a Run, a list of Trials (``space`` needed) or an asap journal path."""
    if isinstance(source, Run):
        tools = []
        if source.journal is not None and Path(source.journal).exists():
            header = read_journal(source.journal).header or {}
            tools = list(header.get("tools", []))
        return Source(list(source.trials), source.space, source.direction, tools, dict(source.stats),
                      None if source.journal is None else Path(source.journal))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"asap journal {path} does not exist")
        contents = read_journal(path)
        if contents.header is None:
            raise JournalError(f"journal {path} is empty (no header record)")
        if contents.torn_bytes:
            warnings.warn(f"journal {path}: ignoring a torn last line ({contents.torn_bytes} bytes)",
                          RuntimeWarning, stacklevel=3)
        h = contents.header
        return Source(contents.trials, Space.from_dict(h["space"]), _check_direction(h.get("direction")),
                      list(h.get("tools", [])), journal=path)
    if isinstance(source, Sequence) and all(isinstance(t, Trial) for t in source):
        if space is None:
            raise ConfigError("exporting a list of trials needs space= (the run's search space)")
        return Source(list(source), Space.coerce(space), _check_direction(direction or "minimize"))
    raise ConfigError(
        f"to_optuna exports a Run, a list of Trials or an asap journal path, got {type(source).__name__}"
    )


def to_optuna(
    source: Run | Sequence[Trial] | str | os.PathLike[str],
    storage: StorageLike,
    study_name: str | None = None,
    *,
    overwrite: bool = False,
    space: Any = None,
    direction: str | None = None,
) -> optuna.Study:
    """Write a run's trials into an Optuna storage and return the study.

    ``source`` is a :class:`~asap_lab.Run`, a list of :class:`~asap_lab.Trial` (then ``space``
    and ``direction`` are needed) or the path of an asap journal. ``storage`` is an Optuna URL
    (``"sqlite:///runs.db"``), a journal file path ending in ``.log``/``.jsonl`` or an
    ``optuna.storages.BaseStorage``. ``study_name`` defaults to the journal's file stem, else
    ``"asap-<session>"``. Incremental and idempotent: trials already in the study (by
    ``asap_number``) are not added again; a study with another direction or space, foreign trials
    or another run's trial under the same number is refused with a :class:`ConfigError` unless
    ``overwrite=True``, which deletes the study first.
    """
    if (space is not None or direction is not None) and isinstance(source, (Run, str, os.PathLike)):
        raise ConfigError("space= and direction= are only for a list of trials; a run or journal has its own")
    src = load_source(source, space=space, direction=direction)
    st = open_storage(storage)
    name = study_name or src.default_name
    study = open_study(st, name, src.direction, src.space, overwrite=overwrite)
    dists = src.space.to_optuna()
    add_trials(study, src.trials, dists, exported_params(study))
    for key, value in src.study_attrs().items():
        study.set_user_attr(key, value)
    return study
