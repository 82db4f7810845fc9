"""``asap_lab.optimize``: the public entry point of a run."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from asap_lab._run import Run, summarize
from asap_lab.control import Controls
from asap_lab.errors import ConfigError
from asap_lab.events import EventBus, Listener
from asap_lab.executors import RAY_HINT, BaseExecutor, make_executor
from asap_lab.journal import Journal
from asap_lab.scheduler import (
    HybridClock,
    ParallelLoop,
    RealClock,
    SelfTuner,
    SerialLoop,
    SimClock,
    SimLane,
    SpeculativeLoop,
)
from asap_lab.selectors import BaseSelector, LLMSelector, RoundRobinSelector, RunInfo, SurrogateEISelector
from asap_lab.space import Space
from asap_lab.tools import BaseTool, resolve_tools

_SELECTORS: dict[str, Callable[[], BaseSelector]] = {
    "ei": SurrogateEISelector,
    "round-robin": RoundRobinSelector,
    "llm": LLMSelector,
}


def _check_args(objective: Any, n_trials: Any, direction: Any, seed: Any, timeout_s: Any) -> None:
    if not callable(objective):
        kind = type(objective).__name__
        raise ConfigError(f"objective must be callable (config dict -> float), got {kind}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"n_trials must be a positive integer, got {n_trials!r}")
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"seed must be a non-negative integer or None, got {seed!r}")
    if timeout_s is not None and (not isinstance(timeout_s, (int, float)) or timeout_s <= 0):
        raise ConfigError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")


def _check_spec_args(
    tau: Any, tau_target: Any, executor: Any, simulate: Any, spec_agreement: Any, trial_timeout_s: Any
) -> None:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau >= 0:
        raise ConfigError(f"tau must be a non-negative number, got {tau!r}")
    if isinstance(tau_target, bool) or not isinstance(tau_target, (int, float)) or not 0 < tau_target < 1:
        raise ConfigError(f"tau_target must be a rate in (0, 1), got {tau_target!r}")
    if simulate is not None and (not isinstance(simulate, dict) or "eval_s" not in simulate):
        raise ConfigError("simulate must be a dict with 'eval_s' (seconds or fn(config, number))")
    if simulate is not None and simulate.get("decisions", "latency") not in ("latency", "measured"):
        raise ConfigError("simulate['decisions'] must be 'latency' (charge the given latencies) or "
                          f"'measured' (charge the real decision time), got {simulate['decisions']!r}")
    if spec_agreement not in ("ei", "tool"):
        raise ConfigError(f"spec_agreement must be 'ei' or 'tool', got {spec_agreement!r}")
    if trial_timeout_s is not None and (
        isinstance(trial_timeout_s, bool)
        or not isinstance(trial_timeout_s, (int, float))
        or trial_timeout_s <= 0
    ):
        raise ConfigError(f"trial_timeout_s must be a positive number of seconds, got {trial_timeout_s!r}")


def _check_executor_args(executor: Any, n_workers: Any, ordered: Any, simulate: Any) -> int:
    """Validate ``executor``/``n_workers``/``ordered``; returns the number of workers."""
    if not isinstance(executor, BaseExecutor) and executor not in ("thread", "process", "ray"):
        raise ConfigError(f"executor must be 'thread', 'process', 'ray' or a BaseExecutor, got {executor!r}")
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int)
                                  or n_workers < 1):
        raise ConfigError(f"n_workers must be a positive integer, got {n_workers!r}")
    if not isinstance(ordered, bool):
        raise ConfigError(f"ordered must be True or False, got {ordered!r}")
    if isinstance(executor, BaseExecutor):
        if n_workers is not None and n_workers != executor.n_slots:
            raise ConfigError(f"n_workers={n_workers} but the executor has {executor.n_slots} slots "
                              "(give the number to one of them)")
        n_workers = executor.n_slots
    if simulate is not None and (isinstance(executor, BaseExecutor) or executor == "ray"):
        raise ConfigError("simulate evaluates on a virtual clock and takes no executor "
                          "(n_workers=N simulates N slots)")
    if executor == "ray" and simulate is None:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ConfigError(RAY_HINT)
    return 1 if n_workers is None else n_workers


def _clock_and_lane(
    executor: str | BaseExecutor, simulate: dict[str, Any] | None, timeout_s: float | None,
    n_workers: int = 1,
) -> tuple[Any, Any]:
    if simulate is not None:
        measured = simulate.get("decisions", "latency") == "measured"
        clock = (HybridClock if measured else SimClock)(simulate.get("latency"))
        return clock, SimLane(clock, simulate["eval_s"], timeout_s, n_slots=n_workers)
    if isinstance(executor, BaseExecutor):
        if timeout_s is not None:
            executor.timeout_s = timeout_s
        return RealClock(), executor
    return RealClock(), make_executor(executor, n_workers, timeout_s)


def _spec_stats(loop: Any, tuner: SelfTuner) -> dict[str, Any]:
    log = [r for r in loop.spec_log if r.get("predicted") is not None]
    acc = sum(r["accepted"] for r in log)
    mine = [t for t in loop.history if t.session == loop.session]
    return {
        "spec_accepted": acc,
        "spec_rejected": len(log) - acc,
        "accept_rate": acc / len(log) if log else None,
        "hidden_s": sum(t.timings.get("hidden_s", 0.0) for t in mine),
        "tau": tuner.tau,
        "tau_frozen": tuner.frozen,
        "tau_history": list(loop.tau_per_round),
        "spec_disagreement": tuner.disagreement_rate(),
        "spec_disagreement_accepted": _audited_rate(loop.spec_log),
        "spec_saved_s": sum(r["saved_s"] for r in log),
        "cheap_regime_rounds": sum(bool(t.decision.get("cheap_regime")) for t in mine),
    }


def _audited_rate(log: list[dict[str, Any]]) -> float | None:
    """Disagreement measured by shadow audits of accepted speculations (None without audits)."""
    audits = [r["audit"] for r in log if r.get("accepted") and "agree" in r.get("audit", {})]
    return sum(not a["agree"] for a in audits) / len(audits) if audits else None


def check_arguments(objective: Any, space: Any, kwargs: dict[str, Any]) -> None:
    """The argument checks of :func:`optimize`, without running anything (used by ``start``)."""
    import inspect

    allowed = set(inspect.signature(optimize).parameters) - {"objective", "space", "controls", "callbacks"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ConfigError(f"unknown argument {unknown[0]!r} (optimize takes {', '.join(sorted(allowed))})")
    if "n_trials" not in kwargs:
        raise ConfigError("n_trials is required")
    _check_args(
        objective,
        kwargs["n_trials"],
        kwargs.get("direction", "minimize"),
        kwargs.get("seed"),
        kwargs.get("timeout_s"),
    )
    _check_spec_args(
        kwargs.get("tau", 0.1),
        kwargs.get("tau_target", 0.1),
        kwargs.get("executor", "thread"),
        kwargs.get("simulate"),
        kwargs.get("spec_agreement", "ei"),
        kwargs.get("trial_timeout_s"),
    )
    _check_executor_args(
        kwargs.get("executor", "thread"), kwargs.get("n_workers"), kwargs.get("ordered", False),
        kwargs.get("simulate"),
    )
    sp = Space.coerce(space)
    _resolve_selector(kwargs.get("selector"), kwargs.get("llm"))
    resolve_tools(kwargs.get("tools"), sp, direction=kwargs.get("direction", "minimize"), seed=0)


def _describe(objective: Any) -> str:
    desc = getattr(objective, "description", None)
    if isinstance(desc, str) and desc.strip():
        return desc.strip()
    doc = (getattr(objective, "__doc__", None) or "").strip()
    if doc and not isinstance(objective, type(len)) and doc != (type(objective).__doc__ or "").strip():
        return doc.splitlines()[0]
    return "an objective function of the configuration"


def _resolve_selector(selector: str | BaseSelector | None, llm: Any) -> BaseSelector:
    if llm is not None:
        if selector is not None:
            raise ConfigError("give llm=... or selector=..., not both (llm=... uses the LLM selector)")
        from asap_lab.llm import BaseLLM, make_llm

        if not isinstance(llm, BaseLLM):
            make_llm(llm)  # validates the spec now (cheap: nothing loads before the first call)
        return LLMSelector(llm)
    if selector is None:
        return SurrogateEISelector()
    if isinstance(selector, BaseSelector):
        return selector
    if isinstance(selector, str) and selector in _SELECTORS:
        return _SELECTORS[selector]()
    raise ConfigError(f"unknown selector {selector!r} (use {', '.join(_SELECTORS)} or a BaseSelector)")


def optimize(
    objective: Callable[[dict[str, Any]], Any],
    space: Space | dict[str, Any],
    *,
    n_trials: int,
    tools: Sequence[str | BaseTool] | None = None,
    llm: Any = None,
    speculate: bool = False,
    seed: int | None = None,
    direction: str = "minimize",
    journal: str | os.PathLike[str] | None = None,
    selector: str | BaseSelector | None = None,
    timeout_s: float | None = None,
    callbacks: Sequence[Listener] | None = None,
    description: str | None = None,
    controls: Controls | None = None,
    tau: float = 0.1,
    freeze_tau: bool = False,
    tau_target: float = 0.1,
    executor: str | BaseExecutor = "thread",
    simulate: dict[str, Any] | None = None,
    spec_agreement: str = "ei",
    trial_timeout_s: float | None = None,
    n_workers: int | None = None,
    ordered: bool = False,
) -> Run:
    """Optimise ``objective`` over ``space`` with a pool of tools and a selector.

    Each round every tool proposes a configuration (all of them told the full history), the
    selector picks one, the objective evaluates it. ``objective(config) -> float`` or a dict with
    ``"value"`` and extra metrics; an exception, NaN/inf or a non-number marks the trial failed
    and the run goes on. ``n_trials`` counts trials already in ``journal``: an existing journal
    is resumed (finished trials are not evaluated again). ``timeout_s`` stops starting new
    trials after that many seconds of this session. ``llm`` picks with an LLM: ``"embedded"``
    (SmolLM2-135M in process), ``"vllm:<model>"``, ``"openai:<base_url>#<model>"`` or a
    :class:`~asap_lab.llm.BaseLLM`; without it ``selector`` decides: ``"ei"`` (shared-surrogate
    expected improvement, the default), ``"round-robin"``, ``"llm"`` or a BaseSelector.
    ``callbacks`` receive :class:`asap_lab.events.Event` objects as the run progresses.
    ``description`` tells the LLM what is being optimised (default: the objective's
    ``description`` attribute or the first line of its docstring). ``controls`` lets other
    threads pause, resume, stop or override the run (see :func:`asap_lab.start`).

    ``speculate=True`` decides round t+1 while round t evaluates (in a worker ``executor``:
    ``"thread"`` or ``"process"``); the speculative pick is accepted when the relative error of
    the predicted outcome is <= ``tau``, which the Self-Tuner adapts towards a disagreement rate
    of ``tau_target`` unless ``freeze_tau``. ``simulate={"eval_s": seconds or fn(config, number),
    "latency": {"ask": s, "select": s, "tell": s}}`` runs the same scheduler on a virtual clock;
    with ``"decisions": "measured"`` decisions are charged their real time instead.
    ``trial_timeout_s`` fails an evaluation that runs longer (it then runs in a worker: a thread is
    abandoned, a process killed) and the run goes on. ``spec_agreement`` defines decision quality
    for the Self-Tuner: ``"ei"`` (the speculative pick is as good as the serial one under the
    real-history surrogate) or ``"tool"`` (same tool).

    ``n_workers=N`` keeps N evaluations in flight (the parallel loop; speculation is then per
    slot) on ``executor``: ``"thread"``/``"process"`` (a local pool of N), ``"ray"`` (Ray tasks on
    a local Ray, or the cluster ``ray.init`` was given; ``pip install -e ".[ray]"``) or an
    :class:`~asap_lab.executors.BaseExecutor` such as ``RayExecutor(address, n_workers=N,
    on_worker_lost="retry")``. Trials are numbered as results land; ``ordered=True`` takes results
    in submission order, so the run does not depend on timing (see ``docs/executors.md``).
    """
    _check_args(objective, n_trials, direction, seed, timeout_s)
    _check_spec_args(tau, tau_target, executor, simulate, spec_agreement, trial_timeout_s)
    nw = _check_executor_args(executor, n_workers, ordered, simulate)
    sp = Space.coerce(space)
    sel = _resolve_selector(selector, llm)
    pool = resolve_tools(tools, sp, direction=direction, seed=seed)
    session = uuid.uuid4().hex[:12]
    events = EventBus(list(callbacks or []))
    history = []
    jr = None
    if journal is not None:
        jr = Journal(journal)
        header = {
            "space": sp.to_dict(),
            "direction": direction,
            "tools": [t.name for t in pool],
            "seed": seed,
            "created": time.time(),
        }
        contents = jr.open(header)
        history = list(contents.trials)
        for tool in pool:
            tool.tell_many(history)
        jr.append(
            {"type": "session", "session": session, "start": time.time(), "resumed_trials": len(history)}
        )
    controls = controls or Controls()
    if freeze_tau:
        controls.freeze_tau(tau)
    common = dict(
        direction=direction,
        n_trials=n_trials,
        history=history,
        journal=jr,
        timeout_s=timeout_s,
        seed=seed,
        events=events,
        session=session,
        controls=controls,
    )
    tuner = None
    if nw > 1 or speculate or simulate is not None or trial_timeout_s is not None or executor != "thread":
        tuner = SelfTuner(tau=float(tau), target=float(tau_target))
        try:  # a Ray executor starts (or reaches) Ray here
            clock, lane = _clock_and_lane(executor, simulate, trial_timeout_s, nw)
        except BaseException:
            if jr is not None:
                jr.close()
            raise
        loop: SerialLoop = (ParallelLoop if nw > 1 else SpeculativeLoop)(
            objective,
            sp,
            pool,
            sel,
            tuner=tuner,
            clock=clock,
            lane=lane,
            enabled=speculate,
            agreement=spec_agreement,
            **common,
            **({"ordered": ordered} if nw > 1 else {}),
        )
    else:
        loop = SerialLoop(objective, sp, pool, sel, **common)
    events.emit(
        "run_start",
        n_trials=n_trials,
        resumed=len(history),
        history=list(history),  # the resumed trials (observers such as OptunaMirror add them first)
        tools=[t.name for t in pool],
        direction=direction,
        space=sp.to_dict(),
        speculate=speculate,
        n_workers=nw,
    )
    try:
        sel.bind(
            RunInfo(
                sp,
                direction,
                tuple((t.name, t.description or t.bias) for t in pool),
                n_trials,
                description or _describe(objective),
            )
        )
        timing = loop.run()
    finally:
        sel.close()
        if jr is not None:
            jr.close()
    stats = summarize(history, session, timing["wall_s"], timing["final_tell_s"], n_workers=nw)
    stats["tool_errors"] = list(loop.tool_errors)
    if tuner is not None:
        stats.update(_spec_stats(loop, tuner))
    run = Run(sp, direction, history, stats, jr.path if jr else None)
    events.emit("run_end", run=run)
    return run
