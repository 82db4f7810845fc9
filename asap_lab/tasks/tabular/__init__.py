"""Tabular benchmarks built by this project: recorded grids of real scikit-learn training runs.

Each task (``tab-svc-digits``, ``tab-rf-breast_cancer``, ``tab-hgb-wine``,
``tab-mlp-breast_cancer``) is a grid of configurations of one model on a bundled dataset, every
one trained once by ``python -m asap_lab.tasks.tabular.generate`` with a fixed 3-fold CV; the
value (1 - CV accuracy) and the measured CV time are stored in ``data/<task>.csv.gz``.
Evaluating a task is a table lookup, so:

- ``optimum`` is the best value in the table and :meth:`Task.regret` is exact;
- every tool's proposal has a known counterfactual value (:meth:`TabularTask.value_of`), so
  selection accuracy is measurable;
- :meth:`TabularTask.eval_time` gives the recorded training time of a configuration, for
  ``optimize(..., simulate={"eval_s": task.eval_time})``.

The space *is* the grid (``Int`` / ``Categorical`` parameters only): every configuration in the
space is exactly one row (tested).
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from asap_lab.space import Categorical, Int, Space
from asap_lab.tasks._base import Task, register
from asap_lab.tasks.tabular._grid import GRIDS, GridSpec

__all__ = ["TABULAR_TASKS", "Table", "TabularTask", "load_table"]


@dataclass(frozen=True)
class Table:
    """One task's recorded grid: configurations (in grid order), values and CV times."""

    params: tuple[str, ...]
    configs: tuple[tuple[Any, ...], ...]
    values: np.ndarray
    fit_s: np.ndarray
    index: dict[tuple[Any, ...], int]

    def row(self, config: dict[str, Any]) -> int:
        """The row of a configuration (KeyError if it is not on the grid)."""
        return self.index[tuple(config[p] for p in self.params)]


def _parse(spec: GridSpec, name: str, text: str) -> Any:
    p = spec.params[name]
    if isinstance(p, Int):
        return int(text)
    assert isinstance(p, Categorical)
    for c in p.choices:
        if str(c) == text:
            return c
    raise ValueError(f"{spec.name}: {text!r} is not a choice of {name}")


@cache
def load_table(task: str) -> Table:
    """Read ``data/<task>.csv.gz`` (cached)."""
    from importlib.resources import files

    spec = GRIDS[task]
    raw = files("asap_lab.tasks.tabular").joinpath("data", f"{task}.csv.gz").read_bytes()
    reader = csv.reader(io.StringIO(gzip.decompress(raw).decode()))
    header = next(reader)
    names = tuple(spec.params)
    if tuple(header) != (*names, "value", "fit_s"):
        raise ValueError(f"{task}: data file columns {header} do not match the grid {names}")
    configs, values, times = [], [], []
    for rec in reader:
        configs.append(tuple(_parse(spec, n, v) for n, v in zip(names, rec, strict=False)))
        values.append(float(rec[-2]))
        times.append(float(rec[-1]))
    index = {c: i for i, c in enumerate(configs)}
    return Table(names, tuple(configs), np.array(values), np.array(times), index)


class TabularTask(Task):
    """A recorded grid: evaluating a configuration looks up its value and recorded CV time."""

    grid: GridSpec

    def _build_space(self) -> Space:
        return Space(dict(self.grid.params))

    @property
    def table(self) -> Table:
        return load_table(self.name)

    @property
    def optimum(self) -> float:  # type: ignore[override]
        """The best value in the table (so regret is exact)."""
        return float(self.table.values.min())

    @property
    def worst(self) -> float:
        """The worst value in the table (normalised regret = regret / (worst - optimum))."""
        return float(self.table.values.max())

    def value_of(self, config: dict[str, Any]) -> float:
        """The recorded value of a configuration (its counterfactual, whether evaluated or not)."""
        return float(self.table.values[self.table.row(config)])

    def eval_time(self, config: dict[str, Any], number: int | None = None) -> float:
        """The recorded CV time of a configuration, in seconds (a measurement on one core)."""
        return float(self.table.fit_s[self.table.row(config)])

    def _evaluate(self, config: dict[str, Any]) -> dict[str, float]:
        i = self.table.row(config)
        return {"value": float(self.table.values[i]), "fit_s": float(self.table.fit_s[i])}


def _make(spec: GridSpec) -> type[TabularTask]:
    cls = type(
        "Tab_" + spec.name.replace("-", "_"),
        (TabularTask,),
        {"name": spec.name, "grid": spec, "description": f"tabular: {spec.description}",
         "__doc__": f"Recorded grid ({spec.size} configurations): {spec.description}."},
    )
    return register(cls)


TABULAR_TASKS: dict[str, type[TabularTask]] = {name: _make(spec) for name, spec in GRIDS.items()}
