"""The prefix-stable prompt: stable instructions, append-only history, volatile round data last.

Engines cache the KV of a prompt prefix (llama.cpp per slot, vLLM per hashed block), so the
prompt is laid out for reuse: the system message (role, rules, objective, space, tools, answer
format) never changes during a run; the history is one fixed-format row per finished trial,
appended in trial order and never re-sorted or rewritten; only the last section (round number,
budget, this round's proposals with their evidence) changes from one round to the next. So the
prompt of round t without its last section is an exact prefix of the prompt of round t+1.

When the prompt outgrows the token budget, the history is *compacted*: the oldest rows are folded
into a frozen summary (counts per tool, the best trials) that stays put until the next
compaction, so the cache is lost only at a compaction. ``compactions_`` counts them.

``history_order="shuffle"`` or ``"sorted"`` re-orders the rows every round, as LLAMBO-style
prompts do; it exists only as a baseline for benchmarks (it defeats prefix caching).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from asap_lab.prompt._format import fmt_config, fmt_num, history_row
from asap_lab.prompt._text import instructions
from asap_lab.space import Space
from asap_lab.surrogate import Evidence
from asap_lab.trial import Proposal, Trial, loss_of


@dataclass(frozen=True)
class Prompt:
    """A built prompt: ``system`` + ``history`` (stable, append-only) + ``volatile``."""

    system: str
    history: str
    volatile: str

    @property
    def user(self) -> str:
        return self.history + self.volatile

    @property
    def text(self) -> str:
        """System and user content joined: the string the prefix property is stated on."""
        return self.system + "\n\n" + self.user

    @property
    def stable_text(self) -> str:
        """:attr:`text` without the volatile section."""
        return self.system + "\n\n" + self.history

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


def _estimate_tokens(text: str) -> int:
    return len(text) // 3 + 1


class PromptBuilder:
    """Builds the selector prompt each round; keeps the compaction state between rounds."""

    def __init__(
        self,
        space: Space,
        direction: str,
        tools: Sequence[tuple[str, str]],
        *,
        n_trials: int,
        description: str = "an objective function of the configuration",
        max_prompt_tokens: int = 3500,
        count_tokens: Callable[[str], int] | None = None,
        rationale_chars: int = 160,
        keep_best: int = 5,
        history_order: str = "append",
    ) -> None:
        if history_order not in ("append", "shuffle", "sorted"):
            raise ValueError(f"history_order must be append, shuffle or sorted, got {history_order!r}")
        self.space = space
        self.direction = direction
        self.tools = list(tools)
        self.n_trials = n_trials
        self.max_prompt_tokens = max_prompt_tokens
        self.count_tokens = count_tokens or _estimate_tokens
        self.rationale_chars = rationale_chars
        self.keep_best = keep_best
        self.history_order = history_order
        self._rng = random.Random(0)
        self.compactions_ = 0
        self._order = list(space)
        self._summary = ""
        self._folded = 0  # trials folded into the summary
        self._system = instructions(space, direction, self.tools, n_trials, rationale_chars,
                                    description)

    # sections --------------------------------------------------------------------------------
    def _history(self, history: Sequence[Trial]) -> str:
        trials = list(history[self._folded:])
        if self.history_order == "shuffle":  # LLAMBO-style baselines: defeat prefix caching
            self._rng.shuffle(trials)
        elif self.history_order == "sorted":
            trials.sort(key=lambda t: (loss_of(t, self.direction) is None, loss_of(t, self.direction) or 0.0))
        rows = "".join(history_row(t, self._order) for t in trials)
        head = "## History (one row per finished trial, in order)\n"
        return head + self._summary + rows

    def _fold(self, history: Sequence[Trial], room: int) -> None:
        """Fold the older half of the unfolded rows (at least one) into the frozen summary, which
        keeps the best of them as long as it stays within a quarter of ``room`` tokens."""
        unfolded = len(history) - self._folded
        upto = self._folded + max(1, unfolded // 2) if unfolded > 1 else len(history)
        old = history[:upto]
        ok = [t for t in old if loss_of(t, self.direction) is not None]
        best = sorted(ok, key=lambda t: (loss_of(t, self.direction), t.number))[: self.keep_best]
        per_tool: dict[str, int] = {}
        for t in old:
            per_tool[t.tool] = per_tool.get(t.tool, 0) + 1
        lines = [f"(trials #0-#{upto - 1} compacted: {len(old)} trials, {len(old) - len(ok)} failed; "
                 "picks " + ", ".join(f"{k} {v}" for k, v in per_tool.items()) + "; best of them:)\n"]
        kept: list[Trial] = []
        for t in best:
            rows = [history_row(k, self._order) for k in sorted([*kept, t], key=lambda k: k.number)]
            if kept and self.count_tokens("".join(lines + rows)) > room // 4:
                break
            kept.append(t)
        lines += [history_row(t, self._order) for t in sorted(kept, key=lambda t: t.number)]
        self._summary = "".join(lines)
        self._folded = upto

    def _volatile(
        self,
        history: Sequence[Trial],
        proposals: Sequence[Proposal],
        evidence: Sequence[Evidence | None],
        eligible: Sequence[str],
    ) -> str:
        number = len(history)
        ok = [t for t in history if loss_of(t, self.direction) is not None]
        best = "-"
        if ok:
            b = min(ok, key=lambda t: (loss_of(t, self.direction), t.number))
            best = f"#{b.number}"
        record = _track_record(history, self.direction)
        # no leading newline: the token boundary after the last history row stays clean
        lines = [f"## Round {number + 1}/{self.n_trials} (best {best}):\n"]
        for p, ev in zip(proposals, evidence, strict=True):
            picks, wins = record.get(p.tool, (0, 0))
            if ev is None or ev.mean != ev.mean:  # nan: surrogate not ready
                evs = "n/a"
            else:
                evs = (f"{fmt_num(ev.mean, 3)}±{fmt_num(ev.std, 2)} EI {fmt_num(ev.ei, 2)} "
                       f"dist {fmt_num(ev.distance, 2)}")
            config = fmt_config(p.params, self._order, digits=3)
            lines.append(f"- {p.tool}: {config} | {evs} | record {picks}/{wins}\n")
        return "".join(lines)

    # public ----------------------------------------------------------------------------------
    def build(
        self,
        history: Sequence[Trial],
        proposals: Sequence[Proposal],
        evidence: Sequence[Evidence | None],
        eligible: Sequence[str] | None = None,
    ) -> Prompt:
        """The prompt for the round after ``history``; compacts first if it would not fit."""
        eligible = list(eligible) if eligible is not None else [p.tool for p in proposals]
        volatile = self._volatile(history, proposals, evidence, eligible)
        prompt = Prompt(self._system, self._history(history), volatile)
        if self.count_tokens(prompt.text) <= self.max_prompt_tokens or self._folded >= len(history):
            return prompt
        # compact until the history takes at most half of the room it has, so that the next
        # compaction (and the next cache loss) is many rounds away
        room = max(self.max_prompt_tokens - self.count_tokens(Prompt(self._system, "", volatile).text), 0)
        target = self.max_prompt_tokens - room // 2
        while self.count_tokens(prompt.text) > target and self._folded < len(history):
            self._fold(history, room)
            prompt = Prompt(self._system, self._history(history), volatile)
        self.compactions_ += 1
        return prompt


def _track_record(history: Sequence[Trial], direction: str) -> dict[str, tuple[int, int]]:
    """Per tool: how often its proposal was evaluated and how often that improved the best."""
    out: dict[str, tuple[int, int]] = {}
    best: float | None = None
    for t in history:
        loss = loss_of(t, direction)
        won = loss is not None and (best is None or loss < best)
        if won:
            best = loss
        picks, wins = out.get(t.tool, (0, 0))
        out[t.tool] = (picks + 1, wins + int(won))
    return out
