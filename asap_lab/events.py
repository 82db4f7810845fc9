"""Run events: the one-way channel from the scheduler to observers (progress bars, widgets).

Listeners are plain callables ``fn(event)``; they run on the scheduler's thread, so they must
be quick (a widget queues and throttles). A listener that raises is reported once as a warning
and detached; it never breaks the run.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "EventBus", "Listener"]


@dataclass(frozen=True)
class Event:
    """``kind`` is one of run_start, proposals, selection, trial, run_end (more may be added)."""

    kind: str
    data: dict[str, Any]
    time: float = field(default_factory=time.time)


Listener = Callable[[Event], None]


class EventBus:
    """Dispatches events to listeners, isolating their failures."""

    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self._listeners: list[Listener] = list(listeners or [])

    def subscribe(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def emit(self, kind: str, **data: Any) -> None:
        ev = Event(kind, data)
        for fn in list(self._listeners):
            try:
                fn(ev)
            except Exception as e:
                self._listeners.remove(fn)
                warnings.warn(f"event listener {fn!r} raised {type(e).__name__}: {e}; detached",
                              RuntimeWarning, stacklevel=2)
