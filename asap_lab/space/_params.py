"""Parameter types of a search space.

Each parameter knows how to validate a value, map it to the unit interval (the shared numeric
encoding used by surrogates and CMA-ES) and back, and convert itself to an Optuna distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna import distributions as od

from asap_lab.errors import SpaceError

ChoiceType = None | bool | int | float | str
_CHOICE_TYPES = (type(None), bool, int, float, str)


class Param:
    """Base class of a search-space parameter."""

    kind: str = ""

    def validate(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_optuna(self) -> od.BaseDistribution:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _finite_number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise SpaceError(f"{what} must be a number, got {x!r}")
    if not math.isfinite(float(x)):
        raise SpaceError(f"{what} must be finite, got {x!r}")
    return float(x)


@dataclass(frozen=True)
class Float(Param):
    """A real parameter in ``[low, high]``, optionally log-scaled."""

    low: float
    high: float
    log: bool = False
    kind = "float"

    def __post_init__(self) -> None:
        low = _finite_number(self.low, "Float low")
        high = _finite_number(self.high, "Float high")
        if low >= high:
            raise SpaceError(f"Float needs low < high, got low={self.low!r}, high={self.high!r}")
        if self.log and low <= 0:
            raise SpaceError(f"Float with log=True needs low > 0, got low={self.low!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))

    def validate(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SpaceError(f"parameter {name!r}: expected a number, got {value!r}")
        v = float(value)
        if not math.isfinite(v) or v < self.low or v > self.high:
            raise SpaceError(
                f"parameter {name!r}: {value!r} is outside [{self.low:g}, {self.high:g}]"
            )
        return v

    def to_unit(self, value: Any) -> float:
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return (math.log(float(value)) - lo) / (hi - lo)
        return (float(value) - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            v = math.exp(lo + u * (hi - lo))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, self.low), self.high)

    def to_optuna(self) -> od.FloatDistribution:
        return od.FloatDistribution(self.low, self.high, log=self.log)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}

    def describe(self) -> str:
        return f"float in [{self.low:g}, {self.high:g}]" + (", log scale" if self.log else "")


@dataclass(frozen=True)
class Int(Param):
    """An integer parameter in ``[low, high]`` on a grid of ``step``, optionally log-scaled."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    kind = "int"

    def __post_init__(self) -> None:
        for what, v in (("low", self.low), ("high", self.high), ("step", self.step)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise SpaceError(f"Int {what} must be an integer, got {v!r}")
        low, high, step = int(self.low), int(self.high), int(self.step)
        if low >= high:
            raise SpaceError(f"Int needs low < high, got low={low}, high={high}")
        if step < 1:
            raise SpaceError(f"Int needs step >= 1, got step={step}")
        if self.log and low <= 0:
            raise SpaceError(f"Int with log=True needs low > 0, got low={low}")
        if self.log and step != 1:
            raise SpaceError("Int with log=True needs step=1 (a log grid has no fixed step)")
        high = low + (high - low) // step * step
        if high == low:
            raise SpaceError(f"Int range [{self.low}, {self.high}] holds one value at step {step}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "log", bool(self.log))

    @property
    def n_values(self) -> int:
        """Number of grid points."""
        return (self.high - self.low) // self.step + 1

    def validate(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SpaceError(f"parameter {name!r}: expected an integer, got {value!r}")
        if float(value) != math.floor(float(value)):
            raise SpaceError(f"parameter {name!r}: expected an integer, got {value!r}")
        v = int(value)
        if v < self.low or v > self.high or (v - self.low) % self.step:
            grid = f" with step {self.step}" if self.step > 1 else ""
            raise SpaceError(f"parameter {name!r}: {value!r} is outside [{self.low}, {self.high}]{grid}")
        return v

    def to_unit(self, value: Any) -> float:
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return (math.log(float(value)) - lo) / (hi - lo)
        return (float(value) - self.low + 0.5 * self.step) / (self.high - self.low + self.step)

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            v = round(math.exp(lo + u * (hi - lo)))
            return min(max(v, self.low), self.high)
        k = math.floor(u * self.n_values)
        return self.low + min(k, self.n_values - 1) * self.step

    def to_optuna(self) -> od.IntDistribution:
        return od.IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log, "step": self.step}

    def describe(self) -> str:
        extra = ", log scale" if self.log else (f", step {self.step}" if self.step > 1 else "")
        return f"integer in [{self.low}, {self.high}]{extra}"


@dataclass(frozen=True)
class Categorical(Param):
    """A parameter taking one of ``choices`` (None, bool, int, float or str)."""

    choices: tuple[ChoiceType, ...]
    kind = "categorical"

    def __init__(self, choices: Any) -> None:
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
            raise SpaceError(f"Categorical needs a list of choices, got {choices!r}")
        items = tuple(choices)
        if not items:
            raise SpaceError("Categorical needs at least one choice, got an empty list")
        for c in items:
            if not isinstance(c, _CHOICE_TYPES):
                raise SpaceError(
                    f"Categorical choices must be None, bool, int, float or str; got {c!r}"
                )
        if len(set(map(repr, items))) != len(items):
            raise SpaceError(f"Categorical choices must be distinct, got {list(items)!r}")
        object.__setattr__(self, "choices", items)

    def index(self, value: Any) -> int:
        """Position of ``value`` in :attr:`choices` (type-aware: ``True`` is not ``1``)."""
        for i, c in enumerate(self.choices):
            if type(c) is type(value) and c == value:
                return i
        for i, c in enumerate(self.choices):  # accept 1.0 for 1, numpy scalars, ...
            if not isinstance(c, (bool, str)) and c is not None and not isinstance(value, (bool, str)):
                try:
                    if float(c) == float(value):
                        return i
                except (TypeError, ValueError):
                    pass
        raise KeyError(value)

    def validate(self, name: str, value: Any) -> ChoiceType:
        try:
            return self.choices[self.index(value)]
        except KeyError:
            raise SpaceError(
                f"parameter {name!r}: {value!r} is not one of {list(self.choices)!r}"
            ) from None

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> ChoiceType:
        k = math.floor(min(max(float(u), 0.0), 1.0) * len(self.choices))
        return self.choices[min(k, len(self.choices) - 1)]

    def to_optuna(self) -> od.CategoricalDistribution:
        return od.CategoricalDistribution(self.choices)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "categorical", "choices": list(self.choices)}

    def describe(self) -> str:
        return "one of " + ", ".join(map(_fmt_choice, self.choices))


def _fmt_choice(c: ChoiceType) -> str:
    return repr(c) if isinstance(c, str) else str(c)


def param_from_dict(d: dict[str, Any]) -> Param:
    """Inverse of ``Param.to_dict`` (used to read journals)."""
    kind = d.get("type")
    if kind == "float":
        return Float(d["low"], d["high"], log=d.get("log", False))
    if kind == "int":
        return Int(d["low"], d["high"], log=d.get("log", False), step=d.get("step", 1))
    if kind == "categorical":
        return Categorical(d["choices"])
    raise SpaceError(f"unknown parameter type {kind!r} (expected float, int or categorical)")


def param_from_optuna(dist: od.BaseDistribution) -> Param:
    """Convert an Optuna distribution to a :class:`Param`."""
    if isinstance(dist, od.FloatDistribution):
        if dist.step is not None:
            raise SpaceError("Optuna FloatDistribution with step is not supported; use Int or Float")
        return Float(dist.low, dist.high, log=dist.log)
    if isinstance(dist, od.IntDistribution):
        return Int(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, od.CategoricalDistribution):
        return Categorical(dist.choices)
    raise SpaceError(f"unsupported Optuna distribution {type(dist).__name__}")
