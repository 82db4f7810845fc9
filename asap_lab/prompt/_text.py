"""The stable instruction text of the selector prompt (built once per run)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from asap_lab.prompt._format import one_line
from asap_lab.space import Space

_ROLE = """You are the decision maker of a hyperparameter optimization run. Each round, every \
optimizer in a pool proposes one configuration. All optimizers have seen the same history of \
finished trials, but each one generalizes from it with a different inductive bias, so their \
proposals differ. Your job is to pick the ONE proposal that should be evaluated next, and to say \
why in one short sentence. You never invent a configuration: you choose among the proposals."""

_GUIDE = """How to decide:
1. Read the history. Each row reads "#n tool [picked by] configuration -> value=v" or \
"-> FAILED (reason)": n is the trial number, tool the optimizer that proposed the configuration \
(or human), and picked by says who chose it: llm (you), fallback (the surrogate, when an answer \
was unusable), human (the person running the study overrode the choice) or selector:<name>. \
Note the best value so far, which regions of the space produced good results, which failed, and \
whether recent trials are still improving.
2. Read this round's proposals, one line each: "- name: configuration | mean±sd EI e dist d | \
record n/k". The evidence comes from a shared Gaussian-process surrogate fitted to the whole \
history: mean±sd is the predicted objective value and its standard deviation ("n/a" while the \
history is too short), EI is the expected improvement over the best value so far (larger is \
better), dist is the distance to the nearest evaluated configuration in the unit-scaled space \
(0 means a repeat of a known point), and record n/k says that n of the optimizer's proposals \
were evaluated and k of them improved the best value. Proposals are listed best EI first.
3. Balance exploitation and exploration. Early in the run (many trials left), prefer proposals \
that explore new regions with a high predicted value or high uncertainty. Late in the run (few \
trials left), prefer proposals close to the best region with a good predicted value. A high EI \
usually means a good balance of both.
4. Be sceptical of the surrogate when the history is short or when it predicts far from any \
evaluated point; then the optimizer's track record and its bias matter more.
5. Avoid regions where trials failed, and avoid near-duplicates of evaluated configurations \
unless the objective is noisy.
6. If several proposals look equally good, prefer the optimizer whose bias fits what the \
history shows (a smooth landscape favours Gaussian processes, a rugged one tree models, a long \
curved valley CMA-ES, little information space-filling samplers)."""


_EXAMPLES = """Each round ends with a header "## Round r/total (best #k)", where #k is the best trial \
in the history, followed by the proposals. Examples from other problems (minimize), to show the reasoning and the format:

## Round 5/30 (best #3):
- skopt-gp: x=0.31 y=2.2 | 0.35±0.12 EI 0.081 dist 0.21 | record 1/1
- tpe: x=0.9 y=0.4 | 0.47±0.2 EI 0.054 dist 0.35 | record 1/0
- qmc: x=-1.7 y=4.9 | 0.52±0.31 EI 0.049 dist 0.62 | record 2/1
Answer: {"pick": "skopt-gp", "rationale": "highest EI with the lowest predicted value, near the best region"}

## Round 3/40 (best #1):
- cmaes: x=2.1 y=0.05 | n/a | record 1/0
- qmc: x=-3.3 y=7.5 | n/a | record 2/1
- tpe: x=1.8 y=0.1 | n/a | record 0/0
Answer: {"pick": "qmc", "rationale": "no surrogate yet: explore a new region with the sampler that found the best value"}

## Round 28/30 (best #22):
- cmaes: x=0.52 y=1.01 | 0.0305±0.004 EI 0.0012 dist 0.03 | record 6/3
- skopt-rf: x=0.1 y=3.9 | 0.09±0.08 EI 0.0019 dist 0.4 | record 5/1
- qmc: x=4.4 y=0.2 | 0.3±0.2 EI 0.0004 dist 0.51 | record 4/0
Answer: {"pick": "cmaes", "rationale": "near the end of the budget: refine the best region, where cmaes keeps improving"}"""


def answer_schema_text(tools: Sequence[tuple[str, str]], rationale_chars: int) -> dict:
    """The answer schema shown in the instructions: every tool name may be picked."""
    return {"type": "object",
            "properties": {"pick": {"type": "string", "enum": [n for n, _ in tools]},
                           "rationale": {"type": "string", "maxLength": rationale_chars}},
            "required": ["pick", "rationale"], "additionalProperties": False}


def instructions(
    space: Space,
    direction: str,
    tools: Sequence[tuple[str, str]],
    n_trials: int,
    rationale_chars: int,
    description: str = "an objective function of the configuration",
) -> str:
    """The system message: role, the problem, the optimizers, how to answer."""
    goal = "LOWER is better (minimize)" if direction == "minimize" else "HIGHER is better (maximize)"
    parts = [
        _ROLE,
        "",
        f"The problem: {one_line(description, 300)}; {goal}. Budget: {n_trials} "
        "trials in all. A trial may fail (an error, a non-finite value); failures count against "
        "the budget.",
        "",
        "The search space (parameter: domain):",
        *(f"- {line}" for line in space.describe()),
        "",
        "The optimizers in the pool (name: how it works, when to trust it):",
        *(f"- {name}: {desc}" for name, desc in tools),
        "- human: a configuration typed by the person running the study (appears in the history only)",
        "",
        _GUIDE,
        "",
        _EXAMPLES,
        "",
        "How to answer: reply with one JSON object and nothing else, "
        '{"pick": "<optimizer name>", "rationale": "<one sentence>"}. '
        '"pick" must be the name of one of the proposals listed in the current round (only those '
        'are eligible); "rationale" is at most '
        f"{rationale_chars} characters on one line and cites the evidence that decided (for "
        'example "highest EI with a low predicted value near the best region"). The answer '
        "is checked against this JSON schema (the enum is narrowed to the round's proposals):",
        json.dumps(answer_schema_text(tools, rationale_chars), separators=(", ", ": ")),
    ]
    return "\n".join(parts) + "\n"

