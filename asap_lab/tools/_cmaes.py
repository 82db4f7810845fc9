"""CMA-ES through the ``cmaes`` library, fed with every trial of the run.

Optuna's ``CmaEsSampler`` learns only from trials it generated itself (it filters on its own
generation attribute), which breaks the shared-history contract. So this tool drives
``cmaes.CMA`` directly: configurations live in the unit cube of :meth:`Space.to_unit`; every
finished trial, whoever proposed it, joins a buffer, and each full population of the buffer is
told to CMA-ES. Integers are rounded and categoricals binned from their unit coordinate (a
continuous relaxation). CMA-ES has no notion of failure, so a failed trial is told as the worst
loss seen so far (skipped until a trial has succeeded). On convergence CMA-ES restarts around
the best point with a doubled population (IPOP).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from cmaes import CMA

from asap_lab.tools._base import BaseTool
from asap_lab.trial import Trial


class CmaEsTool(BaseTool):
    """Covariance Matrix Adaptation Evolution Strategy on the unit-cube encoding."""

    name = "cmaes"
    bias = "CMA-ES: local evolutionary search that adapts a covariance; strong on smooth continuous ridges"
    description = (
        "Samples a population around a moving mean and adapts its covariance to the landscape, so "
        "it follows long curved valleys and correlated parameters well. It is local: good once a "
        "promising region is known, poor on categorical parameters (treated as binned numbers)."
    )

    def __init__(
        self,
        *,
        sigma0: float = 1 / 6,
        population_size: int | None = None,
        name: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(name=name, seed=seed)
        self.sigma0 = sigma0
        self.population_size = population_size

    def _setup(self) -> None:
        self._dim = len(self.space_)
        self._n = max(self._dim, 2)  # cmaes.CMA needs at least two coordinates
        self._rng = np.random.default_rng(self.seed_)
        self._buffer: list[tuple[np.ndarray, float]] = []
        self._pending_failures = 0
        self._best: tuple[float, np.ndarray] | None = None
        self._worst: float | None = None
        self.restarts_ = 0
        self._cma = self._new_cma(np.full(self._n, 0.5), self.population_size)

    def _new_cma(self, mean: np.ndarray, popsize: int | None) -> CMA:
        seed = int(self._rng.integers(2**31 - 1))
        bounds = np.tile([0.0, 1.0], (self._n, 1))
        return CMA(mean=mean, sigma=self.sigma0, bounds=bounds, seed=seed, population_size=popsize)

    def ask(self) -> dict[str, Any]:
        x = self._cma.ask()
        return self.space_.from_unit(x[: self._dim])

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        loss = self.loss(trial)
        if loss is None:
            if self._worst is None:
                return
            loss = self._worst
        x = np.full(self._n, 0.5)
        x[: self._dim] = self.space_.to_unit(trial.params)
        if self._best is None or loss < self._best[0]:
            self._best = (loss, x.copy())
        self._worst = loss if self._worst is None else max(self._worst, loss)
        self._buffer.append((x, float(loss)))
        popsize = self._cma.population_size
        if len(self._buffer) >= popsize:
            batch, self._buffer = self._buffer[:popsize], self._buffer[popsize:]
            self._cma.tell(batch)
            if self._cma.should_stop() or not math.isfinite(self._cma.generation):
                self._restart(2 * popsize)

    def _restart(self, popsize: int) -> None:
        self.restarts_ += 1
        mean = self._best[1] if self._best is not None else np.full(self._n, 0.5)
        self._cma = self._new_cma(np.clip(mean, 0.0, 1.0), popsize)
