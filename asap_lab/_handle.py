"""``asap_lab.start``: a study running in a background thread, controlled through a handle.

The documented ipywidgets pattern for long work is a thread (an asyncio task on the kernel loop
starves while a cell blocks), so the run gets a daemon thread; the handle forwards commands to
:class:`~asap_lab.control.Controls` and keeps every event for late observers (a widget created
after the run started replays them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from asap_lab._run import Run
from asap_lab.control import Controls
from asap_lab.events import Event, Listener
from asap_lab.trial import Trial

__all__ = ["RunHandle", "start"]


class RunHandle:
    """Control and observe a background run: pause, resume, stop, override, freeze tau, wait."""

    def __init__(self, objective: Callable[[dict[str, Any]], Any], space: Any, **kwargs: Any) -> None:
        extra = list(kwargs.pop("callbacks", None) or [])
        kwargs.pop("controls", None)
        self.controls = Controls()
        self.events: list[Event] = []
        self.trials: list[Trial] = []
        self._listeners: list[Listener] = list(extra)
        self._lock = threading.Lock()
        self._run: Run | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._args = (objective, space, kwargs)
        self._thread = threading.Thread(target=self._main, name="asap-run", daemon=True)

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> RunHandle:
        self._thread.start()
        return self

    def _on_event(self, ev: Event) -> None:
        with self._lock:
            self.events.append(ev)
            if ev.kind == "trial":
                self.trials.append(ev.data["trial"])
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(ev)
            except Exception:
                with self._lock:
                    if fn in self._listeners:
                        self._listeners.remove(fn)

    def _main(self) -> None:
        from asap_lab._optimize import optimize

        objective, space, kwargs = self._args
        try:
            self._run = optimize(objective, space, controls=self.controls, callbacks=[self._on_event],
                                 **kwargs)
        except BaseException as e:
            self._error = e
            self._on_event(Event("error", {"error": f"{type(e).__name__}: {e}"}))
        finally:
            self._done.set()

    def subscribe(self, fn: Listener, *, replay: bool = True) -> None:
        """Receive future events (and, with ``replay``, every event so far, first)."""
        with self._lock:
            past = list(self.events) if replay else []
            self._listeners.append(fn)
        for ev in past:
            fn(ev)

    # commands --------------------------------------------------------------------------------
    def pause(self) -> None:
        self.controls.pause()

    def resume(self) -> None:
        self.controls.resume()

    def stop(self, wait: bool = False, timeout: float | None = None) -> None:
        self.controls.stop()
        if wait:
            self._done.wait(timeout)

    def override(self, tool_or_config: str | dict[str, Any], note: str = "") -> int:
        return self.controls.override(tool_or_config, note)

    def freeze_tau(self, value: float | None = None) -> None:
        self.controls.freeze_tau(value)

    def unfreeze_tau(self) -> None:
        self.controls.unfreeze_tau()

    # results ---------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Run | None:
        """Wait for the run to end (``None`` if ``timeout`` passed first)."""
        if not self._done.wait(timeout):
            return None
        return self.result()

    def result(self, timeout: float | None = None) -> Run:
        """The finished :class:`Run`; re-raises the run's error; waits up to ``timeout``."""
        if not self._done.wait(timeout):
            raise TimeoutError("the run is still going; call stop() or wait longer")
        if self._error is not None:
            raise self._error
        assert self._run is not None
        return self._run

    def __repr__(self) -> str:
        state = "done" if self.done else ("paused" if self.controls.paused else "running")
        return f"<RunHandle {state}, {len(self.trials)} trials>"


def start(objective: Callable[[dict[str, Any]], Any], space: Any, **kwargs: Any) -> RunHandle:
    """Start :func:`asap_lab.optimize` in a background thread and return its :class:`RunHandle`.

    Takes the same arguments as ``optimize``. The handle's ``pause``/``resume``/``stop``/
    ``override``/``freeze_tau``/``unfreeze_tau`` act on the live run; ``result()`` waits for it.
    Argument errors surface at once (the same checks as ``optimize``, before the thread starts).
    """
    from asap_lab._optimize import check_arguments

    check_arguments(objective, space, kwargs)
    return RunHandle(objective, space, **kwargs).start()
