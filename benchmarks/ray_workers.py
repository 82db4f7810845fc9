"""Wall-clock of one vs two Ray workers on the same task (a fixed-cost CPU objective).

    python benchmarks/ray_workers.py [--trials 12] [--work-s 1.0] [--seeds 0 1] [--kinds cpu wait]
                                     [--out FILE]

The ``cpu`` objective does a fixed amount of pure-Python arithmetic (calibrated to ``--work-s``
seconds on this machine, the same for every configuration), so the evaluations cost the same in
both runs and what changes is how many run at once. The ``wait`` objective sleeps ``--work-s``
instead (an evaluation bound by something other than these cores: I/O, a remote service, an
accelerator): it shows what the scheduler and Ray themselves cost when the cores are not the
bottleneck. A local Ray is started first with
``num_cpus=2`` (its start-up is printed, not counted), then for each seed ``optimize(...,
executor="ray", n_workers=1)`` and ``n_workers=2`` (tpe, qmc, random + the EI selector), and
printed: wall-clock, the sum of evaluation time, the ratio wall(1) / wall(2), R = wall / eval
and the parallel efficiency eval / (n_workers x wall). On a 2-core machine the driver's
decisions (tools, surrogate fit, fantasies) compete with the two workers for the same cores,
so the ideal 2x is out of reach; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import asap_lab as al

SPACE = {"x": al.Float(-3, 3), "k": al.Int(0, 5)}


class FixedWait:
    """Sleeps ``seconds``, whatever the configuration; value = a bowl."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, c: dict) -> float:
        time.sleep(self.seconds)
        return (c["x"] - 1) ** 2 + abs(c["k"] - 2)


class FixedWork:
    """``n`` rounds of integer arithmetic, whatever the configuration; value = a bowl."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, c: dict) -> float:
        acc = 0
        for i in range(self.n):
            acc = (acc + i * i) % 1_000_003
        return (c["x"] - 1) ** 2 + abs(c["k"] - 2) + acc * 0.0


def calibrate(work_s: float) -> FixedWork:
    n = 200_000
    while True:
        t0 = time.perf_counter()
        FixedWork(n)({"x": 0.0, "k": 0})
        dt = time.perf_counter() - t0
        if dt > 0.2:
            return FixedWork(int(n * work_s / dt))
        n *= 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--work-s", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--kinds", nargs="+", choices=["cpu", "wait"], default=["cpu", "wait"])
    ap.add_argument("--out", type=Path, default=None, help="also write the printed lines here")
    args = ap.parse_args()
    lines: list[str] = []

    def say(s: str) -> None:
        print(s, flush=True)
        lines.append(s)

    import ray

    say(f"$ python benchmarks/ray_workers.py --trials {args.trials} --work-s {args.work_s} "
        f"--seeds {' '.join(map(str, args.seeds))} --kinds {' '.join(args.kinds)}"
        f"    # {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    cpu = calibrate(args.work_s)
    t0 = time.perf_counter()
    cpu({"x": 0.0, "k": 0})
    say(f"one cpu evaluation alone, in the driver: {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2**20)
    say(f"ray.init(num_cpus=2): {time.perf_counter() - t0:.1f} s (not counted below)")
    # warm both workers (process start, imports) so that neither run pays for it
    al.optimize(cpu, SPACE, n_trials=2, tools=["random"], seed=99, executor="ray", n_workers=2)
    for kind in args.kinds:
        objective = cpu if kind == "cpu" else FixedWait(args.work_s)
        walls: dict[int, list[float]] = {1: [], 2: []}
        for seed in args.seeds:
            for n in (1, 2):
                load = os.getloadavg()[0]
                run = al.optimize(objective, SPACE, n_trials=args.trials, tools=["tpe", "qmc", "random"],
                                  seed=seed, executor="ray", n_workers=n)
                s = run.stats
                walls[n].append(s["wall_s"])
                per_worker = sorted(s["workers"].values(), reverse=True) if s["workers"] else [args.trials]
                say(f"{kind:<4} seed {seed} n_workers={n}: wall {s['wall_s']:5.1f} s, "
                    f"eval {s['eval_s']:5.1f} s, "
                    f"R {s['overhead_ratio']:.2f}, efficiency {s['parallel_efficiency']:.2f}, "
                    f"exposed {s['exposed_s']:4.1f} s, decisions {s['tools_s'] + s['select_s']:4.1f} s, "
                    f"per worker {per_worker}, load avg {load:.1f}")
        ratios = [a / b for a, b in zip(walls[1], walls[2], strict=True)]
        say(f"{kind}: wall(1 worker) / wall(2 workers) = " + ", ".join(f"{r:.2f}x" for r in ratios)
            + f" (mean {sum(ratios) / len(ratios):.2f}x; ideal 2x)")
    ray.shutdown()
    say("R = wall / sum of evaluation time (ideal 1/n_workers); efficiency = eval / (n_workers x wall); "
        "exposed = slot idle time. 2 cores are shared by the driver (decisions) and both workers, and "
        "by other jobs on this machine (load average above): a CPU-bound evaluation takes longer with "
        "two running, so cpu speed-up is bounded by the free cores, not by the executor")
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
