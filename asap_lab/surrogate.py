"""A shared surrogate over the run's whole history: evidence for selectors and predictions.

One scikit-learn Gaussian process (Matern 5/2 + white noise, normalised targets) on the
features of :meth:`Space.to_features`, fitted to the *losses* of the successful trials (at most
``max_points``: the best quarter and the most recent rest). The kernel fit is warm-started from
the previous round and bounded in iterations, so refitting every round stays cheap. It
gives, for any configuration, a predicted mean and standard deviation, the expected improvement
over the best loss, and the distance to the nearest evaluated point. The transparent selector
ranks proposals by it, the LLM prompt shows it, and speculation predicts outcomes with it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from asap_lab.space import Space
from asap_lab.trial import Trial, loss_of

__all__ = ["Evidence", "SharedSurrogate"]


@dataclass(frozen=True)
class Evidence:
    """What the shared surrogate says about one configuration (in the user's value units)."""

    mean: float
    std: float
    ei: float  # expected improvement of the loss over the best loss so far
    distance: float  # Euclidean distance to the nearest evaluated point, in feature space


class SharedSurrogate:
    """GP surrogate on the full history; ``fit`` then ``evidence`` / ``predict``."""

    def __init__(self, space: Space, direction: str = "minimize", *, max_points: int = 150,
                 max_iter: int = 60, seed: int = 0) -> None:
        self.space = space
        self.direction = direction
        self.max_points = max_points
        self.max_iter = max_iter
        self.seed = seed
        self._theta: np.ndarray | None = None  # last fitted kernel hyperparameters (warm start)
        self._n_at_opt = 0  # number of points at the last hyperparameter optimisation

    def _optimizer(self, obj_func: Any, initial_theta: np.ndarray, bounds: np.ndarray) -> tuple:
        """L-BFGS-B on the marginal likelihood, bounded in iterations, warm-started."""
        if self._theta is not None and self._theta.shape == initial_theta.shape:
            initial_theta = np.clip(self._theta, bounds[:, 0], bounds[:, 1])
        res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                       options={"maxiter": self.max_iter})
        return res.x, res.fun

    def fit(self, history: Sequence[Trial]) -> SharedSurrogate:
        """Fit to the successful trials of ``history`` (keeps the best and most recent points)."""
        pts = [(t, loss_of(t, self.direction)) for t in history]
        pts = [(t, y) for t, y in pts if y is not None]
        if len(pts) > self.max_points:
            best = sorted(pts, key=lambda p: p[1])[: self.max_points // 4]
            keep = {id(t) for t, _ in best}
            recent = [p for p in pts if id(p[0]) not in keep][-(self.max_points - len(best)):]
            pts = best + recent
        self.all_features_ = (
            np.array([self.space.to_features(t.params) for t in history])
            if history else np.zeros((0, 0))
        )
        self.n_fitted_ = len(pts)
        self.best_loss_ = min((y for _, y in pts), default=math.inf)
        self.gp_: GaussianProcessRegressor | None = None
        if len(pts) < 2:
            return self
        X = np.array([self.space.to_features(t.params) for t, _ in pts])
        y = np.array([y for _, y in pts], dtype=float)
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(X.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-3, (1e-8, 1e0))
        # re-optimise the kernel only once the data grew by 10% (at least 3 points); in between
        # reuse the last hyperparameters (a Cholesky solve, milliseconds)
        reopt = self._theta is None or len(y) - self._n_at_opt >= max(3, 0.1 * self._n_at_opt)
        if not reopt and self._theta is not None and self._theta.shape == kernel.theta.shape:
            kernel.theta = self._theta
        else:
            reopt, self._n_at_opt = True, len(y)
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=self.seed,
                                      optimizer=self._optimizer if reopt else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            gp.fit(X, y)
        self._theta = gp.kernel_.theta.copy()
        self.gp_ = gp
        return self

    @property
    def ready(self) -> bool:
        """True once the GP could be fitted (at least two successful trials)."""
        return getattr(self, "gp_", None) is not None

    def _predict_loss(self, configs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        X = np.array([self.space.to_features(c) for c in configs])
        if self.gp_ is None:
            return np.full(len(configs), np.nan), np.full(len(configs), np.nan)
        mu, sd = self.gp_.predict(X, return_std=True)
        return np.asarray(mu, float), np.maximum(np.asarray(sd, float), 1e-12)

    def predict(self, configs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted objective value (user's direction) and standard deviation."""
        mu, sd = self._predict_loss(configs)
        return (mu if self.direction == "minimize" else -mu), sd

    def evidence(self, configs: Sequence[Mapping[str, Any]]) -> list[Evidence]:
        """Mean, std, EI and nearest-point distance for each configuration."""
        mu_l, sd = self._predict_loss(configs)
        if self.ready and math.isfinite(self.best_loss_):
            z = (self.best_loss_ - mu_l) / sd
            ei = sd * (z * norm.cdf(z) + norm.pdf(z))
        else:
            ei = np.full(len(configs), np.nan)
        out = []
        for i, c in enumerate(configs):
            f = self.space.to_features(c)
            dist = (
                float(np.min(np.linalg.norm(self.all_features_ - f, axis=1)))
                if len(self.all_features_) else math.inf
            )
            mean = mu_l[i] if self.direction == "minimize" else -mu_l[i]
            out.append(Evidence(float(mean), float(sd[i]), float(ei[i]), dist))
        return out
