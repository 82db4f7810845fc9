"""Serial LLM loop vs speculative loop, side by side, with the real embedded LLM and real training.

    python benchmarks/speculation.py [--trials 12] [--seeds 0,1] [--epochs 400]

Task: an MLP (128 hidden units, a fixed number of epochs, so every evaluation costs about the
same) on scikit-learn's digits, 3-fold CV, one thread; tuned: alpha, learning_rate_init,
activation, beta_1. Decisions by the embedded SmolLM2-135M (1 thread) over the default pool.
Printed per run: R = wall / sum of evaluation time, accept rate, mean decision latency, final
best value; then the speed-up of the speculative loop and the final regret of each, measured
against the best value either run found (the optimum of this task is unknown).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from typing import Any

import asap_lab as al
from asap_lab import Categorical, Float


class MLPDigitsFixedCost:
    """1 - CV accuracy of a fixed-size MLP trained for a fixed number of epochs on digits."""

    description = "MLP (128 hidden units, fixed epochs) on digits; value = 1 - 3-fold CV accuracy"

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self._data: Any = None

    def __call__(self, c: dict[str, Any]) -> dict[str, float]:
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import cross_val_score
        from sklearn.neural_network import MLPClassifier
        from threadpoolctl import threadpool_limits

        if self._data is None:
            X, y = load_digits(return_X_y=True)
            self._data = (X / 16.0, y)
        X, y = self._data
        model = MLPClassifier(hidden_layer_sizes=(128,), alpha=c["alpha"], learning_rate_init=c["lr"],
                              activation=c["activation"], beta_1=c["beta_1"], max_iter=self.epochs,
                              batch_size=64, tol=0.0, n_iter_no_change=10**6, random_state=0)
        t0 = time.perf_counter()
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            acc = cross_val_score(model, X, y, cv=3).mean()
        return {"value": 1.0 - acc, "accuracy": acc, "fit_s": time.perf_counter() - t0}


SPACE = {
    "alpha": Float(1e-6, 1e-1, log=True),
    "lr": Float(1e-4, 1e-1, log=True),
    "activation": Categorical(["relu", "tanh"]),
    "beta_1": Float(0.8, 0.99),
}


def _row(name: str, run: al.Run) -> dict[str, Any]:
    s = run.stats
    decisions = [t.timings.get("llm_s", 0.0) for t in run.trials if t.timings.get("llm_s")]
    return {"name": name, "wall": s["wall_s"], "eval": s["eval_s"], "R": s["overhead_ratio"],
            "accept": s.get("accept_rate"), "best": run.best_value, "exposed": s["exposed_s"],
            "llm_mean": statistics.mean(decisions) if decisions else 0.0,
            "eval_mean": s["eval_s"] / max(len(run.trials), 1), "hit": s.get("kv_hit_rate")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--llm", default="embedded")
    ap.add_argument("--executor", default="thread", choices=["thread", "process"],
                    help="where the speculative loop evaluates (the serial loop runs in-line)")
    args = ap.parse_args()
    objective = MLPDigitsFixedCost(args.epochs)
    rows = []
    from asap_lab.llm import make_llm

    llm = make_llm(args.llm)  # one engine for all runs: every run after the first starts warm
    try:
        llm.complete([{"role": "user", "content": "Say OK."}], max_tokens=4)  # load the model
        for seed in [int(s) for s in args.seeds.split(",")]:
            for spec in (False, True):
                name = f"seed {seed} {'speculative' if spec else 'serial'}"
                run = al.optimize(objective, SPACE, n_trials=args.trials, seed=seed, llm=llm, speculate=spec,
                                  executor=args.executor)
                rows.append(_row(name, run))
                r = rows[-1]
                acc = "-" if r["accept"] is None else f"{r['accept']:.2f}"
                print(f"{name:<22} wall {r['wall']:7.1f} s  eval {r['eval']:7.1f} s  R {r['R']:.3f}  "
                      f"exposed {r['exposed']:6.1f} s  accept {acc}  eval/trial {r['eval_mean']:.1f} s  "
                      f"LLM/decision {r['llm_mean']:.1f} s  best {r['best']:.4f}", flush=True)
    finally:
        llm.close()
    best = min(r["best"] for r in rows)
    print()
    for seed_rows in zip(rows[::2], rows[1::2], strict=True):
        ser, spe = seed_rows
        print(f"{ser['name'].rsplit(' ', 1)[0]}: speed-up {ser['wall'] / spe['wall']:.2f}x, "
              f"R serial {ser['R']:.3f} vs speculative {spe['R']:.3f}, "
              f"regret serial {ser['best'] - best:.4f} vs speculative {spe['best'] - best:.4f}")
    ser = [r for r in rows if r["name"].endswith("serial")]
    spe = [r for r in rows if r["name"].endswith("speculative")]
    llm_mean = max(statistics.mean(r["llm_mean"] for r in rows), 1e-9)
    ratio = statistics.mean(r["eval_mean"] for r in rows) / llm_mean
    print(f"all seeds: speed-up {sum(r['wall'] for r in ser) / sum(r['wall'] for r in spe):.2f}x, "
          f"mean R serial {statistics.mean(r['R'] for r in ser):.3f} vs speculative "
          f"{statistics.mean(r['R'] for r in spe):.3f}, mean accept rate "
          f"{statistics.mean(r['accept'] or 0 for r in spe):.2f}, eval/LLM-decision ratio {ratio:.1f}")


if __name__ == "__main__":
    main()
