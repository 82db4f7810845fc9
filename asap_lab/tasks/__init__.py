"""Benchmark tasks: synthetic functions with known optima and real scikit-learn training runs.

>>> from asap_lab.tasks import get_task
>>> task = get_task("branin")
>>> round(task({"x0": 3.141592653589793, "x1": 2.275}), 6)
0.397887
"""

from asap_lab.tasks._base import Task, get_task, list_tasks
from asap_lab.tasks._sklearn import (
    HGBDigits,
    MLPDigits,
    RFBreastCancer,
    RidgeDiabetes,
    SklearnTask,
    SVCClassification,
)
from asap_lab.tasks._synthetic import Ackley, Branin, Hartmann6, Mixed, Rosenbrock

__all__ = [
    "Ackley",
    "Branin",
    "HGBDigits",
    "Hartmann6",
    "MLPDigits",
    "Mixed",
    "RFBreastCancer",
    "RidgeDiabetes",
    "Rosenbrock",
    "SVCClassification",
    "SklearnTask",
    "Task",
    "get_task",
    "list_tasks",
]
