"""The prefix-stable selector prompt (stable first, append-only history, volatile last)."""

from asap_lab.prompt._builder import Prompt, PromptBuilder
from asap_lab.prompt._format import fmt_num, history_row

__all__ = ["Prompt", "PromptBuilder", "fmt_num", "history_row"]
