"""Synthetic benchmark functions with known optima (all minimised).

Formulas and constants follow Surjanovic & Bingham, "Virtual Library of Simulation
Experiments" (https://www.sfu.ca/~ssurjano/optimization.html).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from asap_lab.errors import ConfigError
from asap_lab.space import Categorical, Float, Int, Space
from asap_lab.tasks._base import Task, register

__all__ = ["Ackley", "Branin", "Hartmann6", "Mixed", "Rosenbrock"]


def _check_dim(dim: Any, low: int, task: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < low:
        raise ConfigError(f"task {task!r}: dim must be an integer >= {low}, got {dim!r}")
    return int(dim)


def _vector(config: dict[str, Any], dim: int) -> np.ndarray:
    return np.array([config[f"x{i}"] for i in range(dim)], dtype=float)


@register
class Branin(Task):
    """Branin-Hoo, 2-D; three global minima (-pi, 12.275), (pi, 2.275), (3 pi, 2.475)."""

    name = "branin"
    optimum = 0.397887357729738
    description = "Branin-Hoo function, 2-D, three global minima"

    def _build_space(self) -> Space:
        return Space({"x0": Float(-5.0, 10.0), "x1": Float(0.0, 15.0)})

    @property
    def argmin(self) -> dict[str, float]:
        """One global minimiser."""
        return {"x0": math.pi, "x1": 2.275}

    def _evaluate(self, config: dict[str, Any]) -> float:
        x1, x2 = config["x0"], config["x1"]
        b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ],
    dtype=float,
)


@register
class Hartmann6(Task):
    """Hartmann 6-D on ``[0, 1]^6``; one global minimum, several local ones."""

    name = "hartmann6"
    optimum = -3.32236801141551
    description = "Hartmann function, 6-D on the unit cube, multimodal"

    def _build_space(self) -> Space:
        return Space({f"x{i}": Float(0.0, 1.0) for i in range(6)})

    @property
    def argmin(self) -> dict[str, float]:
        """The global minimiser (to the published 6 digits)."""
        x = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)
        return {f"x{i}": v for i, v in enumerate(x)}

    def _evaluate(self, config: dict[str, Any]) -> float:
        x = _vector(config, 6)
        inner = np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)
        return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


@register
class Rosenbrock(Task):
    """Rosenbrock's valley in ``dim`` dimensions on ``[-5, 10]^dim``; minimum 0 at all-ones."""

    name = "rosenbrock"
    optimum = 0.0
    description = "Rosenbrock function, narrow curved valley, minimum 0 at (1, ..., 1)"

    def __init__(self, dim: int = 4) -> None:
        self.dim = _check_dim(dim, 2, self.name)

    def _build_space(self) -> Space:
        return Space({f"x{i}": Float(-5.0, 10.0) for i in range(self.dim)})

    @property
    def argmin(self) -> dict[str, float]:
        """The global minimiser."""
        return {f"x{i}": 1.0 for i in range(self.dim)}

    def _evaluate(self, config: dict[str, Any]) -> float:
        x = _vector(config, self.dim)
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


@register
class Ackley(Task):
    """Ackley in ``dim`` dimensions on ``[-32.768, 32.768]^dim``; minimum 0 at the origin."""

    name = "ackley"
    optimum = 0.0
    description = "Ackley function, many local minima, minimum 0 at the origin"

    def __init__(self, dim: int = 5) -> None:
        self.dim = _check_dim(dim, 1, self.name)

    def _build_space(self) -> Space:
        return Space({f"x{i}": Float(-32.768, 32.768) for i in range(self.dim)})

    @property
    def argmin(self) -> dict[str, float]:
        """The global minimiser."""
        return {f"x{i}": 0.0 for i in range(self.dim)}

    def _evaluate(self, config: dict[str, Any]) -> float:
        x = _vector(config, self.dim)
        a, b, c = 20.0, 0.2, 2 * math.pi
        term1 = -a * math.exp(-b * math.sqrt(float(np.mean(x**2))))
        term2 = -math.exp(float(np.mean(np.cos(c * x))))
        return max(term1 + term2 + a + math.e, 0.0)  # clip the ~1e-16 rounding below 0


# Mixed: per optimizer, the best log10(lr) and a constant penalty; the int term prefers 4 layers.
_MIXED_LR_CENTER = {"sgd": -1.0, "adam": -3.0, "rmsprop": -2.5}
_MIXED_OFFSET = {"sgd": 0.5, "adam": 0.0, "rmsprop": 0.2}


@register
class Mixed(Task):
    """A mixed-type function mimicking a training run (log lr, int depth, categorical optimizer).

    ``f = (log10(lr) - c[opt])^2 + 0.1 * (layers - 4)^2 + o[opt]`` with per-optimizer centre
    ``c`` and offset ``o`` (adam: -3, 0; rmsprop: -2.5, 0.2; sgd: -1, 0.5). The best lr depends
    on the optimizer, so the categorical interacts with the float. Minimum 0 at
    ``lr=1e-3, layers=4, optimizer="adam"``; the best per-optimizer values are the offsets.
    """

    name = "mixed"
    optimum = 0.0
    description = "mixed-type quadratic: log-scaled lr, integer layers, categorical optimizer"

    def _build_space(self) -> Space:
        return Space(
            {
                "lr": Float(1e-5, 1.0, log=True),
                "layers": Int(1, 10),
                "optimizer": Categorical(["sgd", "adam", "rmsprop"]),
            }
        )

    @property
    def argmin(self) -> dict[str, Any]:
        """The global minimiser."""
        return {"lr": 1e-3, "layers": 4, "optimizer": "adam"}

    def _evaluate(self, config: dict[str, Any]) -> float:
        opt = config["optimizer"]
        lr_term = (math.log10(config["lr"]) - _MIXED_LR_CENTER[opt]) ** 2
        return lr_term + 0.1 * (config["layers"] - 4) ** 2 + _MIXED_OFFSET[opt]
