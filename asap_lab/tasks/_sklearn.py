"""Real training tasks on scikit-learn's bundled datasets (no downloads).

Each evaluation runs a ``cv``-fold cross-validation (shuffled, ``random_state=seed``) on one
core (``n_jobs=1`` and BLAS/OpenMP limited to one thread), so the same configuration always
gives the same value. Hyperparameter ranges are bounded so that one evaluation takes about
0.2-8 s on one core. Results are dicts: ``{"value": <loss to minimise>, "accuracy" | "r2":
..., "fit_s": <wall seconds of the whole cross-validation>}``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from asap_lab.errors import ConfigError
from asap_lab.space import Categorical, Float, Int, Space
from asap_lab.tasks._base import Task, register

__all__ = ["HGBDigits", "MLPDigits", "RFBreastCancer", "RidgeDiabetes", "SVCClassification"]


class SklearnTask(Task):
    """Base of the scikit-learn tasks: lazy cached data, deterministic single-core CV."""

    optimum = None
    regression = False

    def __init__(self, cv: int = 3, seed: int = 0) -> None:
        if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
            raise ConfigError(f"task {self.name!r}: cv must be an integer >= 2, got {cv!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ConfigError(f"task {self.name!r}: seed must be an integer, got {seed!r}")
        self.cv = int(cv)
        self.seed = int(seed)
        self._data: tuple[np.ndarray, np.ndarray] | None = None

    def _load(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _model(self, config: dict[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)``, loaded on first use and cached on the instance."""
        if self._data is None:
            self._data = self._load()
        return self._data

    def _evaluate(self, config: dict[str, Any]) -> dict[str, float]:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
        from threadpoolctl import threadpool_limits

        X, y = self.data
        splitter_cls = KFold if self.regression else StratifiedKFold
        splitter = splitter_cls(n_splits=self.cv, shuffle=True, random_state=self.seed)
        scoring = ["r2", "neg_mean_squared_error"] if self.regression else ["accuracy"]
        model = self._model(config)
        t0 = time.perf_counter()
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = cross_validate(model, X, y, cv=splitter, scoring=scoring, n_jobs=1, error_score="raise")
        fit_s = time.perf_counter() - t0
        if self.regression:
            r2 = float(np.mean(scores["test_r2"]))
            mse = float(-np.mean(scores["test_neg_mean_squared_error"]))
            return {"value": 1.0 - r2, "r2": r2, "mse": mse, "fit_s": fit_s}
        acc = float(np.mean(scores["test_accuracy"]))
        return {"value": 1.0 - acc, "accuracy": acc, "fit_s": fit_s}


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y  # pixels in [0, 1]


@register
class HGBDigits(SklearnTask):
    """Histogram gradient boosting on the 8x8 digits (1797 images, 10 classes)."""

    name = "hgb-digits"
    description = "HistGradientBoostingClassifier on digits; value = 1 - CV accuracy"

    def _build_space(self) -> Space:
        return Space(
            {
                "learning_rate": Float(0.01, 0.5, log=True),
                "max_iter": Int(10, 80),
                "max_leaf_nodes": Int(4, 32, log=True),
                "min_samples_leaf": Int(2, 64, log=True),
                "l2_regularization": Float(1e-6, 10.0, log=True),
            }
        )

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        return _digits()

    def _model(self, config: dict[str, Any]) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(**config, early_stopping=False, random_state=self.seed)


@register
class MLPDigits(SklearnTask):
    """A multi-layer perceptron (Adam, 100 epochs) on the 8x8 digits."""

    name = "mlp-digits"
    description = "MLPClassifier (1-2 hidden layers, 100 epochs) on digits; value = 1 - CV accuracy"

    def _build_space(self) -> Space:
        return Space(
            {
                "hidden_units": Int(16, 256, log=True),
                "n_layers": Int(1, 2),
                "alpha": Float(1e-6, 1e-1, log=True),
                "learning_rate_init": Float(1e-4, 1e-1, log=True),
                "activation": Categorical(["relu", "tanh"]),
            }
        )

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        return _digits()

    def _model(self, config: dict[str, Any]) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=(config["hidden_units"],) * config["n_layers"],
            alpha=config["alpha"],
            learning_rate_init=config["learning_rate_init"],
            activation=config["activation"],
            max_iter=100,
            random_state=self.seed,
        )


@register
class RFBreastCancer(SklearnTask):
    """A random forest on the Wisconsin breast-cancer data (569 samples, 30 features)."""

    name = "rf-breast_cancer"
    description = "RandomForestClassifier on breast_cancer; value = 1 - CV accuracy"

    def _build_space(self) -> Space:
        return Space(
            {
                "n_estimators": Int(10, 300, log=True),
                "max_depth": Int(2, 20),
                "max_features": Categorical(["sqrt", "log2", None]),
                "min_samples_split": Int(2, 20),
            }
        )

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_breast_cancer

        return load_breast_cancer(return_X_y=True)

    def _model(self, config: dict[str, Any]) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(**config, n_jobs=1, random_state=self.seed)


@register
class SVCClassification(SklearnTask):
    """A standardised SVC on ``make_classification(n_samples=5000, n_features=20)``."""

    name = "svc-classification"
    description = "SVC (rbf/poly/sigmoid) on a 5000 x 20 synthetic problem; value = 1 - CV accuracy"

    def _build_space(self) -> Space:
        return Space(
            {
                "C": Float(1e-2, 1e3, log=True),
                "gamma": Float(1e-4, 10.0, log=True),
                "kernel": Categorical(["rbf", "poly", "sigmoid"]),
            }
        )

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import make_classification

        return make_classification(n_samples=5000, n_features=20, random_state=0)

    def _model(self, config: dict[str, Any]) -> Any:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        return make_pipeline(StandardScaler(), SVC(**config, cache_size=500))


@register
class RidgeDiabetes(SklearnTask):
    """Polynomial ridge regression on the diabetes data (442 x 10); fast (milliseconds)."""

    name = "ridge-diabetes"
    description = "polynomial-feature Ridge on diabetes; value = 1 - CV R^2 (fast, ~30 ms)"
    regression = True

    def _build_space(self) -> Space:
        return Space({"alpha": Float(1e-3, 1e4, log=True), "degree": Int(1, 3)})

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_diabetes

        return load_diabetes(return_X_y=True)

    def _model(self, config: dict[str, Any]) -> Any:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        return make_pipeline(
            PolynomialFeatures(config["degree"], include_bias=False),
            StandardScaler(),
            Ridge(alpha=config["alpha"]),
        )
