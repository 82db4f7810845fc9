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
