"""Search-space construction, validation (one clear error each) and encodings."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from asap_lab import Categorical, Float, Int, Space, SpaceError


@pytest.mark.parametrize(
    ("make", "msg"),
    [
        (lambda: Float(1, 1), "low < high"),
        (lambda: Float(2, 1), "low < high"),
        (lambda: Float(0, 1, log=True), "log=True needs low > 0"),
        (lambda: Float("a", 1), "must be a number"),
        (lambda: Float(0, float("inf")), "must be finite"),
        (lambda: Int(5, 5), "low < high"),
        (lambda: Int(0, 10, log=True), "log=True needs low > 0"),
        (lambda: Int(1, 10, log=True, step=2), "step=1"),
        (lambda: Int(0, 10, step=0), "step >= 1"),
        (lambda: Int(0.5, 10), "must be an integer"),
        (lambda: Categorical([]), "at least one choice"),
        (lambda: Categorical("abc"), "a list of choices"),
        (lambda: Categorical([[1], 2]), "must be None, bool, int, float or str"),
        (lambda: Categorical(["a", "a"]), "distinct"),
        (lambda: Space({}), "at least one parameter"),
        (lambda: Space({"x": 3}), "unknown type int"),
        (lambda: Space([1, 2]), "must be a dict"),
        (lambda: Space({"": Float(0, 1)}), "non-empty strings"),
    ],
)
def test_bad_spaces_raise_one_clear_error(make, msg) -> None:
    with pytest.raises(SpaceError, match=msg) as ei:
        make()
    assert "\n" not in str(ei.value)


SPACE = Space(
    {"lr": Float(1e-4, 1e-1, log=True), "n": Int(2, 20, step=2), "c": Categorical(["a", 1, True, None])}
)


@pytest.mark.parametrize(
    ("config", "msg"),
    [
        ({"lr": 1.0, "n": 4, "c": "a"}, "outside"),
        ({"lr": 1e-3, "n": 5, "c": "a"}, "with step 2"),
        ({"lr": 1e-3, "n": 4.5, "c": "a"}, "expected an integer"),
        ({"lr": 1e-3, "n": 4, "c": "b"}, "not one of"),
        ({"lr": 1e-3, "n": 4}, "missing parameter 'c'"),
        ({"lr": 1e-3, "n": 4, "c": "a", "z": 1}, "unknown parameter 'z'"),
        ({"lr": "x", "n": 4, "c": "a"}, "expected a number"),
        ({"lr": float("nan"), "n": 4, "c": "a"}, "outside"),
        ([1, 2], "must be a dict"),
    ],
)
def test_config_outside_space(config, msg) -> None:
    with pytest.raises(SpaceError, match=msg):
        SPACE.validate(config)
    assert not SPACE.contains(config)


def test_validate_normalises_types() -> None:
    out = SPACE.validate({"c": True, "n": np.int64(6), "lr": np.float32(0.01)})
    assert list(out) == ["lr", "n", "c"]
    assert type(out["n"]) is int and type(out["lr"]) is float and out["c"] is True
    # bool and int choices are not confused
    assert SPACE.validate({"lr": 0.01, "n": 2, "c": 1})["c"] == 1
    assert SPACE.validate({"lr": 0.01, "n": 2, "c": 1})["c"] is not True


def test_unit_roundtrip_and_bounds() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = SPACE.sample(rng)
        assert SPACE.contains(c)
        u = SPACE.to_unit(c)
        assert np.all((u >= 0) & (u <= 1))
        assert SPACE.from_unit(u) == c
    assert SPACE.from_unit(np.array([-1.0, 2.0, 0.99]))["lr"] == pytest.approx(1e-4)
    assert SPACE.to_features({"lr": 0.01, "n": 2, "c": None}).shape == (2 + 4,)


def test_optuna_distributions_and_dict_roundtrip() -> None:
    s = Space({"a": optuna.distributions.FloatDistribution(0.1, 1, log=True),
               "b": optuna.distributions.IntDistribution(1, 9, step=2),
               "c": optuna.distributions.CategoricalDistribution(["x", "y"])})
    assert s["a"] == Float(0.1, 1, log=True) and s["b"] == Int(1, 9, step=2)
    assert Space.from_dict(s.to_dict()) == s
    assert s.to_optuna()["b"] == optuna.distributions.IntDistribution(1, 9, step=2)
    with pytest.raises(SpaceError, match="parameter 'q'"):
        Space({"q": optuna.distributions.FloatDistribution(0, 1, step=0.1)})
    assert "log scale" in s.describe()[0]
