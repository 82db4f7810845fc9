"""Jupyter front end: the ``%%asap`` cell magic, the live :class:`AsapWidget` and journal replay.

Load with ``%load_ext asap_lab``. Importing this subpackage imports IPython and anywidget; the
core package never does (``asap_lab.load_ipython_extension`` imports this lazily).
"""

from __future__ import annotations

from typing import Any

from asap_lab.notebook._magic import AsapMagics, NotebookRun, start
from asap_lab.notebook._state import RunState
from asap_lab.notebook._widget import AsapWidget, asset_dir, replay

__all__ = [
    "AsapMagics",
    "AsapWidget",
    "NotebookRun",
    "RunState",
    "asset_dir",
    "load_ipython_extension",
    "replay",
    "start",
    "unload_ipython_extension",
]


def load_ipython_extension(ip: Any) -> None:
    """Register ``%%asap`` (registering again replaces it: loading twice is harmless)."""
    ip.register_magics(AsapMagics)


def unload_ipython_extension(ip: Any) -> None:
    """Remove ``%%asap``; runs already started go on."""
    ip.magics_manager.magics["cell"].pop("asap", None)
    ip.magics_manager.registry.pop("AsapMagics", None)
