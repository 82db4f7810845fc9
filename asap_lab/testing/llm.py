"""Conformance suite for LLM backends: every :class:`~asap_lab.llm.BaseLLM` must pass it.

Use it from a test module (loading a model is slow, so pass one shared backend)::

    from asap_lab.testing.llm import run_conformance
    def test_my_backend(my_llm):
        run_conformance(my_llm, factory=lambda: MyLLM())

or call the individual ``check_*`` functions. :class:`LlamaCppServerProcess` runs a real
llama.cpp HTTP server (``xllamacpp.Server``) in a child process to test HTTP backends against.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from asap_lab.llm import BaseLLM, LLMError, LLMResponse
from asap_lab.llm._base import Messages

LLMFactory = Callable[[], BaseLLM]

PICKS = ["tpe", "cmaes", "gp", "random"]

#: The selector's answer shape: one of the tools plus a short rationale.
PICK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pick": {"type": "string", "enum": PICKS},
        "rationale": {"type": "string", "maxLength": 200},
    },
    "required": ["pick", "rationale"],
    "additionalProperties": False,
}


def stable_prefix(n_trials: int = 28) -> str:
    """A deterministic optimization history: about 1,150 SmolLM2 tokens at the default."""
    lines = [
        "You pick which optimizer proposes the next trial of a hyperparameter search.",
        'Answer with JSON: {"pick": one of ' + ", ".join(PICKS) + ', "rationale": why}.',
        "History (trial: learning_rate, depth, dropout -> validation loss; tool):",
    ]
    for i in range(n_trials):
        lr = 10 ** (-4 + (i * 7 % 30) / 10)
        loss = 0.2 + ((i * 37) % 100) / 125
        lines.append(
            f"trial {i}: lr={lr:.2e}, depth={2 + i % 9}, dropout={(i * 13 % 50) / 100:.2f} "
            f"-> loss {loss:.4f}; tool {PICKS[i % len(PICKS)]}"
        )
    return "\n".join(lines)


def prefix_messages(round_no: int, n_trials: int = 28) -> Messages:
    """Chat messages sharing :func:`stable_prefix`, differing only in the final user turn."""
    return [
        {"role": "system", "content": stable_prefix(n_trials)},
        {"role": "user", "content": f"Round {round_no}: which optimizer should propose next?"},
    ]


def check_response(llm: BaseLLM, response: LLMResponse) -> None:
    """Token counts are engine-plausible and the response names its backend."""
    assert isinstance(response, LLMResponse), type(response)
    assert response.prompt_tokens > 0, response
    assert response.completion_tokens > 0, response
    assert 0 <= response.cached_tokens <= response.prompt_tokens, response
    assert response.latency_s > 0, response
    assert response.backend == llm.name, (response.backend, llm.name)


def check_pick_json(text: str) -> dict[str, Any]:
    """``text`` is JSON matching :data:`PICK_SCHEMA`; returns it decoded."""
    answer = json.loads(text)
    assert isinstance(answer, dict), text
    assert set(answer) == {"pick", "rationale"}, text
    assert answer["pick"] in PICKS, text
    assert isinstance(answer["rationale"], str) and len(answer["rationale"]) <= 200, text
    return answer


def check_schema_and_cache(llm: BaseLLM, calls: int = 5, n_trials: int = 28) -> list[LLMResponse]:
    """``calls`` schema-constrained answers over one long stable prefix with varying suffixes.

    Every answer is valid JSON for :data:`PICK_SCHEMA`; from the second call on the engine
    reports at least half of the prompt as served from its cache.
    """
    responses = []
    for round_no in range(calls):
        response = llm.complete(prefix_messages(round_no, n_trials), schema=PICK_SCHEMA)
        check_response(llm, response)
        check_pick_json(response.text)
        if round_no > 0:
            assert response.cached_tokens > 0, f"call {round_no + 1}: no cached tokens {response}"
            assert response.cached_tokens >= response.prompt_tokens // 2, response
        responses.append(response)
    return responses


def check_tokenize(llm: BaseLLM, n_trials: int = 28) -> bool:
    """Engine tokenization is deterministic and the stable prefix is 1,000+ tokens.

    Returns False (checking nothing) when the backend cannot tokenize.
    """
    text = stable_prefix(n_trials)
    try:
        tokens = llm.tokenize(text)
    except NotImplementedError:
        return False
    assert tokens and all(isinstance(t, int) for t in tokens), tokens[:10]
    assert llm.tokenize(text) == tokens
    assert len(tokens) >= 1000, f"stable prefix is only {len(tokens)} tokens"
    return True


def check_context_tokens(llm: BaseLLM) -> None:
    """The context window is a positive int, large enough for the conformance prompts."""
    assert isinstance(llm.context_tokens, int) and llm.context_tokens >= 2048, llm.context_tokens


def check_close_idempotent(factory: LLMFactory) -> None:
    """``close()`` twice is fine; a closed backend raises :class:`LLMError`; ``with`` closes."""
    llm = factory()
    response = llm.complete([{"role": "user", "content": "Say OK."}], max_tokens=4)
    check_response(llm, response)
    llm.close()
    llm.close()
    try:
        llm.complete([{"role": "user", "content": "Say OK."}], max_tokens=4)
    except LLMError:
        pass
    else:
        raise AssertionError(f"{llm.name} answered after close()")
    with factory() as other:
        assert isinstance(other, BaseLLM)
    other.close()  # already closed by the with block: still fine


def run_conformance(llm: BaseLLM, factory: LLMFactory | None = None) -> list[LLMResponse]:
    """Every check on the shared ``llm``; the close checks on fresh ones from ``factory``."""
    check_context_tokens(llm)
    check_tokenize(llm)
    responses = check_schema_and_cache(llm)
    if factory is not None:
        check_close_idempotent(factory)
    return responses


_SERVER_SCRIPT = """
import os, sys, xllamacpp
p = xllamacpp.CommonParams()
p.model.path, p.n_ctx = sys.argv[1], int(sys.argv[2])
p.cpuparams.n_threads = p.cpuparams_batch.n_threads = int(sys.argv[3])
p.hostnames, p.port, p.n_parallel = ["127.0.0.1"], 0, 1
p.verbosity, p.warmup, p.n_threads_http = 0, False, 2
p.api_keys = [os.environ["ASAP_SERVER_KEY"]] if os.environ.get("ASAP_SERVER_KEY") else []
server = xllamacpp.Server(p)
print(server.listening_address, flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
"""


class LlamaCppServerProcess:
    """llama.cpp's own HTTP server (``xllamacpp.Server``) in a child process on a free port.

    ``base_url`` is ``http://127.0.0.1:<port>/v1``; ``api_key`` (optional) is required by it.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int = 1,
        api_key: str | None = None,
        start_timeout_s: float = 120.0,
    ) -> None:
        from asap_lab.llm._embedded import default_model_path

        self.model_path = Path(model_path) if model_path else default_model_path()
        self.n_ctx, self.n_threads, self.api_key = n_ctx, n_threads, api_key
        self.start_timeout_s = start_timeout_s
        self.root_url = ""
        self._proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def start(self) -> Self:
        env = {**os.environ, "ASAP_SERVER_KEY": self.api_key or ""}
        args = [str(self.model_path), str(self.n_ctx), str(self.n_threads)]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_SCRIPT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready, _, _ = select.select([self._proc.stdout], [], [], self.start_timeout_s)
        line = self._proc.stdout.readline().strip() if ready else ""  # type: ignore[union-attr]
        if not line.startswith("http"):
            self._proc.kill()
            error = self._proc.stderr.read()[-500:]  # type: ignore[union-attr]
            self.stop()
            raise RuntimeError(f"llama.cpp server did not start: {line!r} {error}")
        self.root_url = line
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def kill(self) -> None:
        """SIGKILL the server (a crash, for fault-injection tests); :meth:`stop` still cleans up."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
