"""Search spaces: :class:`Float`, :class:`Int`, :class:`Categorical` and :class:`Space`."""

from asap_lab.space._params import Categorical, Float, Int, Param
from asap_lab.space._space import Space

__all__ = ["Categorical", "Float", "Int", "Param", "Space"]
