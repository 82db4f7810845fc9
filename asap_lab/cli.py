"""The ``asap`` command: ``asap demo`` runs a real task end to end; ``asap tasks`` / ``asap tools`` list."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from asap_lab._optimize import optimize
from asap_lab.errors import AsapError
from asap_lab.events import Event

DEMO_TASK = "svc-classification"


class Progress:
    """Prints one line per finished trial (an event listener)."""

    def __init__(self, n_trials: int, direction: str, stream: Any = None) -> None:
        self.n_trials = n_trials
        self.direction = direction
        self.stream = stream or sys.stdout
        self.best: float | None = None

    def __call__(self, ev: Event) -> None:
        if ev.kind == "run_start" and ev.data["resumed"]:
            print(f"resuming: {ev.data['resumed']} trials already in the journal", file=self.stream)
        if ev.kind != "trial":
            return
        t = ev.data["trial"]
        if t.ok and (self.best is None or (t.value < self.best if self.direction == "minimize"
                                           else t.value > self.best)):
            self.best = t.value
        value = f"{t.value:10.5g}" if t.ok else f"{'failed':>10}"
        best = f"{self.best:10.5g}" if self.best is not None else f"{'-':>10}"
        tm = t.timings
        decide = tm.get("ask_s", 0) + tm.get("tell_s", 0) + tm.get("select_s", 0)
        width = len(str(self.n_trials))
        by = {"llm": "LLM", "fallback": "fallback", "human": "human"}.get(t.picked_by, "")
        print(f"[{t.number + 1:>{width}}/{self.n_trials}] {t.tool:<10} value {value}  best {best}  "
              f"eval {tm.get('eval_s', 0):5.2f}s  decide {decide:5.2f}s  {by}", file=self.stream, flush=True)
        if t.picked_by in ("llm", "fallback") and t.rationale:
            print(f"    {t.rationale[:150]}", file=self.stream)
        if not t.ok:
            print(f"    {t.error}", file=self.stream)


def _summary(run: Any, task: Any) -> str:
    s = run.stats
    lines = [
        "",
        f"task        {task.name}: {task.description}",
        f"trials      {s['n_trials']} ({s['n_failed']} failed, {s['n_resumed']} resumed)",
        f"best value  {run.best_value:.6g}" if run.best_value is not None else "best value  none",
        f"best params {run.best_params}",
    ]
    if task.optimum is not None and run.best_value is not None:
        lines.append(f"regret      {task.regret(run.best_value):.6g} (optimum {task.optimum:.6g})")
    lines += [
        "",
        "wall-clock decomposition (this session)",
        f"  wall      {s['wall_s']:8.2f} s",
        f"  eval      {s['eval_s']:8.2f} s  ({100 * s['eval_s'] / max(s['wall_s'], 1e-9):.0f}% of wall)",
        f"  tools     {s['tools_s']:8.2f} s  (ask + tell)",
        f"  select    {s['select_s']:8.2f} s  (of which LLM {s['llm_s']:.2f} s)",
        f"  exposed   {s['exposed_s']:8.2f} s  (between one evaluation and the next)",
        f"  R = wall / eval = {s['overhead_ratio']:.3f}",
        f"picks       {s['picks']}",
    ]
    if s.get("llm_calls"):
        hit = s["kv_hit_rate"]
        lines += [
            f"LLM         {s['llm_backend']}: {s['llm_calls']} calls, {s['llm_fallbacks']} fallbacks, "
            f"KV-cache hit rate {hit:.3f} ({s['kv_cached_tokens']}/{s['kv_prompt_tokens']} prompt tokens "
            "after the first call)" if hit is not None else "",
        ]
    return "\n".join(lines)


def _demo(args: argparse.Namespace) -> int:
    from asap_lab.tasks import get_task

    task = get_task(args.task)
    tools = [t.strip() for t in args.tools.split(",")] if args.tools else None
    print(f"asap demo: {task.name} ({task.description}), {args.trials} trials", flush=True)
    t0 = time.perf_counter()
    llm = None if args.llm in ("none", "") or args.selector else args.llm
    who = f"LLM {llm}" if llm else f"selector {args.selector or 'ei'}"
    print(f"decisions by {who}", flush=True)
    run = optimize(task, task.space, n_trials=args.trials, tools=tools, seed=args.seed,
                   direction=task.direction, journal=args.journal, selector=args.selector, llm=llm,
                   callbacks=[] if args.quiet else [Progress(args.trials, task.direction)])
    print(_summary(run, task))
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _tasks(_: argparse.Namespace) -> int:
    from asap_lab.tasks import get_task, list_tasks

    for name in list_tasks():
        t = get_task(name)
        opt = f" (optimum {t.optimum:.6g})" if t.optimum is not None else ""
        print(f"{name:<20} {t.direction:<8} {len(t.space)} params  {t.description}{opt}")
    return 0


def _tools(_: argparse.Namespace) -> int:
    from asap_lab.tools import available_tools, default_tools, make_tool

    default = set(default_tools())
    for name in available_tools():
        mark = "*" if name in default else " "
        print(f"{mark} {name:<10} {make_tool(name).bias}")
    print("* = in the default pool")
    return 0


def _export(args: argparse.Namespace) -> int:
    from asap_lab.export import to_optuna

    study = to_optuna(args.journal, args.storage, args.study, overwrite=args.overwrite)
    print(f"{len(study.trials)} trials in Optuna study {study.study_name!r} at {args.storage}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import dataclasses
    import shlex

    from asap_lab.bench import PRESETS, rerender, run_bench

    if args.report_only:
        rerender(args.report_only)
        print(f"report: {args.report_only}/report.md (re-rendered from results.json)")
        return 0
    from asap_lab.errors import ConfigError

    for opt in ("seeds", "llm_seeds", "jobs"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise ConfigError(f"--{opt.replace('_', '-')} must be at least 1, got {v}")
    name = "full" if args.full else "quick" if args.quick else args.preset
    preset = PRESETS[name]
    changes: dict[str, Any] = {}
    if args.seeds is not None:
        changes.update(a_seeds=args.seeds, d_seeds=args.seeds)
    if args.llm_seeds is not None:
        changes["b_seeds"] = args.llm_seeds
    if args.llm is not None:
        changes["llm"] = None if args.llm in ("none", "") else args.llm
    preset = dataclasses.replace(preset, **changes)
    if preset.llm is not None:
        from asap_lab.llm import make_llm

        make_llm(preset.llm)  # a bad spec fails here, before any run (nothing loads yet)
    out = args.out or f"bench_results/{name}"
    command = "asap " + " ".join(shlex.quote(a) for a in (args.argv or []))
    print(f"asap bench: preset {name} -> {out}/ (LLM: {preset.llm or 'none'})", flush=True)
    res = run_bench(preset, out, command=command, jobs=args.jobs, progress=not args.no_progress)
    an = res["analysis"]
    for key, label in (("a", "pool beats single tools"), ("b", "co-design cuts wall-clock"),
                       ("c", "prefix stability raises KV reuse"), ("d", "adaptive tau beats fixed tau")):
        c = an[key]
        v = c["main"]["verdict"] if key == "b" and c.get("measured") else c.get("verdict")
        print(f"({key}) {label:<34} {v if c.get('measured') else 'not measured'}")
    if an["errors"]:
        print(f"{len(an['errors'])} run(s) failed; see {out}/report.md", file=sys.stderr)
    print(f"report: {out}/report.md ({res['meta']['elapsed_s']:.0f} s)")
    return 1 if an["errors"] else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="asap",
        description="LLM-assisted hyperparameter optimization over a pool of optimizers, "
        "fast in wall-clock.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("demo", help="run a real task end to end and print the time decomposition")
    d.add_argument("--task", default=DEMO_TASK, help=f"task name, see 'asap tasks' (default {DEMO_TASK})")
    d.add_argument("--trials", type=int, default=20, help="number of trials (default 20)")
    d.add_argument("--tools", default=None, help="comma-separated tool names (default: the pool)")
    d.add_argument("--llm", default="embedded",
                   help="LLM backend: embedded (default), vllm:<model>, openai:<url>#<model>, or none")
    d.add_argument("--selector", default=None,
                   help="a non-LLM selector instead of the LLM: ei or round-robin")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--journal", default=None, help="JSON-lines journal to write / resume from")
    d.add_argument("--quiet", action="store_true", help="no per-trial progress lines")
    d.set_defaults(func=_demo)
    b = sub.add_parser("bench", help="offline benchmark of the paper's claims: report, plots, raw results")
    g = b.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true",
                   help="the quick preset (default; ~9 min on 2 cores)")
    g.add_argument("--full", action="store_true", help="the full preset (hours)")
    g.add_argument("--preset", default="quick", choices=["smoke", "quick", "full"], help="preset by name")
    b.add_argument("--out", default=None, help="output folder (default bench_results/<preset>)")
    b.add_argument("--seeds", type=int, default=None, help="seeds for the runs without an LLM")
    b.add_argument("--llm-seeds", type=int, default=None, help="seeds for the LLM runs")
    b.add_argument("--llm", default=None,
                   help="embedded (preset default), none, vllm:<model> or openai:<url>#<model>")
    b.add_argument("--jobs", type=int, default=2, help="worker processes for the runs without an LLM")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--report-only", metavar="DIR", default=None,
                   help="re-render report.md and the plots of DIR from its results.json (runs nothing)")
    b.set_defaults(func=_bench)
    e = sub.add_parser("export", help="write a journal's trials into an Optuna storage (optuna-dashboard)")
    e.add_argument("journal", help="the asap journal (JSON lines) of a run")
    e.add_argument("storage", help="an Optuna storage URL (sqlite:///runs.db) or a journal file (.log)")
    e.add_argument("--study", default=None, help="study name (default: the journal's file name)")
    e.add_argument("--overwrite", action="store_true",
                   help="delete the study first (default: add only new trials)")
    e.set_defaults(func=_export)
    sub.add_parser("tasks", help="list the built-in tasks").set_defaults(func=_tasks)
    sub.add_parser("tools", help="list the optimizer tools").set_defaults(func=_tools)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except AsapError as e:
        print(f"asap: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asap: interrupted; finished trials are in the journal (if one was given)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
