"""Shared fixtures of the notebook tests: one IPython test shell with the extension loaded."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def ip():
    """IPython's global test shell (``IPython.testing.globalipapp``) with ``%load_ext asap_lab``."""
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "asap_lab")
    return shell


def wait_for(pred: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise AssertionError(f"{what} not reached within {timeout:g} s")
        time.sleep(0.02)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tutorial notebooks (collected by --nbval-lax) run the embedded LLM: mark them slow."""
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
