"""The optimizer pool: a small :class:`BaseTool` and wrappers around real libraries."""

from asap_lab.tools._base import BaseTool
from asap_lab.tools._cmaes import CmaEsTool
from asap_lab.tools._optuna import OptunaGPTool, OptunaTool, QMCTool, RandomTool, TPETool
from asap_lab.tools._registry import available_tools, default_tools, make_tool, resolve_tools
from asap_lab.tools._skopt import SkoptETTool, SkoptGPTool, SkoptRFTool, SkoptTool

__all__ = [
    "BaseTool",
    "CmaEsTool",
    "OptunaGPTool",
    "OptunaTool",
    "QMCTool",
    "RandomTool",
    "SkoptETTool",
    "SkoptGPTool",
    "SkoptRFTool",
    "SkoptTool",
    "TPETool",
    "available_tools",
    "default_tools",
    "make_tool",
    "resolve_tools",
]
