"""The :class:`Task` base class and the task registry (:func:`get_task`, :func:`list_tasks`)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from asap_lab.errors import ConfigError
from asap_lab.space import Space

__all__ = ["Task", "get_task", "list_tasks", "register"]

Result = float | dict[str, float]


class Task:
    """A benchmark objective over a search space.

    Subclasses set the class attributes, build their space in :meth:`_build_space` and compute
    the objective in :meth:`_evaluate`. Constructors only store parameters (scikit-learn
    style); the space is built on first access and heavy state (datasets) is loaded lazily.
    """

    name: ClassVar[str] = ""
    direction: ClassVar[str] = "minimize"
    optimum: float | None = None
    description: ClassVar[str] = ""

    _space: Space | None = None

    def __init__(self) -> None:
        """Tasks without parameters take no arguments."""

    @property
    def space(self) -> Space:
        """The search space (built once, then cached on the instance)."""
        if self._space is None:
            self._space = self._build_space()
        return self._space

    def _build_space(self) -> Space:  # pragma: no cover - abstract
        raise NotImplementedError

    def _evaluate(self, config: dict[str, Any]) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, config: Mapping[str, Any]) -> Result:
        """Evaluate ``config`` (validated against :attr:`space`; raises ``SpaceError``).

        Returns a float, or a dict with ``"value"`` plus extra metrics.
        """
        return self._evaluate(self.space.validate(config))

    def regret(self, value: float | Mapping[str, Any]) -> float:
        """Distance of ``value`` (or a result dict's ``"value"``) from the known optimum."""
        if self.optimum is None:
            raise ValueError(f"task {self.name!r} has no known optimum, so regret is undefined")
        v = float(value["value"] if isinstance(value, Mapping) else value)
        if not math.isfinite(v):
            return math.inf
        gap = v - self.optimum if self.direction == "minimize" else self.optimum - v
        return abs(gap)

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style; used by ``repr``)."""
        sig = inspect.signature(type(self).__init__)
        names = [p for p in sig.parameters if p != "self"]
        return {p: getattr(self, p) for p in names if hasattr(self, p)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


_REGISTRY: dict[str, type[Task]] = {}
T = TypeVar("T", bound=type[Task])


def register(cls: T) -> T:
    """Class decorator adding a :class:`Task` subclass to the registry under ``cls.name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"task name {cls.name!r} is empty or already registered")
    _REGISTRY[cls.name] = cls
    return cls


def list_tasks() -> list[str]:
    """Names of the registered tasks, sorted."""
    return sorted(_REGISTRY)


def get_task(name: str, **kwargs: Any) -> Task:
    """Instantiate the task registered as ``name`` with constructor ``kwargs``.

    Raises :class:`ConfigError` for an unknown name or arguments the task does not take.
    """
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown task {name!r} (available: {', '.join(list_tasks())})")
    init: Callable[..., Any] = cls.__init__
    try:
        inspect.signature(init).bind(None, **kwargs)
    except TypeError as e:
        raise ConfigError(f"task {name!r}: {e}") from None
    return cls(**kwargs)
