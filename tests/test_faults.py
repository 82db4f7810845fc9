"""Fault injection for real: a misbehaving LLM server (hangs, garbles, dies mid-run), human
controls racing the scheduler (two overrides in one round, an override while paused, stop during
a speculative evaluation), and secrets kept out of journals, prompts and logs.

Each fault is injected through the real component (an HTTP server on 127.0.0.1, a llama.cpp
server process that is killed, threads calling the real Controls); nothing here fakes the LLM.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import asap_lab as al
from asap_lab import Float, Int
from asap_lab.journal import read_journal
from asap_lab.llm import OpenAICompatLLM
from asap_lab.selectors import LLMSelector
from asap_lab.tasks import get_task

TASK = get_task("branin")
TOOLS = ["tpe", "qmc", "skopt-et"]
SPACE = {"x": Float(-3, 3), "k": Int(0, 5)}
SECRET = "sk-live-0123456789-do-not-leak"


def bowl(c):
    return (c["x"] - 1) ** 2 + abs(c["k"] - 2)


def _wait_for(pred, timeout=30.0, what="condition"):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise AssertionError(f"{what} not reached within {timeout:g} s")
        time.sleep(0.01)


# a misbehaving OpenAI-compatible server ----------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "hang"  # set per server class

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # /props, /v1/models: no context size known
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((dict(self.headers), body.decode()))  # type: ignore[attr-defined]
        if self.mode == "hang":  # accept the request, never answer (until the test ends)
            self.server.release.wait(60)  # type: ignore[attr-defined]
            return
        if self.mode == "garbage":  # a well-formed completion whose content is not the JSON asked for
            content = self.server.garbage  # type: ignore[attr-defined]
            payload = {"choices": [{"message": {"content": content}}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 5}}
            data = json.dumps(payload).encode()
            self.send_response(200)
        else:  # "error": the server fails
            data = b"internal error"
            self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def bad_server(mode: str) -> Iterator[http.server.ThreadingHTTPServer]:
    handler = type(f"Handler_{mode}", (_Handler,), {"mode": mode})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.requests = []  # type: ignore[attr-defined]
    srv.release = threading.Event()  # type: ignore[attr-defined]
    srv.garbage = "Sure! tpe."  # type: ignore[attr-defined]
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield srv
    finally:
        srv.release.set()  # type: ignore[attr-defined]
        srv.shutdown()
        srv.server_close()


def _url(srv: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/v1"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("hang", "LLMTimeout"), ("garbage", "invalid answer: answer is not JSON"), ("error", "500")],
)
def test_llm_server_that_hangs_garbles_or_fails_gives_fallbacks_and_the_run_goes_on(
        mode, reason, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "run.jsonl"
    marker = tmp_path / "pwned"
    with bad_server(mode) as srv:
        srv.garbage = f"Sure! ```python\nopen({str(marker)!r}, 'w').write('x')\n```"  # type: ignore[attr-defined]
        llm = OpenAICompatLLM(_url(srv), "m", context_tokens=4096)
        sel = LLMSelector(llm, timeout_s=1.0)
        run = al.optimize(TASK, TASK.space, n_trials=4, tools=TOOLS, seed=0, selector=sel, journal=path)
        requests = list(srv.requests)
    assert len(run.trials) == 4 and all(t.ok for t in run.trials)
    assert [t.picked_by for t in run.trials] == ["fallback"] * 4
    for t in run.trials:
        assert reason in t.decision["fallback_reason"], t.decision["fallback_reason"]
        assert t.tool in TOOLS
    assert run.stats["llm_fallbacks"] == 4
    # the journal keeps every reason, and the key went only into the Authorization header
    recs = read_journal(path).trials
    reasons = [t.decision["fallback_reason"] for t in run.trials]
    assert [r.decision["fallback_reason"] for r in recs] == reasons
    assert len(requests) == 4 and all(h.get("Authorization") == f"Bearer {SECRET}" for h, _ in requests)
    assert all(SECRET not in body for _, body in requests)  # not in the prompt
    assert SECRET not in path.read_text() and SECRET not in caplog.text and SECRET not in repr(llm)
    assert not marker.exists()  # code in an answer is quoted in the reason as text, never run


@pytest.mark.slow
def test_llm_server_dying_mid_run_falls_back_and_the_run_goes_on(tmp_path, monkeypatch, caplog) -> None:
    """A real llama.cpp server answers the first decisions, then is SIGKILLed mid-run."""
    from asap_lab.testing.llm import LlamaCppServerProcess

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "run.jsonl"
    with LlamaCppServerProcess(api_key=SECRET) as server:

        def kill_after_trial_1(ev) -> None:
            if ev.kind == "trial" and ev.data["trial"].number == 1:
                server.kill()

        run = al.optimize(TASK, TASK.space, n_trials=5, tools=TOOLS, seed=0, journal=path,
                          llm=f"openai:{server.base_url}#smollm2", callbacks=[kill_after_trial_1])
        assert not server.alive
    assert [t.picked_by for t in run.trials] == ["llm", "llm", "fallback", "fallback", "fallback"]
    for t in run.trials[2:]:
        assert "LLMError" in t.decision["fallback_reason"], t.decision["fallback_reason"]
    assert all(t.ok for t in run.trials) and run.stats["llm_fallbacks"] == 3
    assert [t.number for t in read_journal(path).trials] == [0, 1, 2, 3, 4]
    assert SECRET not in path.read_text() and SECRET not in caplog.text


# controls racing the scheduler ----------------------------------------------------------------
def test_two_overrides_racing_one_round_are_each_applied_once_in_order(tmp_path) -> None:
    gate = threading.Event()

    def gated(c):
        gate.wait(10)
        return bowl(c)

    path = tmp_path / "run.jsonl"
    h = al.start(gated, SPACE, n_trials=6, tools=["random", "tpe", "qmc"], seed=0, journal=path)
    _wait_for(lambda: any(e.kind == "selection" for e in h.events), what="first decision")
    barrier = threading.Barrier(2)
    ids: dict[str, int] = {}

    def racer(name: str, what) -> None:
        barrier.wait()
        ids[name] = h.override(what, note=name)

    threads = [threading.Thread(target=racer, args=("a", {"x": 1.0, "k": 2})),
               threading.Thread(target=racer, args=("b", {"x": -1.0, "k": 0}))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    gate.set()
    run = h.result(timeout=60)
    humans = [t for t in run.trials if t.picked_by == "human"]
    assert len(humans) == 2 and humans[1].number == humans[0].number + 1
    first, second = sorted(ids, key=ids.get)  # applied in the order the queue took them
    assert [first in humans[0].rationale, second in humans[1].rationale] == [True, True]
    applied = [e.data["override"].id for e in h.events if e.kind == "override_applied"]
    assert sorted(applied) == sorted(ids.values()) and len(set(applied)) == 2
    assert [t.number for t in read_journal(path).trials] == list(range(6))


def test_override_during_a_pause_applies_once_after_resume(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    slow = lambda c: (time.sleep(0.05), bowl(c))[1]  # noqa: E731
    h = al.start(slow, SPACE, n_trials=12, tools=["random", "tpe"], seed=0, journal=path)
    _wait_for(lambda: len(h.trials) >= 2, what="two trials")
    h.pause()
    _wait_for(lambda: any(e.kind == "paused" for e in h.events), what="paused")
    n = len(h.trials)
    h.override({"x": 0.5, "k": 1}, note="while paused")
    time.sleep(0.3)
    assert len(h.trials) == n  # the override does not start anything while paused
    h.resume()
    run = h.result(timeout=60)
    humans = [t for t in run.trials if t.picked_by == "human"]
    assert len(humans) == 1 and humans[0].params == {"x": 0.5, "k": 1} and humans[0].number >= n
    assert [e.kind for e in h.events].count("override_applied") == 1
    assert [t.number for t in read_journal(path).trials] == list(range(12))


def test_stop_during_a_speculative_evaluation_leaves_a_consistent_journal(tmp_path) -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[dict] = []

    def objective(c):
        calls.append(dict(c))
        time.sleep(0.3)  # longer than a decision: speculation is on (not the cheap regime)
        if len(calls) == 4:  # hold the 4th evaluation while its successor is being speculated
            started.set()
            release.wait(20)
        return bowl(c)

    path = tmp_path / "run.jsonl"
    h = al.start(objective, SPACE, n_trials=30, tools=["random", "tpe", "qmc"], seed=0, journal=path,
                 speculate=True, tau=10.0, freeze_tau=True)
    assert started.wait(60)
    time.sleep(1.0)  # the speculative decision for round 4 is made while trial 3 evaluates
    h.stop()
    h.stop()  # a second stop is harmless
    release.set()
    run = h.result(timeout=60)
    # the evaluation under way was recorded; the speculative pick for round 4 never started
    assert len(run.trials) == 4 and len(calls) == 4
    assert [t.number for t in read_journal(path).trials] == [0, 1, 2, 3]
    assert [t.params for t in run.trials] == calls
    kinds = [e.kind for e in h.events]
    assert kinds.count("run_end") == 1 and kinds[-1] == "run_end"
    specs = {e.data["number"]: e.data for e in h.events if e.kind == "speculation"}
    assert specs[3]["accepted"] is False and specs[3]["reason"] == "run paused or stopped"
    journal_specs = [json.loads(line) for line in path.read_text().splitlines() if '"spec"' in line]
    assert [r["number"] for r in journal_specs if r.get("type") == "spec"] == sorted(specs)
