"""Tests of asap_lab.tasks: registry, synthetic optima, and the scikit-learn training tasks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.optimize import minimize

from asap_lab.errors import ConfigError, SpaceError
from asap_lab.space import Float, Space
from asap_lab.tasks import (
    Ackley,
    Branin,
    Hartmann6,
    Mixed,
    Rosenbrock,
    SklearnTask,
    Task,
    get_task,
    list_tasks,
)

SYNTHETIC = ["ackley", "branin", "hartmann6", "mixed", "rosenbrock"]
SKLEARN = ["hgb-digits", "mlp-digits", "rf-breast_cancer", "ridge-diabetes", "svc-classification"]

# The cheapest corner of each real task's space (each evaluation well under a second).
CHEAP: dict[str, dict[str, Any]] = {
    "hgb-digits": {
        "learning_rate": 0.3, "max_iter": 10, "max_leaf_nodes": 4,
        "min_samples_leaf": 64, "l2_regularization": 1.0,
    },
    "mlp-digits": {
        "hidden_units": 16, "n_layers": 1, "alpha": 1e-3,
        "learning_rate_init": 1e-2, "activation": "relu",
    },
    "rf-breast_cancer": {
        "n_estimators": 10, "max_depth": 4, "max_features": "sqrt", "min_samples_split": 2,
    },
    "ridge-diabetes": {"alpha": 1.0, "degree": 1},
    "svc-classification": {"C": 100.0, "gamma": 1e-3, "kernel": "rbf"},
}  # fmt: skip

# The most expensive corner of each real task's space.
EXPENSIVE: dict[str, dict[str, Any]] = {
    "hgb-digits": {
        "learning_rate": 0.01, "max_iter": 80, "max_leaf_nodes": 32,
        "min_samples_leaf": 2, "l2_regularization": 1e-6,
    },
    "mlp-digits": {
        "hidden_units": 256, "n_layers": 2, "alpha": 1e-6,
        "learning_rate_init": 1e-4, "activation": "tanh",
    },
    "rf-breast_cancer": {
        "n_estimators": 300, "max_depth": 20, "max_features": None, "min_samples_split": 2,
    },
    "svc-classification": {"C": 1e3, "gamma": 10.0, "kernel": "rbf"},
}  # fmt: skip


def _vec_config(x: Any) -> dict[str, float]:
    return {f"x{i}": float(v) for i, v in enumerate(x)}


# Registry ---------------------------------------------------------------------------------------
def test_list_tasks_is_sorted_and_complete() -> None:
    names = list_tasks()
    assert names == sorted(names)
    tabular = {n for n in names if n.startswith("tab-")}  # tested in tests/test_bench.py
    assert set(names) - tabular == set(SYNTHETIC) | set(SKLEARN) and len(tabular) >= 2


def test_unknown_task_lists_available() -> None:
    with pytest.raises(ConfigError) as ei:
        get_task("nope")
    msg = str(ei.value)
    assert msg.startswith("unknown task 'nope' (available: ")
    for name in list_tasks():
        assert name in msg


def test_get_task_bad_kwargs() -> None:
    with pytest.raises(ConfigError, match="branin"):
        get_task("branin", dim=3)
    with pytest.raises(ConfigError, match="dim"):
        get_task("rosenbrock", dim=1)
    with pytest.raises(ConfigError, match="cv"):
        get_task("ridge-diabetes", cv=1)


@pytest.mark.parametrize("name", SYNTHETIC + SKLEARN)
def test_registered_task_metadata(name: str) -> None:
    task = get_task(name)
    assert isinstance(task, Task)
    assert task.name == name
    assert isinstance(task.space, Space) and len(task.space) >= 1
    assert task.space is task.space  # built once
    assert Space.from_dict(task.space.to_dict()) == task.space
    assert task.direction in ("minimize", "maximize")
    assert isinstance(task.description, str) and task.description and "\n" not in task.description
    rng = np.random.default_rng(0)
    for _ in range(5):
        cfg = task.space.sample(rng)
        assert task.space.validate(cfg) == cfg
    if name in SYNTHETIC:
        assert isinstance(task.optimum, float)
    else:
        assert task.optimum is None
        assert task.direction == "minimize"


def test_configurable_dims_and_repr() -> None:
    assert list(get_task("rosenbrock", dim=7).space) == [f"x{i}" for i in range(7)]
    assert len(Rosenbrock().space) == 4 and len(Ackley().space) == 5
    assert len(get_task("ackley", dim=2).space) == 2
    assert repr(get_task("rosenbrock", dim=3)) == "Rosenbrock(dim=3)"
    assert repr(get_task("svc-classification", seed=2)) == "SVCClassification(cv=3, seed=2)"


def test_call_validates_config() -> None:
    task = Branin()
    with pytest.raises(SpaceError):
        task({"x0": 11.0, "x1": 0.0})  # x0 outside [-5, 10]
    with pytest.raises(SpaceError):
        task({"x0": 0.0})
    with pytest.raises(SpaceError):
        Mixed()({"lr": 1e-3, "layers": 4, "optimizer": "lbfgs"})


# Synthetic functions ----------------------------------------------------------------------------
@pytest.mark.parametrize("x", [(-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475)])
def test_branin_three_minima(x: tuple[float, float]) -> None:
    assert Branin()(_vec_config(x)) == pytest.approx(0.397887357729738, abs=1e-9)


def test_reference_values() -> None:
    # Hand-computed: Branin(0, 0) = 36 + 10 (1 - 1/(8 pi)) + 10; Ackley_1(1) = 20 (1 - e^-0.2).
    assert Branin()({"x0": 0.0, "x1": 0.0}) == pytest.approx(56 - 10 / (8 * math.pi), rel=1e-12)
    assert Ackley(dim=1)({"x0": 1.0}) == pytest.approx(20 * (1 - math.exp(-0.2)), rel=1e-12)
    assert Rosenbrock(dim=5)(_vec_config(np.zeros(5))) == pytest.approx(4.0)


@pytest.mark.parametrize(
    "task", [Branin(), Hartmann6(), Rosenbrock(), Rosenbrock(dim=2), Ackley(), Ackley(dim=3), Mixed()]
)
def test_optimum_attained_at_argmin(task: Task) -> None:
    assert task.optimum is not None
    assert task(task.argmin) == pytest.approx(task.optimum, abs=1e-6)
    assert task.regret(task(task.argmin)) < 1e-6


def test_hartmann6_optimum_is_a_local_minimum() -> None:
    """Polishing the published argmin neither beats the published optimum nor misses it."""
    task = Hartmann6()
    x0 = np.array(list(task.argmin.values()))
    res = minimize(lambda x: task(_vec_config(x)), x0, method="L-BFGS-B", bounds=[(0, 1)] * 6,
                   options={"ftol": 1e-15, "gtol": 1e-12})  # fmt: skip
    assert res.fun == pytest.approx(-3.32236801141551, abs=1e-10)
    assert np.allclose(res.x, x0, atol=1e-4)


@pytest.mark.parametrize("task", [Branin(), Hartmann6(), Rosenbrock(), Rosenbrock(dim=6), Ackley(), Mixed()])
def test_random_points_not_below_optimum(task: Task) -> None:
    assert task.optimum is not None
    rng = np.random.default_rng(42)
    values = np.array([task(task.space.sample(rng)) for _ in range(2000)])
    assert np.all(np.isfinite(values))
    assert values.min() >= task.optimum - 1e-12
    assert values.min() > task.optimum + 1e-6  # random search does not hit it exactly


def test_mixed_structure() -> None:
    task = Mixed()
    best = {
        opt: min(task({"lr": lr, "layers": k, "optimizer": opt})
                 for lr in np.clip(np.logspace(-5, 0, 501), 1e-5, 1.0) for k in range(1, 11))
        for opt in ("sgd", "adam", "rmsprop")
    }  # fmt: skip
    assert best == pytest.approx({"sgd": 0.5, "adam": 0.0, "rmsprop": 0.2}, abs=1e-12)
    assert min(best.values()) == task.optimum
    # the best lr depends on the optimizer: sgd prefers 1e-1
    assert task({"lr": 0.1, "layers": 4, "optimizer": "sgd"}) == pytest.approx(0.5)
    assert task({"lr": 0.1, "layers": 4, "optimizer": "adam"}) == pytest.approx(4.0)


# Regret -----------------------------------------------------------------------------------------
def test_regret_minimize_and_dict() -> None:
    task = Branin()
    assert task.regret(task.optimum + 1.5) == pytest.approx(1.5)
    assert task.regret({"value": task.optimum + 0.25}) == pytest.approx(0.25)
    assert task.regret(math.nan) == math.inf


def test_regret_maximize() -> None:
    class Peak(Task):
        name = "peak"
        direction = "maximize"
        optimum = 1.0
        description = "1 - x^2"

        def _build_space(self) -> Space:
            return Space({"x": Float(-1.0, 1.0)})

        def _evaluate(self, config: dict[str, Any]) -> float:
            return 1.0 - config["x"] ** 2

    task = Peak()
    assert task.regret(task({"x": 0.5})) == pytest.approx(0.25)
    assert task.regret(task({"x": 0.0})) == 0.0


@pytest.mark.parametrize("name", SKLEARN)
def test_regret_without_optimum_raises(name: str) -> None:
    with pytest.raises(ValueError, match="no known optimum"):
        get_task(name).regret(0.1)


# Real training tasks ----------------------------------------------------------------------------
def test_constructor_is_lazy() -> None:
    task = get_task("ridge-diabetes")
    assert isinstance(task, SklearnTask) and task._data is None
    task(CHEAP["ridge-diabetes"])
    data = task._data
    assert data is not None
    task({"alpha": 10.0, "degree": 2})
    assert task._data is data  # cached on the instance


@pytest.mark.parametrize("name", SKLEARN)
def test_cheap_evaluation_is_sane_and_deterministic(name: str) -> None:
    task = get_task(name)
    r1, r2 = task(CHEAP[name]), task(CHEAP[name])
    assert r1.keys() == r2.keys() and {"value", "fit_s"} <= r1.keys()
    assert math.isfinite(r1["value"]) and r1["value"] == r2["value"]
    assert 0.0 < r1["fit_s"] < 30.0
    if name == "ridge-diabetes":
        assert r1["r2"] == pytest.approx(1 - r1["value"]) and 0.3 < r1["r2"] < 0.7
        assert 2000 < r1["mse"] < 4000
    else:
        assert r1["accuracy"] == pytest.approx(1 - r1["value"])
        assert 0.8 < r1["accuracy"] <= 1.0  # the cheap corners still learn something


def test_seed_changes_the_split() -> None:
    cfg = CHEAP["rf-breast_cancer"]
    a = get_task("rf-breast_cancer", seed=0)(cfg)["value"]
    b = get_task("rf-breast_cancer", seed=1)(cfg)["value"]
    assert a != b


def test_ridge_overfits_at_high_degree_low_alpha() -> None:
    task = get_task("ridge-diabetes")
    assert task({"alpha": 1e-3, "degree": 3})["value"] > task({"alpha": 1.0, "degree": 1})["value"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPENSIVE))
def test_expensive_corner_is_bounded(name: str) -> None:
    result = get_task(name)(EXPENSIVE[name])
    assert math.isfinite(result["value"]) and 0.0 <= result["value"] <= 1.0
    assert result["fit_s"] < 30.0  # about 3-9 s on one idle core
