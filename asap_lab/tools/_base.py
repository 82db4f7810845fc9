"""The tool interface: an optimizer that proposes one configuration per round."""

from __future__ import annotations

import abc
import copy
from collections.abc import Iterable
from typing import Any, ClassVar

from asap_lab.space import Space
from asap_lab.trial import Trial, loss_of


class BaseTool(abc.ABC):
    """An optimizer in the pool, driven by ask/tell.

    Subclasses implement :meth:`_setup`, :meth:`ask` and :meth:`tell`. The constructor only
    stores parameters; :meth:`bind` attaches the space and builds the library object, so the
    same configured tool can be bound to several runs. Tools always *minimise* internally: use
    :meth:`loss` to turn a trial into the value to minimise (``None`` for a failed trial).

    Every tool is told every finished trial, whoever proposed it (another tool, a human), so
    ``tell`` must accept configurations it never asked for.
    """

    #: Registry name, e.g. ``"tpe"``; an instance may override it with ``name=``.
    name: ClassVar[str] = "base"
    #: One line on the tool's inductive bias (listings, widget).
    bias: ClassVar[str] = ""
    #: A few sentences for the LLM selector: strengths, failure modes, when to trust it.
    description: ClassVar[str] = ""

    def __init__(self, *, name: str | None = None, seed: int | None = None) -> None:
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.seed = seed

    def bind(self, space: Space, *, direction: str = "minimize", seed: int | None = None) -> BaseTool:
        """Attach the tool to a space; ``seed`` is used when the constructor got none."""
        self.space_ = Space.coerce(space)
        self.direction_ = direction
        self.seed_ = self.seed if self.seed is not None else seed
        self.n_told_ = 0
        self._setup()
        return self

    @abc.abstractmethod
    def _setup(self) -> None:
        """Build the underlying optimizer for ``self.space_`` and ``self.seed_``."""

    @abc.abstractmethod
    def ask(self) -> dict[str, Any]:
        """Propose one configuration inside the space."""

    @abc.abstractmethod
    def tell(self, trial: Trial) -> None:
        """Learn from one finished trial (complete or failed, from any source)."""

    def tell_many(self, trials: Iterable[Trial]) -> None:
        """Learn from several trials (subclasses may batch this)."""
        for t in trials:
            self.tell(t)

    def loss(self, trial: Trial) -> float | None:
        """The value to minimise for ``trial``; None when it failed."""
        return loss_of(trial, self.direction_)

    def fork(self) -> BaseTool:
        """An independent copy (used to tell fantasies without touching the real state)."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, seed={self.seed!r})"
