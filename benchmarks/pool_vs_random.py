"""Default pool + transparent EI selector vs plain random search, same budget, same seeds.

    python benchmarks/pool_vs_random.py [--task branin] [--trials 40] [--seeds 5]

Prints the final simple regret of every seed and the median of each method, side by side.
"""

from __future__ import annotations

import argparse
import statistics
import time

import asap_lab as al
from asap_lab.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="branin")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    task = get_task(args.task)
    methods = {"pool+ei": None, "random": ["random"]}
    regrets: dict[str, list[float]] = {m: [] for m in methods}
    walls: dict[str, float] = dict.fromkeys(methods, 0.0)
    print(f"task {task.name}, {args.trials} trials, seeds 0..{args.seeds - 1}")
    for seed in range(args.seeds):
        row = []
        for m, tools in methods.items():
            t0 = time.perf_counter()
            run = al.optimize(task, task.space, n_trials=args.trials, tools=tools, seed=seed,
                              direction=task.direction)
            walls[m] += time.perf_counter() - t0
            regrets[m].append(task.regret(run.best_value))
            row.append(f"{m} {regrets[m][-1]:.5f}")
        print(f"  seed {seed}: " + "   ".join(row), flush=True)
    med = {m: statistics.median(r) for m, r in regrets.items()}
    print()
    for m in methods:
        print(f"median regret {m:<8} {med[m]:.5f}   (wall {walls[m]:.1f} s for {args.seeds} runs)")
    ratio = med["random"] / med["pool+ei"] if med["pool+ei"] > 0 else float("inf")
    print(f"random / pool median regret ratio: {ratio:.1f}x "
          f"({'pool better' if med['pool+ei'] < med['random'] else 'pool NOT better'})")


if __name__ == "__main__":
    main()
