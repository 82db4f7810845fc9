"""``AsapWidget``: the live view of a run, with human controls (anywidget; JS in ``widgets/``).

Events arrive on the run's thread and only update a :class:`RunState` (cheap, under a lock);
a daemon flusher thread copies the state into the synced traitlets at most ``1/interval`` times
a second. Buttons in the browser send custom messages (``{"cmd": ...}``) that are handled here
by calling the :class:`~asap_lab.RunHandle`'s thread-safe methods.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from asap_lab.events import Event
from asap_lab.notebook._state import RunState, params_text

__all__ = ["AsapWidget", "asset_dir", "replay"]


def asset_dir() -> Path:
    """Folder holding ``asap_widget.js``/``.css``: shipped in the package (``_widgets``, a link to
    the repository's ``widgets/`` folder in a source checkout), else that folder itself."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_widgets", here.parents[1] / "widgets"):
        if (cand / "asap_widget.js").is_file():
            return cand
    raise FileNotFoundError(f"asap_widget.js not found next to {here} (broken install?)")


_ASSETS = asset_dir()


class AsapWidget(anywidget.AnyWidget):
    """Live (or replayed) view of a run: round, proposals with their evidence, the pick and its
    rationale, speculation log, KV-cache hit rate, best-value charts, time decomposition, controls."""

    _esm = _ASSETS / "asap_widget.js"
    _css = _ASSETS / "asap_widget.css"

    info = traitlets.Dict().tag(sync=True)
    round_view = traitlets.Dict().tag(sync=True)
    trials = traitlets.List().tag(sync=True)
    speculation = traitlets.List().tag(sync=True)
    timing = traitlets.Dict().tag(sync=True)
    notices = traitlets.List().tag(sync=True)
    view_round = traitlets.Int(-1).tag(sync=True)  # set by the browser: -1 follows the live round
    controls = traitlets.Bool(True).tag(sync=True)  # False: a replay, no buttons

    def __init__(self, handle: Any = None, *, direction: str = "minimize", n_trials: int = 0,
                 interval: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = RunState(direction, n_trials)
        self.handle = handle
        self.interval = max(float(interval), 0.1)  # at most 10 flushes a second
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        self._controls_seen: tuple[Any, ...] = ()
        self.on_msg(self._on_msg)
        self.observe(self._on_view_round, names="view_round")
        self._flush_lock = threading.Lock()
        if handle is None:
            self.controls = False
        else:
            handle.subscribe(self.state.apply, replay=True)
        self.flush()
        if handle is not None:
            self._flusher = threading.Thread(target=self._loop, name="asap-widget", daemon=True)
            self._flusher.start()

    # state -> traitlets ----------------------------------------------------------------------
    def _on_view_round(self, _change: Any) -> None:
        """The browser browses rounds: the flusher shows it, or (run over, replay) flush now."""
        self._mark()
        if self._flusher is None or not self._flusher.is_alive():
            self.flush()

    def _mark(self) -> None:
        with self.state.lock:
            self.state.dirty = True

    def push(self, *events: Event) -> None:
        """Fold events in by hand (a replay, a test) and show them at once."""
        for ev in events:
            self.state.apply(ev)
        self.flush()

    def _poll_controls(self) -> None:
        """Notice changes made through the handle directly (``asap_run.freeze_tau(...)`` in a cell)."""
        c = self.handle.controls
        seen = (c.paused, c.stopped, c.tau_frozen, c.tau_value, c.pending_overrides)
        if seen != self._controls_seen:
            self._controls_seen = seen
            st = self.state
            with st.lock:
                if c.tau_frozen or st.tau.get("frozen"):
                    tau = c.tau_value if c.tau_frozen else st.tau.get("tau")
                    st.tau = {"tau": tau, "frozen": c.tau_frozen}
                if c.stopped and not st.finished:
                    st.stop_requested = True
                    st.status = "stopping"
                elif c.paused and st.status == "running":
                    st.status = "pausing"
                elif not c.paused and st.status in ("pausing", "paused"):
                    st.status = "running"
                st.dirty = True

    def flush(self) -> None:
        """Copy the state into the synced traitlets (one batched message)."""
        with self._flush_lock:
            snap = self.state.snapshot(self.view_round)
            with self.hold_sync():
                for name, value in snap.items():
                    if getattr(self, name) != value:
                        setattr(self, name, value)

    def _loop(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                self._poll_controls()
                if self.state.dirty:
                    self.flush()
                if self.state.finished and not self.state.dirty:
                    self.flush()
                    return
            except Exception as e:  # never let the view kill itself silently in a loop
                self.state.notice(f"widget update failed: {type(e).__name__}: {e}", "error")
                return

    def close(self) -> None:
        self._closed.set()
        super().close()

    # browser -> handle -----------------------------------------------------------------------
    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        try:
            self.command(content)
        except Exception as e:
            self.state.notice(f"{type(e).__name__}: {e}", "error")
        self._mark()

    def command(self, content: dict[str, Any]) -> None:
        """Carry out one control message from the browser (also callable from Python)."""
        cmd = content.get("cmd")
        h = self.handle
        st = self.state
        if h is None:
            raise RuntimeError("this widget replays a finished run: nothing to control")
        if cmd == "pause":
            h.pause()
            st.notice("pause requested: the evaluation under way finishes first")
        elif cmd == "resume":
            h.resume()
            st.notice("resumed")
        elif cmd == "stop":
            with st.lock:
                st.stop_requested = True
            h.stop()
            st.notice("stop requested: the evaluation under way is recorded, then the run ends")
        elif cmd == "override_tool":
            tool = str(content.get("tool", ""))
            oid = h.override(tool, note=str(content.get("note", "") or "picked in the widget"))
            st.notice(f"override #{oid} queued: {tool}'s proposal for the next round")
        elif cmd == "override_config":
            text = str(content.get("config", "")).strip()
            try:
                config = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"configuration is not JSON ({e.msg}): {text[:60]!r}") from None
            if not isinstance(config, dict):
                raise ValueError('configuration must be a JSON object like {"x": 1.0}')
            oid = h.override(config, note="typed in the widget")
            st.notice(f"override #{oid} queued: {params_text(config)} for the next round")
        elif cmd == "freeze_tau":
            raw = content.get("tau")
            value = None if raw in (None, "") else float(raw)
            h.freeze_tau(value)
            st.notice(f"tau frozen at {value:g}" if value is not None else "tau frozen where it is")
        elif cmd == "unfreeze_tau":
            h.unfreeze_tau()
            st.notice("tau unfrozen: the self-tuner adapts it again")
        else:
            raise ValueError(f"unknown widget command {cmd!r}")

    # replay ----------------------------------------------------------------------------------
    @classmethod
    def from_journal(cls, path: str | os.PathLike[str]) -> AsapWidget:
        """A read-only widget showing a finished journal: browse every round's proposals and picks."""
        from asap_lab.journal import read_journal
        from asap_lab.selectors import Selection

        contents = read_journal(path)
        header = contents.header or {}
        trials = contents.trials
        w = cls(direction=header.get("direction", "minimize"), n_trials=len(trials))
        st = w.state
        t0 = trials[0].start - trials[0].timings.get("exposed_s", 0.0) if trials else 0.0
        events = [Event("run_start", {"n_trials": len(trials), "resumed": 0,
                                      "tools": list(header.get("tools", []))}, t0)]
        for tr in trials:
            sel = Selection(tr.tool, tr.rationale, tr.picked_by, meta=dict(tr.decision))
            events += [Event("proposals", {"number": tr.number, "proposals": list(tr.proposals)}, tr.start),
                       Event("selection", {"number": tr.number, "selection": sel}, tr.start),
                       Event("trial", {"trial": tr}, tr.end)]
        events += [Event("speculation", rec, t0) for rec in contents.records if rec.get("type") == "spec"]
        w.push(*events)
        with st.lock:
            st.status, st.finished = "replay", True
            st._notice(f"replay of {path} ({len(trials)} trials)", "info")
        w.flush()
        return w

    def __repr__(self) -> str:
        return f"<AsapWidget {self.info.get('status', '?')}, {len(self.trials)} trials>"


def replay(journal_path: str | os.PathLike[str]) -> AsapWidget:
    """Show a finished journal in the widget (see :meth:`AsapWidget.from_journal`)."""
    return AsapWidget.from_journal(journal_path)
