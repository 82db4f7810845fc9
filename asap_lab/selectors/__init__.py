"""Selectors pick one tool's proposal per round (the LLM selector lives in ``asap_lab.llm``)."""

from asap_lab.selectors._base import BaseSelector, Selection, SelectionContext
from asap_lab.selectors._transparent import RoundRobinSelector, SurrogateEISelector

__all__ = [
    "BaseSelector",
    "RoundRobinSelector",
    "Selection",
    "SelectionContext",
    "SurrogateEISelector",
]
