"""``FakeLLM``: a scripted stand-in for an LLM backend, for fast unit tests of the selector and
the schedulers. It is NOT a model: it returns the answers it is given (or computes them with a
callable), optionally after a delay, and reports zero cached tokens. The real path is tested with
the embedded model and a real llama.cpp server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from asap_lab.llm import BaseLLM, LLMError, LLMResponse, LLMTimeout

Answer = str | BaseException | Callable[[list[dict[str, str]], dict[str, Any] | None], str]


class FakeLLM(BaseLLM):
    """Answers from a script: each item is a text, an exception to raise, or a callable of
    ``(messages, schema) -> text``; the last item repeats. ``delay_s`` sleeps per call."""

    name = "fake"

    def __init__(self, script: Sequence[Answer] | Answer = "first", *, delay_s: float = 0.0) -> None:
        self.script = list(script) if isinstance(script, (list, tuple)) else [script]
        self.delay_s = delay_s
        self.calls: list[dict[str, Any]] = []
        self.closed = False

    @staticmethod
    def first_eligible(messages: list[dict[str, str]], schema: dict[str, Any] | None) -> str:
        """A valid answer picking the first name of the schema's enum."""
        names = schema["properties"]["pick"]["enum"] if schema else ["?"]
        return json.dumps({"pick": names[0], "rationale": "fake: first eligible proposal"})

    def complete(self, messages, *, schema=None, max_tokens=128, temperature=0.0, timeout_s=None):
        if self.closed:
            raise LLMError("fake backend is closed")
        item = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append({"messages": messages, "schema": schema, "max_tokens": max_tokens})
        t0 = time.perf_counter()
        if self.delay_s:
            if timeout_s is not None and self.delay_s > timeout_s:
                time.sleep(timeout_s)
                raise LLMTimeout(f"fake backend: no answer within {timeout_s} s")
            time.sleep(self.delay_s)
        if isinstance(item, BaseException):
            raise item
        if item == "first":
            item = self.first_eligible
        text = item(messages, schema) if callable(item) else item
        n_prompt = sum(len(m["content"]) for m in messages) // 3
        return LLMResponse(text, n_prompt, 0, len(text) // 3, time.perf_counter() - t0, self.name)

    @property
    def context_tokens(self) -> int:
        return 8192

    def close(self) -> None:
        self.closed = True
