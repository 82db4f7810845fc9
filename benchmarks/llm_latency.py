"""Decision latency and KV-cache reuse: the prefix-stable prompt vs LLAMBO-style prompts.

    python benchmarks/llm_latency.py [--llm embedded] [--history 30] [--rounds 8]

One run, same machine, same model, same rounds: for each prompt layout a fresh backend (cold
cache) makes ``--rounds`` decisions over a growing history of real Branin trials, with three
proposals per round and the shared surrogate's evidence. Printed per layout: the cold (first)
decision latency, the mean warm latency, the KV-cache hit rate read from the engine
(cached / prompt tokens, calls 2..n), and the ratios against the prefix-stable layout.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from asap_lab.llm import make_llm
from asap_lab.prompt import PromptBuilder
from asap_lab.selectors import answer_schema
from asap_lab.surrogate import SharedSurrogate
from asap_lab.tasks import get_task
from asap_lab.testing.tools import make_trial
from asap_lab.tools import default_tools, make_tool
from asap_lab.trial import Proposal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", default="embedded")
    ap.add_argument("--history", type=int, default=30, help="trials already in the history")
    ap.add_argument("--rounds", type=int, default=8, help="decisions per layout")
    args = ap.parse_args()
    task = get_task("branin")
    rng = np.random.default_rng(0)
    trials = []
    for i in range(args.history + args.rounds):
        c = task.space.sample(rng)
        trials.append(make_trial(i, c, task(c), tool=default_tools()[i % len(default_tools())]))
    tools = [(n, make_tool(n).description) for n in default_tools()]
    rounds = []
    for r in range(args.rounds):
        hist = trials[: args.history + r]
        props = [Proposal(n, task.space.sample(rng)) for n, _ in tools[:3]]
        ev = SharedSurrogate(task.space).fit(hist).evidence([p.params for p in props])
        rounds.append((hist, props, ev))
    results = {}
    for layout in ("append", "shuffle", "sorted"):
        builder = PromptBuilder(task.space, "minimize", tools, n_trials=100, history_order=layout)
        llm = make_llm(args.llm)
        rows = []
        try:
            for hist, props, ev in rounds:
                prompt = builder.build(hist, props, ev)
                names = [p.tool for p in props]
                resp = llm.complete(prompt.messages(), schema=answer_schema(names, 160), max_tokens=224)
                rows.append(resp)
        finally:
            llm.close()
        warm = rows[1:]
        hit = sum(r.cached_tokens for r in warm) / max(sum(r.prompt_tokens for r in warm), 1)
        results[layout] = (rows[0].latency_s, statistics.mean(r.latency_s for r in warm), hit,
                           statistics.mean(r.prompt_tokens for r in rows))
        print(f"{layout:<8} cold {rows[0].latency_s:6.2f} s  warm mean {results[layout][1]:6.2f} s  "
              f"hit rate {hit:.3f}  prompt {results[layout][3]:.0f} tokens  "
              f"cached per call {[r.cached_tokens for r in rows]}", flush=True)
    base = results["append"]
    print()
    print(f"backend {args.llm}, history {args.history}..{args.history + args.rounds - 1} trials, "
          f"{args.rounds} decisions per layout")
    for layout in ("shuffle", "sorted"):
        r = results[layout]
        print(f"prefix-stable vs {layout:<7}: warm latency {r[1] / base[1]:.2f}x lower, "
              f"hit rate {base[2]:.3f} vs {r[2]:.3f} ({base[2] / max(r[2], 1e-9):.2f}x)")
    print(f"prefix-stable: cold {base[0]:.2f} s -> warm {base[1]:.2f} s ({base[0] / base[1]:.1f}x)")


if __name__ == "__main__":
    main()
