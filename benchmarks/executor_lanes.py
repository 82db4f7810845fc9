"""Which evaluation lane keeps 2 cores busy without starving the LLM: thread or process?

    python benchmarks/executor_lanes.py [--epochs 150] [--decisions 4]

Side by side in one run: (a) the evaluation alone, (b) LLM decisions alone, then (c) both at
once with the evaluation in a worker thread and (d) in a worker process. Printed: evaluation
time, mean LLM decision latency, and the slow-down of each against running alone, plus CPU
utilisation (process CPU seconds / wall seconds, 2.0 = both cores busy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speculation import SPACE, MLPDigitsFixedCost

from asap_lab.llm import make_llm
from asap_lab.prompt import PromptBuilder
from asap_lab.scheduler import ProcessLane, ThreadLane
from asap_lab.selectors import answer_schema
from asap_lab.space import Space
from asap_lab.tools import default_tools, make_tool
from asap_lab.trial import Proposal

CONFIG = {"alpha": 1e-4, "lr": 3e-3, "activation": "relu", "beta_1": 0.9}


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


_ROUND = [0]


def _decisions(llm, n: int) -> list[float]:
    space = Space(SPACE)
    tools = [(t, make_tool(t).description) for t in default_tools()]
    b = PromptBuilder(space, "minimize", tools, n_trials=50)
    out = []
    for _ in range(n):
        _ROUND[0] += 1
        i = _ROUND[0]  # a new round each call: the same cache situation alone and under load
        props = [
            Proposal(name, space.sample(__import__("numpy").random.default_rng(i))) for name, _ in tools[:3]
        ]
        p = b.build([], props, [None] * 3)
        r = llm.complete(p.messages(), schema=answer_schema([q.tool for q in props], 160), max_tokens=224)
        out.append(r.latency_s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--decisions", type=int, default=4)
    args = ap.parse_args()
    objective = MLPDigitsFixedCost(args.epochs)
    llm = make_llm("embedded")
    try:
        _decisions(llm, 1)  # load + warm the prompt cache
        t0, c0 = time.perf_counter(), _cpu()
        objective(CONFIG)
        eval_alone = time.perf_counter() - t0
        llm_alone = statistics.mean(_decisions(llm, args.decisions))
        print(f"alone: evaluation {eval_alone:.1f} s, LLM decision {llm_alone:.2f} s")
        for lane_cls in (ThreadLane, ProcessLane):
            lane = lane_cls()
            try:
                lane.submit(objective, CONFIG, 0).result()  # start the worker (process: import cost)
                t0, c0 = time.perf_counter(), _cpu()
                pending = lane.submit(objective, CONFIG, 1)
                lat: list[float] = []
                done = threading.Event()

                def decide(done: threading.Event = done, lat: list[float] = lat) -> None:
                    while not done.is_set():
                        lat.extend(_decisions(llm, 1))

                th = threading.Thread(target=decide)
                th.start()
                pending.result()
                eval_s = pending.end - t0
                done.set()
                th.join()
                wall = time.perf_counter() - t0
                util = (_cpu() - c0) / wall
            finally:
                lane.close()
            print(
                f"{lane_cls.kind:<8} evaluation {eval_s:.1f} s ({eval_s / eval_alone:.2f}x alone), "
                f"LLM decision {statistics.mean(lat):.2f} s ({statistics.mean(lat) / llm_alone:.2f}x alone, "
                f"{len(lat)} decisions), CPU utilisation {util:.2f} of 2 cores"
                + (
                    " (a worker process's CPU is not counted until it exits)"
                    if lane_cls is ProcessLane
                    else ""
                )
            )
    finally:
        llm.close()


if __name__ == "__main__":
    main()
