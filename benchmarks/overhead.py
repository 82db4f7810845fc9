"""Orchestration overhead per round and memory over a 1,000-trial run (simulated clock).

    python benchmarks/overhead.py [--trials 1000] [--journal]

Cheap evaluations in simulated-clock mode, a trivial tool and the round-robin selector, so what
is measured is the scheduler itself (proposal bookkeeping, accept tests, journal, events, stats),
not the LLM or the optimizers. Printed: real milliseconds per round in consecutive windows and
the peak traced memory, for the serial and the speculative scheduler. Bounded means: no growth
of the per-round cost with the number of finished trials beyond what the history size forces.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

import asap_lab as al
from asap_lab.testing.tools import UniformTool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--journal", action="store_true", help="also write a journal (fsync per trial)")
    args = ap.parse_args()
    space = {"x": al.Float(-5, 5), "y": al.Float(-5, 5), "k": al.Int(0, 9)}
    window = max(args.trials // 5, 1)
    for speculate in (False, True):
        stamps: list[float] = []
        tracemalloc.start()
        with tempfile.TemporaryDirectory() as d:
            run = al.optimize(
                lambda c: c["x"] ** 2 + c["y"] ** 2 + c["k"],
                space,
                n_trials=args.trials,
                seed=0,
                tools=[UniformTool(name="u1"), UniformTool(name="u2")],
                selector="round-robin",
                speculate=speculate,
                simulate={"eval_s": 1.0},
                journal=Path(d) / "run.jsonl" if args.journal else None,
                callbacks=[
                    lambda ev, s=stamps: s.append(time.perf_counter()) if ev.kind == "trial" else None
                ],
            )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        per = np.diff(stamps) * 1000
        cols = [
            f"{i * window}-{min((i + 1) * window, len(per))}: {per[i * window : (i + 1) * window].mean():.2f}"
            for i in range(int(np.ceil(len(per) / window)))
        ]
        name = "speculative" if speculate else "serial"
        print(
            f"{name:<11} {len(run.trials)} trials, ms per round by window [{'; '.join(cols)}], "
            f"peak traced memory {peak / 2**20:.1f} MiB"
        )


if __name__ == "__main__":
    main()
