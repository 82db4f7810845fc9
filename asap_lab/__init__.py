"""asap_lab: LLM-assisted hyperparameter optimization, fast in wall-clock."""

from asap_lab.space import Categorical, Float, Int, Space

__all__ = ["Categorical", "Float", "Int", "Space"]
__version__ = "0.1.0"
