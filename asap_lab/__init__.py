"""asap_lab: LLM-assisted hyperparameter optimization, fast in wall-clock."""

from asap_lab._handle import RunHandle, start
from asap_lab._optimize import optimize
from asap_lab._run import Run
from asap_lab.control import Controls
from asap_lab.errors import AsapError, ConfigError, JournalError, SpaceError
from asap_lab.space import Categorical, Float, Int, Space
from asap_lab.trial import Proposal, Trial, TrialState

__all__ = [
    "AsapError",
    "Categorical",
    "ConfigError",
    "Controls",
    "Float",
    "Int",
    "JournalError",
    "Proposal",
    "Run",
    "RunHandle",
    "Space",
    "SpaceError",
    "Trial",
    "TrialState",
    "optimize",
    "start",
]
__version__ = "0.1.0"


def load_ipython_extension(ip: object) -> None:
    """``%load_ext asap_lab``: register the ``%%asap`` cell magic (imports Jupyter only now)."""
    from asap_lab.notebook import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip: object) -> None:
    """``%unload_ext asap_lab``: remove the ``%%asap`` cell magic."""
    from asap_lab.notebook import unload_ipython_extension as unload

    unload(ip)
