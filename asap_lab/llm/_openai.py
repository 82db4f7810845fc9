"""OpenAI-compatible HTTP backend (llama.cpp server, vLLM, OpenAI), stdlib only."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from asap_lab.llm._base import (
    BaseLLM,
    LLMError,
    LLMResponse,
    LLMTimeout,
    Messages,
    json_schema_format,
    usage_counts,
)

__all__ = ["OpenAICompatLLM"]

_NOT_SUPPORTED = (404, 405, 501)


def http_json(
    url: str,
    body: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """POST ``body`` (GET when None) to ``url`` and decode the JSON answer.

    Raises :class:`LLMTimeout` past ``timeout_s`` and :class:`LLMError` (status and URL
    in one line, ``.status`` set) for refused connections, HTTP errors and non-JSON answers.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        error = LLMError(f"HTTP {exc.code} from {url}: {_error_message(exc)}")
        error.status = exc.code  # type: ignore[attr-defined]
        raise error from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise LLMTimeout(f"no answer from {url} within {timeout_s:g} s") from None
        raise LLMError(f"cannot reach {url}: {exc.reason}") from None
    except TimeoutError:
        raise LLMTimeout(f"no answer from {url} within {timeout_s:g} s") from None
    except OSError as exc:
        raise LLMError(f"connection to {url} failed: {exc}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise LLMError(f"non-JSON answer from {url}: {raw[:120]!r}") from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The server's own error message (OpenAI ``{"error": {"message": ...}}``) on one line."""
    try:
        raw = exc.read().decode("utf-8", "replace")
    except OSError:
        raw = ""
    try:
        error = json.loads(raw).get("error", raw)
        message = error.get("message", error) if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = raw or exc.reason
    return " ".join(str(message).split())[:300]


class OpenAICompatLLM(BaseLLM):
    """Chat completions over HTTP from any OpenAI-compatible server.

    The API key is read from the environment variable ``api_key_env`` at every call and sent
    as ``Authorization: Bearer``; it is never stored on the object, in ``repr`` or in logs.
    ``cache_reported`` tells whether the last answer carried an engine cached-token count.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 300.0,
        context_tokens: int | None = None,
        default_context_tokens: int = 4096,
        seed: int | None = 42,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.seed = seed
        self.default_context_tokens = default_context_tokens
        self._context_tokens = context_tokens
        self.cache_reported: bool | None = None
        self.name = f"openai:{model or self.base_url}"
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"OpenAICompatLLM(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    @property
    def root_url(self) -> str:
        """The server root: ``base_url`` without a trailing ``/v1``."""
        return self.base_url.removesuffix("/v1")

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _check_open(self) -> None:
        if self._closed:
            raise LLMError(f"{self.name} is closed")

    def complete(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float = 0.0,
        timeout_s: float | None = None,
    ) -> LLMResponse:
        """POST ``{base_url}/chat/completions``; see :meth:`BaseLLM.complete`."""
        self._check_open()
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if self.model is not None:
            body["model"] = self.model
        if self.seed is not None:
            body["seed"] = self.seed
        if schema is not None:
            body["response_format"] = json_schema_format(schema)
        url = f"{self.base_url}/chat/completions"
        start = time.perf_counter()
        payload = http_json(
            url,
            body,
            headers=self._headers(),
            timeout_s=self.timeout_s if timeout_s is None else timeout_s,
        )
        latency = time.perf_counter() - start
        try:
            text = payload["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"answer from {url} has no choices[0].message.content") from None
        prompt, cached, completion, reported = usage_counts(payload)
        self.cache_reported = reported
        return LLMResponse(text, prompt, cached, completion, latency, self.name)

    def tokenize(self, text: str) -> list[int]:
        """Token ids from ``{root_url}/tokenize`` (llama.cpp and vLLM servers).

        Raises :class:`NotImplementedError` when the server has no such endpoint.
        """
        self._check_open()
        # llama.cpp reads "content"/"add_special", vLLM "prompt"/"add_special_tokens".
        body = {"content": text, "prompt": text, "add_special": False, "add_special_tokens": False}
        if self.model is not None:
            body["model"] = self.model
        try:
            payload = http_json(
                f"{self.root_url}/tokenize", body, headers=self._headers(), timeout_s=self.timeout_s
            )
        except LLMError as exc:
            if getattr(exc, "status", None) in _NOT_SUPPORTED:
                raise NotImplementedError(f"{self.root_url} has no /tokenize endpoint") from None
            raise
        tokens = payload.get("tokens")
        if not isinstance(tokens, list):
            raise NotImplementedError(f"{self.root_url}/tokenize did not return token ids")
        return [t["id"] if isinstance(t, dict) else int(t) for t in tokens]

    @property
    def context_tokens(self) -> int:
        """Given ``context_tokens``, else the server's (llama.cpp ``/props``, vLLM ``/v1/models``),
        else ``default_context_tokens``."""
        if self._context_tokens is None:
            self._context_tokens = self._query_context() or self.default_context_tokens
        return self._context_tokens

    def _query_context(self) -> int | None:
        timeout = min(self.timeout_s, 10.0)
        try:
            props = http_json(f"{self.root_url}/props", headers=self._headers(), timeout_s=timeout)
            n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
            if n_ctx:
                return int(n_ctx)
        except LLMError:
            pass
        try:
            models = http_json(f"{self.base_url}/models", headers=self._headers(), timeout_s=timeout)
            sizes = {
                entry.get("id"): entry.get("max_model_len") or (entry.get("meta") or {}).get("n_ctx")
                for entry in models.get("data") or []
            }
            n_ctx = sizes.get(self.model) or next((v for v in sizes.values() if v), None)
            if n_ctx:
                return int(n_ctx)
        except (LLMError, AttributeError):
            pass
        return None

    def close(self) -> None:
        """Mark closed (each call opens its own connection, so nothing else to release)."""
        self._closed = True
