"""Human control of a running study: a thread-safe command queue into the scheduler.

Observers (the notebook widget, a :class:`RunHandle`, any thread) call :meth:`Controls.pause`,
``resume``, ``stop``, ``override``, ``freeze_tau``, ``unfreeze_tau``; the scheduler polls them
between rounds. An override applies to exactly one round: the next decision, or the one after if
a decision is already under way. Nothing here imports Jupyter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Controls", "Override"]


@dataclass(frozen=True)
class Override:
    """A human pick for one round: a tool name (take its proposal) or a full configuration."""

    tool: str | None = None
    config: dict[str, Any] | None = None
    note: str = ""
    id: int = 0


@dataclass
class Controls:
    """Commands from observers to the scheduler; every method is thread-safe."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _resume: threading.Event = field(default_factory=threading.Event, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _overrides: list[Override] = field(default_factory=list, repr=False)
    _next_id: int = 1
    tau_frozen: bool = False
    tau_value: float | None = None

    def __post_init__(self) -> None:
        self._resume.set()

    # observer side ---------------------------------------------------------------------------
    def pause(self) -> None:
        """Finish the evaluation under way, then wait before starting another."""
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def stop(self) -> None:
        """End the run after the evaluation under way is recorded (none is left running)."""
        self._stop.set()
        self._resume.set()

    def override(self, tool_or_config: str | dict[str, Any], note: str = "") -> int:
        """Queue a human pick for the next round; returns its id. A config is validated into the
        space by the scheduler (an invalid one is rejected with an event, nothing is lost)."""
        if isinstance(tool_or_config, str):
            ov = Override(tool=tool_or_config, note=note)
        elif isinstance(tool_or_config, dict):
            ov = Override(config=dict(tool_or_config), note=note)
        else:
            kind = type(tool_or_config).__name__
            raise TypeError(f"override takes a tool name or a config dict, not {kind}")
        with self._lock:
            ov = Override(ov.tool, ov.config, ov.note, self._next_id)
            self._next_id += 1
            self._overrides.append(ov)
        return ov.id

    def freeze_tau(self, value: float | None = None) -> None:
        """Freeze the speculation threshold (at ``value``, or where it is now)."""
        if value is not None and not (isinstance(value, (int, float)) and value >= 0):
            raise ValueError(f"tau must be a non-negative number, got {value!r}")
        with self._lock:
            self.tau_frozen = True
            self.tau_value = None if value is None else float(value)

    def unfreeze_tau(self) -> None:
        with self._lock:
            self.tau_frozen = False
            self.tau_value = None

    # scheduler side --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, timeout_s: float | None = None) -> None:
        """Block while paused (returns at once when not paused or when stopped)."""
        self._resume.wait(timeout_s)

    def take_override(self) -> Override | None:
        """Pop the oldest pending override (each is handed out exactly once)."""
        with self._lock:
            return self._overrides.pop(0) if self._overrides else None

    @property
    def pending_overrides(self) -> int:
        with self._lock:
            return len(self._overrides)
