"""Conformance suite for tools: every :class:`~asap_lab.tools.BaseTool` must pass it.

Use it from a test module::

    from asap_lab.testing.tools import run_conformance
    def test_my_tool():
        run_conformance(lambda: MyTool())

or call the individual ``check_*`` functions. Each check builds fresh tools from ``factory``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from asap_lab.space import Categorical, Float, Int, Space
from asap_lab.tools import BaseTool
from asap_lab.trial import Trial, TrialState

ToolFactory = Callable[[], BaseTool]

#: A mixed space: linear and log floats, a plain, a stepped and a log integer, mixed categoricals.
MIXED_SPACE = Space(
    {
        "x": Float(-2.0, 3.0),
        "lr": Float(1e-4, 1e-1, log=True),
        "n": Int(1, 9),
        "width": Int(16, 256, step=16),
        "batch": Int(8, 512, log=True),
        "act": Categorical(["relu", "tanh", "gelu"]),
        "flag": Categorical([True, False, None, 3]),
    }
)


def mixed_objective(c: dict[str, Any]) -> float:
    """A deterministic function of every parameter of :data:`MIXED_SPACE`."""
    act = {"relu": 0.0, "tanh": 0.3, "gelu": 0.1}[c["act"]]
    flag = {True: 0.0, False: 0.2, None: 0.4, 3: 0.1}[c["flag"]]
    return ((c["x"] - 0.5) ** 2 + (math.log10(c["lr"]) + 2.5) ** 2 + abs(c["n"] - 4) * 0.1
            + abs(c["width"] - 128) / 128 + abs(math.log2(c["batch"]) - 6) * 0.1 + act + flag)


def space_objective(space: Space, c: dict[str, Any]) -> float:
    """:func:`mixed_objective` on :data:`MIXED_SPACE`, else a bowl in the unit encoding."""
    if space == MIXED_SPACE:
        return mixed_objective(c)
    return float(np.sum((space.to_unit(c) - 0.3) ** 2))


def make_trial(number: int, params: dict[str, Any], value: float | None, tool: str = "foreign") -> Trial:
    """A finished trial (failed when ``value`` is None)."""
    state = TrialState.COMPLETE if value is not None else TrialState.FAILED
    return Trial(number=number, params=params, value=value, state=state, tool=tool, picked_by="test",
                 error=None if value is not None else "injected failure")


class UniformTool(BaseTool):
    """The smallest complete tool: uniform proposals from its own RNG, learns nothing.

    A reference for writing tools (the base class is all it needs), and a cheap, forkable
    stand-in where optimizer cost must stay out of a measurement.
    """

    name = "uniform"

    def _setup(self) -> None:
        self._rng = np.random.default_rng(self.seed_)

    def ask(self) -> dict[str, Any]:
        return self.space_.from_unit(self._rng.random(len(self.space_)))

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1


def _bound(factory: ToolFactory, space: Space, seed: int, direction: str = "minimize") -> BaseTool:
    tool = factory()
    tool.bind(space, direction=direction, seed=seed)
    return tool


def _drive(tool: BaseTool, space: Space, n: int, fail_every: int = 0) -> list[dict[str, Any]]:
    """Ask/tell the tool on its own proposals ``n`` times; returns the proposals."""
    out = []
    for i in range(n):
        p = tool.ask()
        assert space.contains(p), f"{tool.name} proposed {p}, outside the space"
        out.append(space.validate(p))
        failed = fail_every and i % fail_every == fail_every - 1
        value = None if failed else space_objective(space, p)
        tool.tell(make_trial(i, space.validate(p), value, tool.name))
    return out


def check_proposals_in_space(factory: ToolFactory, space: Space = MIXED_SPACE, n: int = 14) -> None:
    """Every proposal validates against the space, including past the tool's warm-up."""
    _drive(_bound(factory, space, seed=1), space, n)


def check_foreign_trials(factory: ToolFactory, space: Space = MIXED_SPACE, n: int = 12) -> None:
    """Trials the tool never asked for (another tool's, a human's) are accepted and counted."""
    tool = _bound(factory, space, seed=2)
    rng = np.random.default_rng(0)
    foreign = [space.sample(rng) for _ in range(n)]
    tool.tell_many([make_trial(i, c, space_objective(space, c)) for i, c in enumerate(foreign[: n // 2])])
    for i, c in enumerate(foreign[n // 2:], start=n // 2):
        tool.tell(make_trial(i, c, space_objective(space, c), tool="human"))
    assert tool.n_told_ == n, f"{tool.name} counted {tool.n_told_} told trials, expected {n}"
    for _ in range(3):
        assert space.contains(tool.ask())


def check_failures(factory: ToolFactory, space: Space = MIXED_SPACE, n: int = 12) -> None:
    """Failed trials (also before any success) are accepted; the tool keeps proposing."""
    tool = _bound(factory, space, seed=3)
    rng = np.random.default_rng(1)
    for i in range(3):
        tool.tell(make_trial(i, space.sample(rng), None))
    _drive(tool, space, n, fail_every=3)
    assert tool.n_told_ == 3 + n


def check_determinism(factory: ToolFactory, space: Space = MIXED_SPACE, n: int = 12) -> None:
    """Same seed and same history give the same proposals; another seed differs somewhere."""
    a = _drive(_bound(factory, space, seed=7), space, n)
    b = _drive(_bound(factory, space, seed=7), space, n)
    assert a == b, "same seed gave different proposals"
    c = _drive(_bound(factory, space, seed=8), space, n)
    assert a != c, "a different seed gave identical proposals"


def check_fork(factory: ToolFactory, space: Space = MIXED_SPACE, n: int = 10) -> None:
    """A fork told a fantasy leaves the original's state (and later proposals) untouched."""
    tool = _bound(factory, space, seed=11)
    twin = _bound(factory, space, seed=11)
    _drive(tool, space, n)
    _drive(twin, space, n)
    fork = tool.fork()
    fork.tell(make_trial(n, space.validate(fork.ask()), -100.0, "fantasy"))
    assert tool.n_told_ == n and fork.n_told_ == n + 1
    assert _drive(tool, space, 3) == _drive(twin, space, 3), "telling a fork changed the original"


def check_maximize(factory: ToolFactory, space: Space = MIXED_SPACE, n: int = 10) -> None:
    """Bound with direction='maximize', the tool turns values into losses the right way round."""
    tool = _bound(factory, space, seed=5, direction="maximize")
    t = make_trial(0, space.sample(np.random.default_rng(2)), 2.5)
    assert tool.loss(t) == -2.5
    _drive(tool, space, n)


CHECKS = (check_proposals_in_space, check_foreign_trials, check_failures, check_determinism,
          check_fork, check_maximize)


def run_conformance(factory: ToolFactory, space: Space = MIXED_SPACE) -> None:
    """Run every check on tools built by ``factory``."""
    for check in CHECKS:
        check(factory, space)
