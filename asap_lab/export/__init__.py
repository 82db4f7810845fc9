"""Export runs to other tools: Optuna storages (SQLite/RDB URL or journal file).

>>> from asap_lab.export import to_optuna, OptunaMirror          # doctest: +SKIP
>>> study = to_optuna("run.jsonl", "sqlite:///runs.db")           # doctest: +SKIP
>>> optimize(..., callbacks=[OptunaMirror("runs.log", "my-run")]) # doctest: +SKIP

See ``docs/export.md`` for the attribute mapping and how to open the result in optuna-dashboard.
"""

from asap_lab.export._mirror import OptunaMirror
from asap_lab.export._optuna import frozen_trial, open_storage, to_optuna, trial_user_attrs

__all__ = ["OptunaMirror", "frozen_trial", "open_storage", "to_optuna", "trial_user_attrs"]
