"""The LLM selector: the model reads the prefix-stable prompt and picks one proposal.

The answer is schema-constrained JSON ``{"pick": <eligible name>, "rationale": <short text>}``;
it is parsed strictly and validated, never executed. A garbled answer, a timeout or a dead
backend falls back to the transparent EI selector, with the reason recorded in the decision.

Guard against weak models: after the surrogate's warm-up only the ``shortlist`` proposals with
the highest expected improvement are shown and eligible (all of them while the surrogate is not
ready; ``shortlist=None`` shows all), listed best-EI first. A model that decides no better than
chance then picks among the surrogate's best few, never a proposal the surrogate ranks last.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from asap_lab.prompt import PromptBuilder
from asap_lab.selectors._base import BaseSelector, RunInfo, Selection, SelectionContext
from asap_lab.selectors._transparent import SurrogateEISelector
from asap_lab.trial import Proposal


def answer_schema(names: Sequence[str], rationale_chars: int) -> dict[str, Any]:
    """JSON schema of the answer: an enum of this round's eligible names, a bounded string."""
    return {
        "type": "object",
        "properties": {
            "pick": {"type": "string", "enum": list(names)},
            "rationale": {"type": "string", "minLength": 1, "maxLength": rationale_chars},
        },
        "required": ["pick", "rationale"],
        "additionalProperties": False,
    }


def parse_answer(text: str, names: Sequence[str], rationale_chars: int) -> tuple[str, str]:
    """Strictly parse and validate the model's answer; raises ValueError saying what is wrong."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"answer is not JSON ({e.msg}): {text[:80]!r}") from None
    if not isinstance(obj, dict) or set(obj) != {"pick", "rationale"}:
        raise ValueError(f"answer must be an object with exactly 'pick' and 'rationale': {text[:80]!r}")
    pick, rationale = obj["pick"], obj["rationale"]
    if not isinstance(pick, str) or pick not in names:
        raise ValueError(f"pick {pick!r} is not one of {list(names)}")
    if not isinstance(rationale, str) or not rationale.strip():
        raise ValueError("rationale must be a non-empty string")
    rationale = " ".join(rationale.split())  # one line, no control characters
    if len(rationale) > rationale_chars:
        raise ValueError(f"rationale longer than {rationale_chars} characters")
    return pick, rationale


class LLMSelector(BaseSelector):
    """Asks an LLM backend (``"embedded"``, ``"vllm:<model>"``, ``"openai:<url>#<model>"`` or a
    :class:`~asap_lab.llm.BaseLLM`) to pick one proposal per round."""

    name = "llm"

    def __init__(
        self,
        llm: Any = "embedded",
        *,
        shortlist: int | None = 3,
        fallback: BaseSelector | None = None,
        timeout_s: float | None = 120.0,
        rationale_chars: int = 160,
        max_prompt_tokens: int | None = None,
        temperature: float = 0.0,
        history_order: str = "append",
    ) -> None:
        self.llm = llm
        self.shortlist = shortlist
        self.fallback = fallback
        self.timeout_s = timeout_s
        self.rationale_chars = rationale_chars
        self.max_prompt_tokens = max_prompt_tokens
        self.temperature = temperature
        self.history_order = history_order

    # lifecycle -------------------------------------------------------------------------------
    def bind(self, info: RunInfo) -> None:
        from asap_lab.llm import BaseLLM, make_llm

        self.owns_backend_ = not isinstance(self.llm, BaseLLM)
        self.backend_ = make_llm(self.llm)
        self.fallback_ = self.fallback or SurrogateEISelector()
        self._chars_per_token = 3.0
        self.builder_ = PromptBuilder(
            info.space, info.direction, info.tools, n_trials=info.n_trials,
            description=info.description, rationale_chars=self.rationale_chars,
            max_prompt_tokens=self.max_prompt_tokens or self._default_budget(),
            count_tokens=lambda s: int(len(s) / self._chars_per_token * 1.05) + 32,
            history_order=self.history_order,
        )

    def _default_budget(self) -> int:
        try:
            ctx = int(self.backend_.context_tokens)
        except Exception:  # unknown context (NotImplementedError or a server that will not say): 4096
            ctx = 4096
        return max(ctx - self.rationale_chars - 128, 512)

    def close(self) -> None:
        backend = getattr(self, "backend_", None)
        if backend is not None and getattr(self, "owns_backend_", False):
            backend.close()

    # decision --------------------------------------------------------------------------------
    def _fall_back(self, proposals: Sequence[Proposal], context: SelectionContext, reason: str,
                   meta: dict[str, Any]) -> Selection:
        sel = self.fallback_.select(proposals, context)
        return Selection(sel.pick, f"LLM fallback ({reason[:120]}); {sel.rationale}", "fallback",
                         scores=sel.scores, meta={**meta, "fallback_reason": reason})

    def select(self, proposals: Sequence[Proposal], context: SelectionContext) -> Selection:
        if not hasattr(self, "builder_"):
            raise RuntimeError("LLMSelector.bind() must be called before select()")
        sur = context.surrogate
        ready = sur.ready and math.isfinite(sur.best_loss_)
        evidence = sur.evidence([p.params for p in proposals]) if ready else [None] * len(proposals)
        order = list(range(len(proposals)))
        if ready:
            order.sort(key=lambda i: -(evidence[i].ei if math.isfinite(evidence[i].ei) else -1.0))
            if self.shortlist is not None:
                order = order[: max(1, self.shortlist)]
        listed = [proposals[i] for i in order]
        names = [p.tool for p in listed]
        prompt = self.builder_.build(context.history, listed, [evidence[i] for i in order], names)
        meta: dict[str, Any] = {"backend": self.backend_.name, "eligible": names,
                                "compactions": self.builder_.compactions_}
        from asap_lab.llm import LLMError

        try:
            resp = self.backend_.complete(
                prompt.messages(), schema=answer_schema(names, self.rationale_chars),
                max_tokens=self.rationale_chars + 64, temperature=self.temperature,
                timeout_s=self.timeout_s,
            )
        except LLMError as e:
            return self._fall_back(proposals, context, f"{type(e).__name__}: {e}", meta)
        meta.update(llm_s=resp.latency_s, prompt_tokens=resp.prompt_tokens,
                    cached_tokens=resp.cached_tokens, completion_tokens=resp.completion_tokens)
        if resp.prompt_tokens > 0:
            self._chars_per_token = min(self._chars_per_token, len(prompt.text) / resp.prompt_tokens)
        try:
            pick, rationale = parse_answer(resp.text, names, self.rationale_chars)
        except ValueError as e:
            return self._fall_back(proposals, context, f"invalid answer: {e}", meta)
        scores = {proposals[i].tool: evidence[i].ei for i in order} if ready else {}
        return Selection(pick, rationale, "llm", scores=scores, meta=meta)

    def __repr__(self) -> str:
        return f"LLMSelector(llm={self.llm!r}, shortlist={self.shortlist})"
