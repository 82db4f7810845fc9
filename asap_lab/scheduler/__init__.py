"""Schedulers that drive rounds: the serial loop, the speculative scheduler and the parallel loop."""

from asap_lab.scheduler._clock import (
    HybridClock,
    Pending,
    ProcessLane,
    RealClock,
    SimClock,
    SimLane,
    ThreadLane,
)
from asap_lab.scheduler._parallel import ParallelLoop
from asap_lab.scheduler._serial import SerialLoop
from asap_lab.scheduler._speculative import SpeculativeLoop
from asap_lab.scheduler._tuner import SelfTuner, relative_error

__all__ = [
    "HybridClock",
    "ParallelLoop",
    "Pending",
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
