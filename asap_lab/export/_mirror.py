"""Live mirroring of a run into an Optuna storage, as an ``optimize(callbacks=[...])`` listener."""

from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import BaseStorage

from asap_lab.errors import ConfigError
from asap_lab.events import Event
from asap_lab.export._optuna import (
    Source,
    StorageLike,
    add_trials,
    check_storage,
    exported_params,
    open_storage,
    open_study,
)
from asap_lab.space import Space


class OptunaMirror:
    """Adds each finished trial to an Optuna study while the run goes on.

    ``optimize(..., callbacks=[OptunaMirror("sqlite:///runs.db", "my-study")])``. On ``run_start``
    the study is created with the run's direction, or loaded when it exists, and a resumed run's
    earlier trials are added first (trials already there, by ``asap_number``, are not added
    again); each ``trial`` event adds that trial; ``run_end`` adds any trial still missing and
    stores the run's stats. The trials are exactly those :func:`to_optuna` writes.

    It never breaks the run: the first exception (storage unreachable, disk full, a study that
    holds another run) is reported once as a ``RuntimeWarning``, kept in :attr:`error`, and
    mirroring stops for that run; ``to_optuna(journal, storage, study_name)`` afterwards adds
    the missing trials.
    """

    def __init__(self, storage: StorageLike, study_name: str) -> None:
        check_storage(storage)
        if not isinstance(study_name, str) or not study_name:
            raise ConfigError(f"OptunaMirror needs a study name (a non-empty string), got {study_name!r}")
        self.storage_spec = storage
        self.study_name = study_name
        self.study: optuna.Study | None = None
        self.error: str | None = None
        self.n_added = 0
        self._storage: BaseStorage | None = None
        self._dists: dict[str, BaseDistribution] = {}
        self._done: dict[int, dict[str, Any]] = {}
        self._tools: list[str] = []

    def __repr__(self) -> str:
        return f"OptunaMirror({self.study_name!r}, added={self.n_added}, error={self.error!r})"

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start":
            self.error, self.study = None, None
        if self.error is not None:
            return
        try:
            if event.kind == "run_start":
                self._start(event.data)
            elif self.study is not None and event.kind == "trial":
                self.n_added += add_trials(self.study, [event.data["trial"]], self._dists, self._done)
            elif self.study is not None and event.kind == "run_end":
                self._end(event.data["run"])
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            self.study = None
            warnings.warn(
                f"OptunaMirror({self.study_name!r}) stopped mirroring: {self.error}; the run goes on "
                "(asap_lab.export.to_optuna(journal, storage, study_name) adds the missing trials later)",
                RuntimeWarning,
                stacklevel=2,
            )

    def _start(self, data: dict[str, Any]) -> None:
        space = Space.from_dict(data["space"])
        direction = str(data["direction"])
        if self._storage is None:
            self._storage = open_storage(self.storage_spec)
        study = open_study(self._storage, self.study_name, direction, space)
        self._dists = space.to_optuna()
        self._done = exported_params(study)
        self._tools = list(data.get("tools", []))
        attrs = Source([], space, direction, self._tools).study_attrs()
        for key in ("asap_version", "asap_direction", "asap_space", "asap_tools"):
            study.set_user_attr(key, attrs[key])
        self.study = study
        # a resumed run: its earlier trials first, in order (those already mirrored are skipped)
        self.n_added += add_trials(study, list(data.get("history", [])), self._dists, self._done)

    def _end(self, run: Any) -> None:
        assert self.study is not None
        self.n_added += add_trials(self.study, run.trials, self._dists, self._done)
        src = Source(list(run.trials), run.space, run.direction, self._tools, dict(run.stats), run.journal)
        for key, value in src.study_attrs().items():
            self.study.set_user_attr(key, value)
