"""The ``%%asap`` cell magic and :class:`NotebookRun`, a handle whose waits obey kernel interrupts."""

from __future__ import annotations

import contextlib
import inspect
import keyword
import threading
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

import asap_lab
from asap_lab.errors import AsapError
from asap_lab.space import Space

__all__ = ["AsapMagics", "NotebookRun", "start"]

START_TIMEOUT_S = 60.0


class NotebookRun:
    """A :class:`~asap_lab.RunHandle` plus its widget; ``wait``/``result`` stop the run cleanly on a
    kernel interrupt (the in-flight trial is recorded) and re-raise ``KeyboardInterrupt``.
    Every other attribute is the handle's (``pause``, ``override``, ``trials``, ``events``, ...)."""

    def __init__(self, handle: asap_lab.RunHandle, widget: Any = None) -> None:
        self.handle = handle
        self.widget = widget

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def _interruptible(self, fn: Callable[[float | None], Any], timeout: float | None) -> Any:
        try:
            # wait in slices so that an interrupt is seen promptly whatever the platform's locks do
            remaining = timeout
            while not self.handle.done and (remaining is None or remaining > 0):
                step = 0.2 if remaining is None else min(0.2, remaining)
                self.handle.wait(step)
                remaining = None if remaining is None else remaining - step
            return fn(0 if timeout is not None else None)
        except KeyboardInterrupt:
            self.handle.stop()
            if self.widget is not None:
                self.widget.state.notice("interrupted: stopping after the evaluation under way", "warn")
            # the scheduler records the in-flight trial, then ends; a second interrupt stops waiting
            with contextlib.suppress(KeyboardInterrupt):
                self.handle.wait()
            raise

    def wait(self, timeout: float | None = None) -> asap_lab.Run | None:
        """Wait for the end (``None`` if ``timeout`` passes first); an interrupt stops the run."""
        return self._interruptible(self.handle.wait, timeout)

    def result(self, timeout: float | None = None) -> asap_lab.Run:
        """The finished run (re-raises its error); an interrupt stops the run."""
        return self._interruptible(self.handle.result, timeout)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget if self.widget is not None else repr(self.handle))

    def __repr__(self) -> str:
        return repr(self.handle)


def start(objective: Callable[[dict[str, Any]], Any], space: Any, *, display: bool = True,
          **kwargs: Any) -> NotebookRun:
    """:func:`asap_lab.start` with a live widget: returns once the run has started.

    Raises the run's startup error (bad arguments, a journal in use, ``speculate=True`` where the
    core lacks it) as the exception itself instead of leaving it in the background thread.
    """
    from asap_lab.notebook._widget import AsapWidget

    handle = asap_lab.start(objective, space, **kwargs)
    started = threading.Event()
    handle.subscribe(lambda ev: started.set() if ev.kind in ("run_start", "error") else None)
    started.wait(START_TIMEOUT_S)
    if handle.done:
        handle.result(0)  # re-raises a startup error (the run may also simply be over already)
    widget = AsapWidget(handle, direction=kwargs.get("direction", "minimize"),
                        n_trials=int(kwargs.get("n_trials", 0)))
    run = NotebookRun(handle, widget)
    if display:
        from IPython.display import display as show

        show(widget)
    return run


def _tools(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise UsageError("--tools needs a comma-separated list of tool names, e.g. --tools tpe,cmaes")
    return names


@magics_class
class AsapMagics(Magics):
    """``%%asap``: optimise the cell's ``objective`` over its ``space`` in the background."""

    @magic_arguments()
    @argument("-n", "--trials", type=int, default=20, help="number of trials (default 20)")
    @argument("--tools", default=None, help="comma-separated tool names (default: the whole pool)")
    @argument("--llm", default=None,
              help="LLM that picks: embedded (default), vllm:<model>, openai:<url>#<model>, or none")
    @argument("--selector", default=None, help="non-LLM selector: ei or round-robin (implies --llm none)")
    @argument("--speculate", dest="speculate", action="store_true", default=None,
              help="speculate the next decision while evaluating")
    @argument("--no-speculate", dest="speculate", action="store_false", help="run serially")
    @argument("--tau", type=float, default=None, help="speculation threshold tau (with --freeze: fixed)")
    @argument("--freeze", action="store_true", help="freeze tau (at --tau, or where it starts)")
    @argument("--journal", default=None, help="journal path (resumes it if it exists)")
    @argument("--name", default="asap_run", help="variable that receives the run handle (default asap_run)")
    @argument("--seed", type=int, default=None, help="random seed")
    @argument("--direction", default="minimize", choices=["minimize", "maximize"],
              help="minimize (default) or maximize")
    @cell_magic
    def asap(self, line: str, cell: str) -> None:
        """Run the cell (it must define ``objective`` and ``space``), then optimise in the background.

        Returns at once: the live widget is displayed and the handle bound to ``--name``
        (``asap_run.pause()``, ``.resume()``, ``.stop()``, ``.override(...)``, ``.wait()``).
        """
        args = parse_argstring(self.asap, line)
        kwargs = self._kwargs(args)
        name = args.name
        old = self.shell.user_ns.get(name)
        if isinstance(old, NotebookRun) and old.running:
            raise UsageError(f"{name} is still running: call {name}.stop() first, or use --name")
        objective, space = self._run_body(cell)
        try:
            run = start(objective, space, display=False, **kwargs)
        except AsapError as e:
            raise UsageError(f"%%asap: {e}") from None
        except OSError as e:  # a journal that cannot be created or opened
            where = f" (journal {kwargs['journal']})" if "journal" in kwargs else ""
            raise UsageError(f"%%asap: could not start{where}: {type(e).__name__}: {e}") from None
        freeze = self._freeze(args)
        if freeze is not None:
            run.freeze_tau(None if freeze is True else freeze)
        self.shell.user_ns[name] = run
        from IPython.display import display

        display(run.widget)

    @staticmethod
    def _freeze(args: Any) -> float | bool | None:
        """Freeze through the handle only where optimize() has no ``freeze_tau`` argument."""
        if args.freeze and "freeze_tau" not in inspect.signature(asap_lab.optimize).parameters:
            return True if args.tau is None else args.tau
        return None

    @staticmethod
    def _kwargs(args: Any) -> dict[str, Any]:
        if not args.name.isidentifier() or keyword.iskeyword(args.name):
            raise UsageError(f"--name must be a Python identifier, got {args.name!r}")
        if args.trials < 1:
            raise UsageError(f"--trials must be a positive integer, got {args.trials}")
        if args.tau is not None and args.tau < 0:
            raise UsageError(f"--tau must be a non-negative number, got {args.tau:g}")
        kw: dict[str, Any] = {"n_trials": args.trials, "direction": args.direction}
        tools = _tools(args.tools)
        if tools is not None:
            kw["tools"] = tools
        llm = args.llm
        if llm is None:
            llm = "none" if args.selector is not None else "embedded"
        if llm.strip().lower() != "none":
            if args.selector is not None:
                raise UsageError("give --llm or --selector, not both (--llm picks with the LLM selector)")
            kw["llm"] = llm
        if args.selector is not None:
            kw["selector"] = args.selector
        if args.speculate is not None:
            kw["speculate"] = args.speculate
        params = inspect.signature(asap_lab.optimize).parameters
        if args.tau is not None:
            if "tau" in params:
                kw["tau"] = args.tau
            elif not args.freeze:
                raise UsageError("--tau without --freeze sets the starting tau, which this version's "
                                 "optimize() does not take; use --freeze --tau X to fix it")
        if args.freeze and "freeze_tau" in params:
            kw["freeze_tau"] = True
        for key in ("journal", "seed"):
            if getattr(args, key) is not None:
                kw[key] = getattr(args, key)
        return kw

    def _run_body(self, cell: str) -> tuple[Any, Any]:
        """Run the cell in the user namespace; it must (re)define ``objective`` and ``space``."""
        ns = self.shell.user_ns
        before = {k: ns.pop(k) for k in ("objective", "space") if k in ns}
        result = self.shell.run_cell(cell, silent=True, store_history=False)
        if not result.success:
            for k, v in before.items():
                ns.setdefault(k, v)
            err = result.error_in_exec or result.error_before_exec
            raise UsageError(f"%%asap: the cell failed ({type(err).__name__}: {err}); nothing started")
        missing = [k for k in ("objective", "space") if k not in ns]
        if missing:
            for k, v in before.items():
                ns.setdefault(k, v)
            raise UsageError(f"%%asap: the cell must define {' and '.join(missing)} "
                             "(objective(config) -> float, space = {name: asap_lab.Float(...), ...})")
        objective, space = ns["objective"], ns["space"]
        if not callable(objective):
            raise UsageError(f"%%asap: objective must be callable (config dict -> float), "
                             f"got {type(objective).__name__}")
        if not isinstance(space, (dict, Space)):
            raise UsageError(f"%%asap: space must be a dict of parameters or an asap_lab.Space, "
                             f"got {type(space).__name__}")
        try:
            Space.coerce(space)
        except AsapError as e:
            raise UsageError(f"%%asap: {e}") from None
        return objective, space
