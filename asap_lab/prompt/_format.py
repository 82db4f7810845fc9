"""Deterministic text formatting for prompts: numbers, configurations, history rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from asap_lab.trial import Trial


def fmt_num(x: float | None, digits: int = 4) -> str:
    """A number in ``digits`` significant digits, always rendered the same way."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return format(float(x), f".{digits}g")


def fmt_value(v: Any, digits: int = 4) -> str:
    """A parameter value: numbers via :func:`fmt_num`, strings bare, None as ``None``."""
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, bool):
        return str(v)
    return fmt_num(v, digits)


def fmt_config(params: Mapping[str, Any], order: list[str], digits: int = 4) -> str:
    """``a=1 b=0.01 c=relu`` in the space's parameter order."""
    return " ".join(f"{k}={fmt_value(params[k], digits)}" for k in order if k in params)


def one_line(text: str, limit: int) -> str:
    """Collapse whitespace/newlines and cut to ``limit`` characters."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: max(limit - 3, 0)] + "..."


def history_row(trial: Trial, order: list[str]) -> str:
    """One fixed-format line per finished trial; depends on nothing but the trial itself."""
    result = f"value={fmt_num(trial.value, 6)}" if trial.ok else f"FAILED ({one_line(trial.error or '', 60)})"
    return f"#{trial.number} {trial.tool} [{trial.picked_by}] {fmt_config(trial.params, order)} -> {result}\n"
