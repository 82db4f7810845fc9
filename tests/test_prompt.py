"""The prompt is prefix-stable: round t without its volatile section is an exact prefix of
round t+1, in text and in the real model's tokens, across failures, a human override and a
compaction; rows are deterministic and never rewritten."""

from __future__ import annotations

import numpy as np
import pytest

from asap_lab.prompt import PromptBuilder, history_row
from asap_lab.space import Categorical, Float, Int, Space
from asap_lab.surrogate import SharedSurrogate
from asap_lab.testing.tools import make_trial
from asap_lab.tools import make_tool
from asap_lab.trial import Proposal, Trial, TrialState

SPACE = Space({"lr": Float(1e-4, 1e-1, log=True), "depth": Int(2, 12), "act": Categorical(["relu", "tanh"])})
TOOLS = [(n, make_tool(n).description) for n in ("tpe", "cmaes", "qmc", "skopt-gp", "skopt-rf", "skopt-et")]


def _objective(c):
    return (np.log10(c["lr"]) + 2) ** 2 + abs(c["depth"] - 6) * 0.1 + (c["act"] == "tanh") * 0.3


def _history(n: int) -> list[Trial]:
    """n trials with failures (#4, #11, #19) and a human override (#8)."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        c = SPACE.sample(rng)
        if i in (4, 11, 19):
            t = make_trial(i, c, None, tool=TOOLS[i % len(TOOLS)][0])
        else:
            t = make_trial(i, c, _objective(c), tool=TOOLS[i % len(TOOLS)][0])
        if i == 8:
            t = Trial(**{**t.__dict__, "tool": "human", "picked_by": "human"})
        out.append(t)
    return out


def _rounds(n_rounds: int, max_prompt_tokens: int):
    hist = _history(n_rounds)
    builder = PromptBuilder(SPACE, "minimize", TOOLS, n_trials=40, max_prompt_tokens=max_prompt_tokens)
    rng = np.random.default_rng(1)
    prompts, compactions = [], []
    for t in range(n_rounds):
        props = [Proposal(name, SPACE.sample(rng)) for name, _ in TOOLS[:3]]
        ev = SharedSurrogate(SPACE).fit(hist[:t]).evidence([p.params for p in props])
        prompts.append(builder.build(hist[:t], props, ev))
        compactions.append(builder.compactions_)
    return hist, prompts, compactions


def test_prefix_stable_over_30_rounds_with_failures_override_and_compaction() -> None:
    hist, prompts, compactions = _rounds(30, max_prompt_tokens=2600)
    assert any(not t.ok for t in hist) and any(t.tool == "human" for t in hist)
    assert compactions[-1] == 1, f"expected exactly one compaction in 30 rounds, got {compactions[-1]}"
    boundary = compactions.index(1)
    assert 5 < boundary < 29
    for t in range(29):
        a, b = prompts[t], prompts[t + 1]
        assert b.system == a.system  # the instructions never change
        if t + 1 == boundary:
            assert not b.text.startswith(a.stable_text)  # the one place the cache is lost
            assert "compacted" in b.history
        else:
            assert b.text.startswith(a.stable_text), f"round {t} is not a prefix of round {t + 1}"
            assert len(b.stable_text) > len(a.stable_text)
    # the human override and a failure appear as fixed rows
    assert "#8 human [human]" in prompts[10].history
    assert "#4 " in prompts[6].history and "FAILED (injected failure)" in prompts[6].history


@pytest.mark.slow
def test_prefix_stable_in_real_tokens() -> None:
    from asap_lab.llm import EmbeddedLLM

    _, prompts, compactions = _rounds(30, max_prompt_tokens=2600)
    boundary = compactions.index(1)
    with EmbeddedLLM() as llm:
        for t in range(29):
            if t + 1 == boundary:
                continue
            stable = llm.tokenize(prompts[t].stable_text)
            nxt = llm.tokenize(prompts[t + 1].text)
            assert nxt[: len(stable)] == stable, f"token prefix breaks between rounds {t} and {t + 1}"


def test_rows_are_deterministic_and_never_rewritten() -> None:
    hist = _history(12)
    order = list(SPACE)
    assert [history_row(t, order) for t in hist] == [history_row(t, order) for t in _history(12)]
    b = PromptBuilder(SPACE, "minimize", TOOLS, n_trials=40)
    p5 = b.build(hist[:5], [Proposal("tpe", hist[5].params)], [None])
    p12 = b.build(hist, [Proposal("tpe", hist[0].params)], [None])
    assert p12.history.startswith(p5.history)
    row = history_row(hist[3], order)
    assert row.endswith("\n") and row.count("\n") == 1 and row.startswith("#3 ")


def test_volatile_section_lists_round_and_evidence() -> None:
    hist = _history(6)
    b = PromptBuilder(SPACE, "maximize", TOOLS, n_trials=20)
    sur = SharedSurrogate(SPACE, "maximize").fit(hist)
    props = [Proposal("tpe", hist[0].params), Proposal("qmc", hist[1].params)]
    p = b.build(hist, props, sur.evidence([q.params for q in props]))
    assert p.volatile.startswith("## Round 7/20 (best #")
    assert "- tpe: lr=" in p.volatile and " EI " in p.volatile and "record 1/" in p.volatile
    assert "HIGHER is better" in p.system and "qmc" in p.system and '"enum"' in p.system
    assert "\n## Round" not in p.history  # the round's data never leaks into the stable part
    assert p.messages()[0]["role"] == "system" and p.messages()[1]["content"] == p.user


def test_compaction_keeps_best_trials_and_counts() -> None:
    hist = _history(40)
    b = PromptBuilder(SPACE, "minimize", TOOLS, n_trials=60, max_prompt_tokens=2400)
    p = b.build(hist, [Proposal("tpe", hist[0].params)], [None])
    assert b.compactions_ >= 1 and b._folded > 0
    best = min((t for t in hist if t.ok), key=lambda t: t.value)
    assert f"#{best.number} " in p.history  # the best trial survives compaction
    assert len(p.text) // 3 + 1 <= 2400
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAILED) for t in hist)
