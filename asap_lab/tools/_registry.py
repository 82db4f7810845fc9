"""Tool names, the default pool and construction from names."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence

import numpy as np

from asap_lab.errors import ConfigError
from asap_lab.tools._base import BaseTool
from asap_lab.tools._cmaes import CmaEsTool
from asap_lab.tools._optuna import OptunaGPTool, QMCTool, RandomTool, TPETool
from asap_lab.tools._skopt import SkoptETTool, SkoptGPTool, SkoptRFTool

_REGISTRY: dict[str, Callable[[], BaseTool]] = {
    "tpe": TPETool,
    "cmaes": CmaEsTool,
    "qmc": QMCTool,
    "random": RandomTool,
    "skopt-gp": SkoptGPTool,
    "skopt-rf": SkoptRFTool,
    "skopt-et": SkoptETTool,
    "gp": OptunaGPTool,
}


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def available_tools() -> list[str]:
    """Names usable here (``"gp"`` only when torch is importable)."""
    return [n for n in _REGISTRY if n != "gp" or _has_torch()]


def default_tools() -> list[str]:
    """The default pool: every available tool but plain random search."""
    return [n for n in available_tools() if n != "random"]


def make_tool(name: str) -> BaseTool:
    """Build a tool from its registry name."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown tool {name!r} (available: {', '.join(available_tools())})")
    if name == "gp" and not _has_torch():
        raise ConfigError("tool 'gp' needs torch: pip install torch==2.13.0 (CPU wheel)")
    return _REGISTRY[name]()


def resolve_tools(
    tools: Sequence[str | BaseTool] | str | BaseTool | None,
    space: object,
    *,
    direction: str,
    seed: int | None,
) -> list[BaseTool]:
    """Turn ``optimize(tools=...)`` into bound tools with distinct, reproducible seeds."""
    if tools is None:
        tools = default_tools()
    if isinstance(tools, (str, BaseTool)):
        tools = [tools]
    if not isinstance(tools, Sequence) or not tools:
        raise ConfigError("tools must be a non-empty list of tool names or BaseTool objects")
    built: list[BaseTool] = []
    for t in tools:
        if isinstance(t, str):
            built.append(make_tool(t))
        elif isinstance(t, BaseTool):
            built.append(t)
        else:
            raise ConfigError(f"a tool must be a name or a BaseTool, got {type(t).__name__}")
    names = [t.name for t in built]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"tool names must be unique, got {sorted(dup)} twice (pass name=...)")
    if "human" in names:
        raise ConfigError("'human' is reserved for human picks; rename the tool")
    seeds = np.random.SeedSequence(seed).generate_state(len(built)) if seed is not None else None
    for i, t in enumerate(built):
        t.bind(space, direction=direction, seed=None if seeds is None else int(seeds[i]))  # type: ignore[arg-type]
    return built
