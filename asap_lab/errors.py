"""Exceptions raised by asap_lab: each carries one clear, user-facing line."""

from __future__ import annotations

__all__ = ["AsapError", "ConfigError", "JournalError", "SpaceError"]


class AsapError(Exception):
    """Base class of every error asap_lab raises on purpose."""


class SpaceError(AsapError, ValueError):
    """A search space, or a configuration checked against it, is invalid."""


class ConfigError(AsapError, ValueError):
    """An argument to :func:`asap_lab.optimize` (or the CLI) is invalid."""


class JournalError(AsapError, RuntimeError):
    """A journal file cannot be read or does not match the run."""
