"""Schedulers that drive rounds: the serial loop (speculation comes in its own module)."""

from asap_lab.scheduler._serial import SerialLoop

__all__ = ["SerialLoop"]
