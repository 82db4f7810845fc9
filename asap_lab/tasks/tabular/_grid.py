"""The tabular benchmarks' grids: for each task a dataset, a model and a grid of configurations.

Every parameter is an ``Int`` (exponents of a log grid are named ``log2_*`` / ``log10_*``) or a
``Categorical``, so the search space *is* the grid: each configuration a tool can propose is
exactly one recorded row. Shared by the generator (``python -m asap_lab.tasks.tabular.generate``)
and the tasks, so the two cannot drift apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from asap_lab.space import Categorical, Int, Param

__all__ = ["GRIDS", "GridSpec", "evaluate_config"]

CV_FOLDS = 3
CV_SEED = 0


def _values(p: Param) -> list[Any]:
    if isinstance(p, Int):
        return list(range(p.low, p.high + 1, p.step))
    assert isinstance(p, Categorical)
    return list(p.choices)


@dataclass(frozen=True)
class GridSpec:
    """One tabular task: ``name``, bundled ``dataset``, grid ``params`` and the model builder."""

    name: str
    dataset: str
    params: dict[str, Param]
    build: Callable[[dict[str, Any]], Any]
    description: str

    def configs(self) -> Iterator[dict[str, Any]]:
        """Every grid configuration, in a fixed order (the row order of the data file)."""
        names = list(self.params)
        for combo in itertools.product(*(_values(self.params[n]) for n in names)):
            yield dict(zip(names, combo, strict=True))

    @property
    def size(self) -> int:
        return int(np.prod([len(_values(p)) for p in self.params.values()]))


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A scikit-learn bundled dataset (no download), features as float64."""
    from sklearn import datasets

    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X / 16.0, y
    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine}[name]
    X, y = loader(return_X_y=True)
    return np.asarray(X, dtype=float), y


def _svc(c: dict[str, Any]) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    svc = SVC(C=2.0 ** c["log2_C"], gamma=2.0 ** c["log2_gamma"], kernel=c["kernel"], max_iter=200_000)
    return make_pipeline(StandardScaler(), svc)


def _rf(c: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    mf = {"sqrt": "sqrt", "log2": "log2", "all": None}[c["max_features"]]
    return RandomForestClassifier(n_estimators=2 ** c["log2_n_estimators"], max_depth=c["max_depth"],
                                  max_features=mf, min_samples_leaf=2 ** c["log2_min_samples_leaf"],
                                  n_jobs=1, random_state=0)


def _hgb(c: dict[str, Any]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=2.0 ** c["log2_learning_rate"], max_iter=2 ** c["log2_max_iter"],
        max_leaf_nodes=2 ** c["log2_max_leaf_nodes"], min_samples_leaf=2 ** c["log2_min_samples_leaf"],
        early_stopping=False, random_state=0)


def _mlp(c: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = MLPClassifier(hidden_layer_sizes=(2 ** c["log2_hidden"],) * c["n_layers"],
                        alpha=10.0 ** c["log10_alpha"], learning_rate_init=10.0 ** c["log10_lr"],
                        activation=c["activation"], max_iter=60, random_state=0)
    return make_pipeline(StandardScaler(), mlp)


GRIDS: dict[str, GridSpec] = {
    g.name: g
    for g in [
        GridSpec("tab-svc-digits", "digits",
                 {"log2_C": Int(-5, 15, step=2), "log2_gamma": Int(-15, 3, step=2),
                  "kernel": Categorical(["rbf", "poly", "sigmoid"])},
                 _svc, "SVC (standardised) on digits, LIBSVM-style grid; value = 1 - 3-fold CV accuracy"),
        GridSpec("tab-rf-breast_cancer", "breast_cancer",
                 {"log2_n_estimators": Int(3, 7), "max_depth": Int(2, 8, step=2),
                  "max_features": Categorical(["sqrt", "log2", "all"]), "log2_min_samples_leaf": Int(0, 4)},
                 _rf, "RandomForest on breast_cancer; value = 1 - 3-fold CV accuracy"),
        GridSpec("tab-hgb-wine", "wine",
                 {"log2_learning_rate": Int(-7, -1), "log2_max_iter": Int(3, 7),
                  "log2_max_leaf_nodes": Int(2, 5), "log2_min_samples_leaf": Int(0, 4, step=2)},
                 _hgb, "HistGradientBoosting on wine; value = 1 - 3-fold CV accuracy"),
        GridSpec("tab-mlp-breast_cancer", "breast_cancer",
                 {"log2_hidden": Int(3, 7), "n_layers": Int(1, 2), "log10_alpha": Int(-6, -1),
                  "log10_lr": Int(-4, -1), "activation": Categorical(["relu", "tanh"])},
                 _mlp, "MLP (60 epochs, standardised) on breast_cancer; value = 1 - 3-fold CV accuracy"),
    ]
}

_DATA: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def evaluate_config(spec: GridSpec, config: dict[str, Any]) -> tuple[float, float]:
    """``(1 - mean 3-fold CV accuracy, seconds)`` of one configuration, on one thread."""
    import time
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    if spec.dataset not in _DATA:
        _DATA[spec.dataset] = load_dataset(spec.dataset)
    X, y = _DATA[spec.dataset]
    cv = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=CV_SEED)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        acc = cross_val_score(spec.build(config), X, y, cv=cv, scoring="accuracy", n_jobs=1,
                              error_score="raise")
    return 1.0 - float(np.mean(acc)), time.perf_counter() - t0
