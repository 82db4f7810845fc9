"""The compared methods and how each becomes an ``optimize`` call.

=================  =====================================================================
``tool:<name>``    one tool of the pool alone (``tools=[name]``)
``random``         random search (``tools=["random"]``)
``pool-ei``        the pool + the transparent EI selector (serial)
``ei-spec``        the pool + EI selector + speculation (Self-Tuner)
``llm-serial``     the serial LLM loop: LLM on the critical path every round, LLAMBO-style
                   prompt (history shuffled every round: ``history_order="shuffle"``)
``asap-nospec``    the pool + LLM selector with the prefix-stable (append-only) prompt, serial
``asap-full``      ``asap-nospec`` + speculation with the Self-Tuner
``tau-fixed``      pool + EI + speculation, tau frozen at ``tau`` (claim d)
``tau-tuned``      the same with the Self-Tuner adapting tau from 0.1 (claim d)
=================  =====================================================================

Clocks. Synthetic tasks run on the real clock (their evaluations are free). Tabular tasks run
on :class:`~asap_lab.scheduler.HybridClock` (``simulate={..., "decisions": "measured"}``):
decisions charged their measured cost,
evaluations charged the recorded CV time x the task's ``eval_scale``. The ``tau-*`` methods use
the library's plain simulated clock with a fixed decision latency (:data:`TAU_LATENCY`), so
the many rounds claim (d) needs cost seconds, not hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asap_lab.tasks import Task
from asap_lab.tasks.tabular import TabularTask

# claim (d): decision latency charged per round on the simulated clock (an LLM-sized decision)
TAU_LATENCY = {"ask": 0.5, "select": 4.0, "tell": 0.5}


@dataclass(frozen=True)
class Method:
    """One compared method: which tools, who decides, speculation, which clock."""

    name: str
    tools: tuple[str, ...] | None = None  # None: the bench's pool
    llm_order: str | None = None  # None: no LLM; "append" | "shuffle": the prompt's history order
    speculate: bool = False
    freeze_tau: bool = False
    tau: float = 0.1
    fixed_latency: bool = False

    @property
    def uses_llm(self) -> bool:
        return self.llm_order is not None


def tool_method(name: str) -> Method:
    return Method(f"tool:{name}", tools=(name,))


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("random", tools=("random",)),
        Method("pool-ei"),
        Method("ei-spec", speculate=True),
        Method("llm-serial", llm_order="shuffle"),
        Method("asap-nospec", llm_order="append"),
        Method("asap-full", llm_order="append", speculate=True),
        Method("tau-fixed", speculate=True, freeze_tau=True, fixed_latency=True),
        Method("tau-tuned", speculate=True, fixed_latency=True),
    ]
}


def get_method(name: str) -> Method:
    """A method by name: ``tool:<name>``, ``tau-fixed@<tau>`` or a key of :data:`METHODS`."""
    if name.startswith("tool:"):
        return tool_method(name.split(":", 1)[1])
    if name.startswith("tau-fixed@"):
        tau = float(name.split("@", 1)[1])
        return Method(name, speculate=True, freeze_tau=True, tau=tau, fixed_latency=True)
    return METHODS[name]


def optimize_kwargs(method: Method, task: Task, *, seed: int, n_trials: int, pool: tuple[str, ...] | None,
                    llm: str | None, eval_scale: float) -> dict[str, Any]:
    """The ``optimize`` arguments of one run (``clock`` tells the runner which clock to install)."""
    from asap_lab.selectors import LLMSelector

    kw: dict[str, Any] = dict(n_trials=n_trials, seed=seed, direction=task.direction,
                              tools=list(method.tools or pool) if (method.tools or pool) else None)
    if method.uses_llm:
        if llm is None:
            raise ValueError(f"method {method.name} needs an LLM (--llm)")
        kw["selector"] = LLMSelector(llm, history_order=method.llm_order)
    kw["speculate"] = method.speculate
    if method.speculate:
        kw.update(tau=method.tau, freeze_tau=method.freeze_tau)
    if isinstance(task, TabularTask):
        def eval_s(config: dict[str, Any], number: int) -> float:
            return task.eval_time(config) * eval_scale

        sim: dict[str, Any] = {"eval_s": eval_s}
        if method.fixed_latency:
            sim["latency"] = dict(TAU_LATENCY)
        else:  # the hybrid clock: decisions charged their real measured time
            sim["decisions"] = "measured"
        kw["simulate"] = sim
        kw["clock"] = "sim" if method.fixed_latency else "hybrid"
    elif method.speculate or method.fixed_latency:
        raise ValueError(f"method {method.name} runs on tabular tasks only (it needs a simulated clock)")
    else:
        kw["clock"] = "real"
    return kw
