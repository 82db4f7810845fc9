"""Schedulers that drive rounds: the serial loop and the speculative scheduler."""

from asap_lab.scheduler._clock import ProcessLane, RealClock, SimClock, SimLane, ThreadLane
from asap_lab.scheduler._serial import SerialLoop
from asap_lab.scheduler._speculative import SpeculativeLoop
from asap_lab.scheduler._tuner import SelfTuner, relative_error

__all__ = [
    "ProcessLane",
    "RealClock",
    "SelfTuner",
    "SerialLoop",
    "SimClock",
    "SimLane",
    "SpeculativeLoop",
    "ThreadLane",
    "relative_error",
]
