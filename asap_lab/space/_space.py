"""The :class:`Space`: an ordered mapping of parameter names to parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from optuna import distributions as od

from asap_lab.errors import SpaceError
from asap_lab.space._params import (
    Categorical,
    Float,
    Int,
    Param,
    param_from_dict,
    param_from_optuna,
)


class Space(Mapping[str, Param]):
    """An ordered, validated search space.

    Build it from a dict of :class:`Float`/:class:`Int`/:class:`Categorical` or Optuna
    distributions: ``Space({"lr": Float(1e-4, 1e-1, log=True), "depth": Int(2, 8)})``.
    """

    def __init__(self, params: Mapping[str, Any]) -> None:
        if isinstance(params, Space):
            self._params: dict[str, Param] = dict(params._params)
            return
        if not isinstance(params, Mapping):
            raise SpaceError(
                f"a space must be a dict of name -> Float/Int/Categorical, got {type(params).__name__}"
            )
        if not params:
            raise SpaceError("a space needs at least one parameter, got an empty dict")
        out: dict[str, Param] = {}
        for name, p in params.items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"parameter names must be non-empty strings, got {name!r}")
            if isinstance(p, Param):
                out[name] = p
            elif isinstance(p, od.BaseDistribution):
                try:
                    out[name] = param_from_optuna(p)
                except SpaceError as e:
                    raise SpaceError(f"parameter {name!r}: {e}") from None
            else:
                raise SpaceError(
                    f"parameter {name!r}: unknown type {type(p).__name__} "
                    "(use asap_lab.Float, Int, Categorical or an Optuna distribution)"
                )
        self._params = out

    @classmethod
    def coerce(cls, space: Any) -> Space:
        """Return ``space`` as a :class:`Space` (accepts a Space or a dict)."""
        return space if isinstance(space, Space) else cls(space)

    # Mapping protocol -------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # Validation ---------------------------------------------------------------------------------
    def validate(self, config: Any) -> dict[str, Any]:
        """Check ``config`` against the space and return it normalised (in space order).

        Raises :class:`SpaceError` naming the first problem: not a dict, a missing or unknown
        key, a value of the wrong type or out of range.
        """
        if not isinstance(config, Mapping):
            raise SpaceError(f"a configuration must be a dict, got {type(config).__name__}")
        unknown = [k for k in config if k not in self._params]
        if unknown:
            raise SpaceError(f"unknown parameter {unknown[0]!r} (space has {list(self._params)})")
        out: dict[str, Any] = {}
        for name, p in self._params.items():
            if name not in config:
                raise SpaceError(f"configuration is missing parameter {name!r}")
            out[name] = p.validate(name, config[name])
        return out

    def contains(self, config: Any) -> bool:
        """True when ``config`` is a valid configuration of this space."""
        try:
            self.validate(config)
        except SpaceError:
            return False
        return True

    # Encodings ----------------------------------------------------------------------------------
    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """Map a configuration to ``[0, 1]^d`` (one coordinate per parameter)."""
        return np.array([p.to_unit(config[n]) for n, p in self._params.items()], dtype=float)

    def from_unit(self, u: np.ndarray) -> dict[str, Any]:
        """Inverse of :meth:`to_unit` (clips, rounds integers, bins categoricals)."""
        return {n: p.from_unit(float(x)) for (n, p), x in zip(self._params.items(), u, strict=True)}

    def to_features(self, config: Mapping[str, Any]) -> np.ndarray:
        """Surrogate features: numeric parameters in ``[0, 1]``, categoricals one-hot."""
        feats: list[float] = []
        for n, p in self._params.items():
            if isinstance(p, Categorical):
                onehot = [0.0] * len(p.choices)
                onehot[p.index(config[n])] = 1.0
                feats.extend(onehot)
            else:
                feats.append(p.to_unit(config[n]))
        return np.array(feats, dtype=float)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A uniform random configuration (uniform in the unit encoding)."""
        return self.from_unit(rng.random(len(self._params)))

    # Conversions --------------------------------------------------------------------------------
    def to_optuna(self) -> dict[str, od.BaseDistribution]:
        """The space as Optuna distributions."""
        return {n: p.to_optuna() for n, p in self._params.items()}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """A JSON-friendly description (stored in journal headers)."""
        return {n: p.to_dict() for n, p in self._params.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Mapping[str, Any]]) -> Space:
        """Inverse of :meth:`to_dict`."""
        return cls({n: param_from_dict(dict(v)) for n, v in d.items()})

    def describe(self) -> list[str]:
        """One line per parameter, e.g. ``"lr: float in [0.0001, 0.1], log scale"``."""
        return [f"{n}: {p.describe()}" for n, p in self._params.items()]

    @property
    def n_numeric(self) -> int:
        return sum(isinstance(p, (Float, Int)) for p in self._params.values())
