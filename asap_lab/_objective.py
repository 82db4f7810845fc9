"""Calling the user's objective and turning whatever comes back into a result or a failure."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Objective = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Outcome:
    """What one evaluation produced: a finite value, or the reason it failed."""

    value: float | None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, np.ndarray) and v.size == 1 and np.issubdtype(v.dtype, np.number):
        return float(v.reshape(()))
    return None


def interpret(result: Any) -> Outcome:
    """Validate an objective's return value: a number, or a dict with a numeric ``"value"``."""
    metrics: dict[str, Any] = {}
    raw = result
    if isinstance(result, Mapping):
        if "value" not in result:
            keys = sorted(map(str, result))
            return Outcome(None, error=f"objective returned a dict without 'value' (keys: {keys})")
        metrics = {str(k): v for k, v in result.items() if k != "value"}
        raw = result["value"]
    value = _as_float(raw)
    if value is None:
        text = repr(raw)
        text = text if len(text) <= 80 else text[:77] + "..."
        return Outcome(None, metrics, f"objective returned {type(raw).__name__} {text}, expected a number")
    if not math.isfinite(value):
        return Outcome(None, metrics, f"objective returned a non-finite value ({value})")
    return Outcome(value, metrics)


def evaluate(objective: Objective, config: dict[str, Any]) -> Outcome:
    """Run the objective on ``config``; an exception becomes a failed outcome (not KeyboardInterrupt)."""
    try:
        result = objective(dict(config))
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
        return Outcome(None, error=f"{type(e).__name__}: {e}{where}")
    return interpret(result)
