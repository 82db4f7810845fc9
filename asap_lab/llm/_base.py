"""The contract every LLM backend implements: :class:`BaseLLM` returning :class:`LLMResponse`."""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from asap_lab.errors import AsapError

__all__ = ["BaseLLM", "LLMError", "LLMResponse", "LLMTimeout", "Messages"]

Messages = list[dict[str, str]]


class LLMError(AsapError, RuntimeError):
    """An LLM call failed: dead server, bad HTTP status, engine failure, closed backend."""


class LLMTimeout(LLMError, TimeoutError):
    """An LLM call did not finish before its deadline."""


@dataclass(frozen=True)
class LLMResponse:
    """One answer, with the engine's own token accounting.

    ``cached_tokens`` is always the number the engine reports (prompt tokens served
    from its KV / prefix cache); backends never estimate it.
    """

    text: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    latency_s: float
    backend: str


class BaseLLM(abc.ABC):
    """A chat model: ``complete(messages) -> LLMResponse``; cheap to construct, lazy to load."""

    name: str = "llm"

    @abc.abstractmethod
    def complete(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float = 0.0,
        timeout_s: float | None = None,
    ) -> LLMResponse:
        """Answer ``messages``; with ``schema`` the output is constrained to that JSON schema."""

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` as the engine tokenizes it (no BOS/special tokens added)."""
        raise NotImplementedError(f"{type(self).__name__} cannot tokenize")

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release the engine or connection; calling it again does nothing."""

    @property
    def context_tokens(self) -> int:
        """The model's context window, in tokens."""
        raise NotImplementedError(f"{type(self).__name__} does not know its context size")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def json_schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``response_format`` that constrains output to ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": True},
    }


def usage_counts(payload: dict[str, Any]) -> tuple[int, int, int, bool]:
    """``(prompt, cached, completion, cache_reported)`` from an OpenAI-style answer.

    Cached tokens come from ``usage.prompt_tokens_details.cached_tokens``; llama.cpp's
    ``timings.cache_n`` (also engine-reported) is the fallback. Neither present: 0, False.
    """
    usage = payload.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    timings = payload.get("timings") or {}
    cached = details.get("cached_tokens")
    if cached is None:
        cached = timings.get("cache_n")
    prompt = usage.get("prompt_tokens")
    if prompt is None and "prompt_n" in timings:
        prompt = int(timings["prompt_n"]) + int(timings.get("cache_n", 0))
    return (
        int(prompt or 0),
        int(cached or 0),
        int(usage.get("completion_tokens") or timings.get("predicted_n") or 0),
        cached is not None,
    )


def call_with_deadline(
    lock: threading.Lock,
    name: str,
    work: Callable[[threading.Event], LLMResponse],
    timeout_s: float | None,
) -> LLMResponse:
    """Run ``work(cancel)`` in a worker thread holding ``lock``, so that a deadline or Ctrl-C
    can abandon it: past the deadline :class:`LLMTimeout` is raised and ``cancel`` is set (the
    engine stops at its next step; the lock is released when it does)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    acquired = lock.acquire() if timeout_s is None else lock.acquire(timeout=max(timeout_s, 0.0))
    if not acquired:
        raise LLMTimeout(f"{name}: the previous call still runs after {timeout_s:g} s")
    cancel = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["response"] = work(cancel)
        except BaseException as exc:
            box["error"] = exc
        finally:
            lock.release()

    worker = threading.Thread(target=run, name="asap-llm-call", daemon=True)
    worker.start()
    try:  # short joins: a pending KeyboardInterrupt is raised between them
        while worker.is_alive() and (deadline is None or time.monotonic() < deadline):
            worker.join(0.05 if deadline is None else min(0.05, max(deadline - time.monotonic(), 0.0)))
    except BaseException:  # Ctrl-C while waiting: stop the call at its next step
        cancel.set()
        raise
    if worker.is_alive():
        cancel.set()
        raise LLMTimeout(f"{name}: no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["response"]
