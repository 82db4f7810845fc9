"""Selectors pick one tool's proposal per round: transparent ones and the LLM selector."""

from asap_lab.selectors._base import BaseSelector, RunInfo, Selection, SelectionContext
from asap_lab.selectors._llm import LLMSelector, answer_schema, parse_answer
from asap_lab.selectors._transparent import RoundRobinSelector, SurrogateEISelector

__all__ = [
    "BaseSelector",
    "LLMSelector",
    "RoundRobinSelector",
    "RunInfo",
    "Selection",
    "SelectionContext",
    "SurrogateEISelector",
    "answer_schema",
    "parse_answer",
]
