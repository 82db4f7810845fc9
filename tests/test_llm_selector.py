"""The LLM selector: strict parsing and validation, fallbacks with reasons, accounting; fast
unit tests use FakeLLM (a scripted stand-in), the real path runs the embedded model and a real
llama.cpp HTTP server."""

from __future__ import annotations

import json

import pytest

import asap_lab as al
from asap_lab.llm import LLMError, LLMTimeout
from asap_lab.selectors import LLMSelector, parse_answer
from asap_lab.tasks import get_task
from asap_lab.testing.fake_llm import FakeLLM

TASK = get_task("branin")


def _run(llm, n=6, **kw):
    return al.optimize(TASK, TASK.space, n_trials=n, tools=["tpe", "qmc", "skopt-et", "cmaes"], seed=0,
                       llm=llm, **kw)


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "exactly 'pick' and 'rationale'"),
        ('{"pick": "tpe"}', "exactly 'pick' and 'rationale'"),
        ('{"pick": "tpe", "rationale": "x", "extra": 1}', "exactly"),
        ('{"pick": "gp", "rationale": "x"}', "not one of"),
        ('{"pick": 3, "rationale": "x"}', "not one of"),
        ('{"pick": "tpe", "rationale": "   "}', "non-empty"),
        ('{"pick": "tpe", "rationale": "' + "a" * 200 + '"}', "longer than"),
    ],
)
def test_parse_answer_rejects(text, msg) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_answer(text, ["tpe", "qmc"], 160)


def test_parse_answer_normalises_whitespace() -> None:
    assert parse_answer('{"pick": "qmc", "rationale": "a\\nb\\t c"}', ["tpe", "qmc"], 160) == ("qmc", "a b c")


def test_valid_answers_are_llm_picks_with_accounting() -> None:
    fake = FakeLLM("first")
    run = _run(fake, n=6)
    assert all(t.picked_by == "llm" for t in run.trials)
    assert all(t.rationale == "fake: first eligible proposal" for t in run.trials)
    # the pick is the first eligible name: the best-EI proposal once the surrogate is ready
    for t in run.trials[3:]:
        assert t.tool == t.decision["eligible"][0] and len(t.decision["eligible"]) == 3
    assert run.stats["llm_calls"] == 6 and run.stats["llm_fallbacks"] == 0
    assert run.stats["llm_backend"] == "fake" and not fake.closed  # a passed-in backend stays open
    schema = fake.calls[-1]["schema"]
    assert schema["properties"]["pick"]["enum"] == run.trials[-1].decision["eligible"]
    assert fake.calls[-1]["max_tokens"] > schema["properties"]["rationale"]["maxLength"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("garbage {", "invalid answer: answer is not JSON"),
        ('{"pick": "random", "rationale": "x"}', "invalid answer: pick 'random' is not one of"),
        (LLMError("connection refused to http://127.0.0.1:9/v1"), "LLMError: connection refused"),
        (LLMTimeout("no answer within 1 s"), "LLMTimeout: no answer within 1 s"),
    ],
)
def test_bad_answers_fall_back_with_the_reason(answer, reason) -> None:
    run = _run(FakeLLM(["first", answer, "first"]), n=4)
    t = run.trials[1]
    assert t.picked_by == "fallback" and reason in t.decision["fallback_reason"]
    assert t.rationale.startswith("LLM fallback (") and t.tool in {"tpe", "qmc", "skopt-et", "cmaes"}
    assert [x.picked_by for x in run.trials] == ["llm", "fallback", "llm", "llm"]
    assert run.stats["llm_fallbacks"] == 1


def test_llm_output_is_never_executed(tmp_path) -> None:
    marker = tmp_path / "pwned"
    evil = json.dumps({"pick": "tpe", "rationale": f"__import__('os').system('touch {marker}')"})
    run = _run(FakeLLM([evil]), n=2)
    assert not marker.exists()
    assert run.trials[0].rationale.startswith("__import__")  # kept as plain text


def test_journal_keeps_decisions_without_secrets(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-should-not-leak")
    path = tmp_path / "run.jsonl"
    _run(FakeLLM("first"), n=3, journal=path)
    text = path.read_text()
    assert "sk-secret" not in text
    rec = json.loads(text.splitlines()[-1])
    assert rec["trial"]["decision"]["backend"] == "fake" and rec["trial"]["picked_by"] == "llm"


def test_llm_and_selector_together_is_an_error() -> None:
    with pytest.raises(al.ConfigError, match="not both"):
        _run(FakeLLM(), selector="ei")
    with pytest.raises(al.ConfigError, match="unknown LLM backend"):
        _run("gpt-magic")


def test_shortlist_none_lists_every_proposal() -> None:
    fake = FakeLLM("first")
    al.optimize(TASK, TASK.space, n_trials=5, tools=["tpe", "qmc", "skopt-et", "cmaes"], seed=0,
                selector=_bound_selector(fake, shortlist=None))
    assert all(len(c["schema"]["properties"]["pick"]["enum"]) == 4 for c in fake.calls)


def _bound_selector(fake, **kw):
    return LLMSelector(fake, **kw)


@pytest.mark.slow
def test_real_embedded_model_10_rounds() -> None:
    """Valid picks every call, cached tokens from the 2nd call, hit rate >= 0.9 (default pool)."""
    run = al.optimize(TASK, TASK.space, n_trials=10, llm="embedded", seed=0)
    assert [t.picked_by for t in run.trials] == ["llm"] * 10, [t.decision for t in run.trials]
    calls = [t.decision for t in run.trials]
    assert calls[0]["cached_tokens"] == 0 or calls[0]["cached_tokens"] < calls[0]["prompt_tokens"] / 2
    assert all(d["cached_tokens"] > 0 for d in calls[1:])
    assert run.stats["kv_hit_rate"] >= 0.9, run.stats["kv_hit_rate"]
    assert run.stats["llm_s"] > 0 and run.stats["llm_backend"] == "embedded:SmolLM2-135M-Instruct"


@pytest.mark.slow
def test_openai_compatible_server_drives_the_selector(monkeypatch) -> None:
    from asap_lab.testing.llm import LlamaCppServerProcess

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    with LlamaCppServerProcess(api_key="sk-local-test") as server:
        run = _run(f"openai:{server.base_url}#smollm2", n=3)
    assert [t.picked_by for t in run.trials] == ["llm"] * 3
    assert run.trials[-1].decision["cached_tokens"] > 0
    assert run.stats["llm_backend"].startswith("openai")
