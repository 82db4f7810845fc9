"""Benchmark tasks: synthetic functions with known optima, real scikit-learn training runs, and
tabular benchmarks (recorded grids of real training runs; ``asap_lab.tasks.tabular``).

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
from asap_lab.tasks.tabular import TabularTask, load_table

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
    "TabularTask",
    "Task",
    "get_task",
    "list_tasks",
    "load_table",
]
