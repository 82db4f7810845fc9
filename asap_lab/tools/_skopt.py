"""scikit-optimize surrogates as tools: GP, random forest and extra trees (``skopt.Optimizer``).

Integers with a step are mapped to an index range, categoricals to the indices of their choices
(skopt one-hot encodes them), so every value type of our spaces round-trips exactly. skopt has no
notion of failure: a failed trial is told as the worst loss seen so far (skipped until a trial
has succeeded), which steers the surrogate away from regions that crash.

GBRT is left out: on scikit-learn 1.9 / numpy 2.4 skopt's ``GradientBoostingQuantileRegressor``
fails scikit-learn's estimator-type tags and then calls the removed ``np.in1d``; a shim would
have to patch two private code paths, so the forests (RF, ET) stand in for tree surrogates.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from skopt import Optimizer
from skopt.space import Categorical as SkCategorical
from skopt.space import Integer as SkInteger
from skopt.space import Real as SkReal

from asap_lab.space import Categorical, Float, Int
from asap_lab.tools._base import BaseTool
from asap_lab.trial import Trial


class SkoptTool(BaseTool):
    """Base for ``skopt.Optimizer`` tools; subclasses set ``base_estimator``."""

    base_estimator = "GP"

    def __init__(
        self,
        *,
        n_initial_points: int = 8,
        acq_func: str = "EI",
        acq_optimizer: str = "sampling",
        n_points: int = 2000,
        name: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(name=name, seed=seed)
        self.n_initial_points = n_initial_points
        self.acq_func = acq_func
        self.acq_optimizer = acq_optimizer
        self.n_points = n_points

    def _setup(self) -> None:
        dims = []
        for p in self.space_.values():
            if isinstance(p, Float):
                dims.append(SkReal(p.low, p.high, prior="log-uniform" if p.log else "uniform"))
            elif isinstance(p, Int) and p.step == 1:
                dims.append(SkInteger(p.low, p.high, prior="log-uniform" if p.log else "uniform"))
            elif isinstance(p, Int):
                dims.append(SkInteger(0, p.n_values - 1))
            else:
                assert isinstance(p, Categorical)
                dims.append(SkCategorical(list(range(len(p.choices)))))
        seed = None if self.seed_ is None else int(self.seed_) % (2**31 - 1)
        self._opt = Optimizer(
            dims,
            base_estimator=self.base_estimator,
            n_initial_points=self.n_initial_points,
            acq_func=self.acq_func,
            acq_optimizer=self.acq_optimizer,
            acq_optimizer_kwargs={"n_points": self.n_points},
            random_state=seed,
        )
        self._worst: float | None = None

    def _encode(self, params: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for name, p in self.space_.items():
            v = params[name]
            if isinstance(p, Categorical):
                out.append(p.index(v))
            elif isinstance(p, Int):
                out.append(int(v) if p.step == 1 else (int(v) - p.low) // p.step)
            else:
                out.append(float(v))
        return out

    def _decode(self, x: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (name, p), v in zip(self.space_.items(), x, strict=True):
            if isinstance(p, Categorical):
                out[name] = p.choices[int(v)]
            elif isinstance(p, Int):
                out[name] = int(v) if p.step == 1 else p.low + int(v) * p.step
            else:
                out[name] = min(max(float(v), p.low), p.high)
        return out

    def ask(self) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._decode(self._opt.ask())

    def _point(self, trial: Trial) -> tuple[list[Any], float] | None:
        loss = self.loss(trial)
        if loss is None:
            if self._worst is None:
                return None
            loss = self._worst
        self._worst = loss if self._worst is None else max(self._worst, loss)
        return self._encode(trial.params), float(loss)

    def tell(self, trial: Trial) -> None:
        self.tell_many([trial])

    def tell_many(self, trials: Iterable[Trial]) -> None:
        """Tell several trials with one surrogate fit."""
        points = []
        for t in trials:
            self.n_told_ += 1
            pt = self._point(t)
            if pt is not None:
                points.append(pt)
        if not points:
            return
        xs, ys = zip(*points, strict=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._opt.tell(list(xs), list(ys))


class SkoptGPTool(SkoptTool):
    """scikit-optimize Gaussian process (Matern kernel, EI, sampled acquisition)."""

    name = "skopt-gp"
    bias = "Gaussian process (scikit-optimize, Matern): smooth global surrogate, balances EI"
    description = (
        "A Gaussian process with a Matern kernel and expected improvement, with uncertainty that "
        "drives exploration. Excellent on smooth continuous landscapes with few parameters; "
        "misled by discontinuities, heavy noise or many categorical choices."
    )
    base_estimator = "GP"


class SkoptRFTool(SkoptTool):
    """scikit-optimize random-forest surrogate."""

    name = "skopt-rf"
    bias = "random forest surrogate (SMAC-like): piecewise-constant, robust to noise and categoricals"
    description = (
        "A random forest surrogate, as in SMAC: piecewise constant, so it copes with "
        "discontinuities, noise, integers and categoricals. Coarse in smooth continuous regions "
        "where a Gaussian process interpolates better."
    )
    base_estimator = "RF"


class SkoptETTool(SkoptTool):
    """scikit-optimize extra-trees surrogate."""

    name = "skopt-et"
    bias = "extra-trees surrogate: smoother than a forest, robust to irregular landscapes"
    description = (
        "An extra-trees surrogate: randomized splits make it smoother than a random forest while "
        "keeping its robustness to irregular, mixed-type landscapes."
    )
    base_estimator = "ET"
