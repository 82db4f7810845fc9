"""Every tool of the pool passes the shared conformance suite, on mixed and small spaces."""

from __future__ import annotations

import importlib.util

import pytest

from asap_lab.errors import ConfigError
from asap_lab.space import Categorical, Float, Int, Space
from asap_lab.testing import tools as conf
from asap_lab.tools import available_tools, default_tools, make_tool, resolve_tools

ALL = available_tools()
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("check", conf.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", ALL)
def test_conformance(name: str, check) -> None:
    check(lambda: make_tool(name))


@pytest.mark.parametrize("name", ALL)
def test_one_dimensional_and_categorical_only_spaces(name: str) -> None:
    for space in (Space({"x": Float(0, 1)}), Space({"c": Categorical(["a", "b", "c"])}),
                  Space({"k": Int(0, 3)})):
        conf.check_proposals_in_space(lambda n=name: make_tool(n), space, n=10)


def test_registry_and_default_pool() -> None:
    assert {"tpe", "cmaes", "qmc", "random", "skopt-gp", "skopt-rf", "skopt-et"} <= set(ALL)
    assert ("gp" in ALL) == HAS_TORCH
    assert "random" not in default_tools() and "tpe" in default_tools()
    with pytest.raises(ConfigError, match="unknown tool 'nope'"):
        make_tool("nope")


def test_resolve_tools_seeds_are_distinct_and_reproducible() -> None:
    space = Space({"x": Float(0, 1)})
    a = resolve_tools(["tpe", "random"], space, direction="minimize", seed=3)
    b = resolve_tools(["tpe", "random"], space, direction="minimize", seed=3)
    assert [t.seed_ for t in a] == [t.seed_ for t in b]
    assert a[0].seed_ != a[1].seed_
    with pytest.raises(ConfigError, match="unique"):
        resolve_tools(["tpe", "tpe"], space, direction="minimize", seed=0)
    with pytest.raises(ConfigError, match="non-empty"):
        resolve_tools([], space, direction="minimize", seed=0)


def test_user_tool_passes_conformance() -> None:
    conf.run_conformance(conf.UniformTool)  # a tool written on BaseTool alone


def test_cmaes_learns_from_foreign_trials() -> None:
    """Unlike Optuna's CmaEsSampler, our CMA-ES updates from trials other tools proposed."""
    space = Space({"x": Float(-5, 5), "y": Float(-5, 5)})
    tool = make_tool("cmaes").bind(space, seed=0)
    gen0 = tool._cma.generation
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(tool._cma.population_size):
        c = space.sample(rng)
        tool.tell(conf.make_trial(i, c, c["x"] ** 2 + c["y"] ** 2))
    assert tool._cma.generation == gen0 + 1
