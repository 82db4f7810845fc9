"""Optuna samplers as tools: TPE, QMC (Sobol), random search and Optuna's GP (needs torch).

Each tool owns an in-memory study that holds exactly the run's finished trials (added with
``Study.add_trial``). A proposal is drawn with ``Study.ask`` and the probe trial is closed as
FAIL straight away, which Optuna's samplers ignore; real failures are added as FAIL as well.
"""

from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.trial import TrialState as OptunaState
from optuna.trial import create_trial

from asap_lab.tools._base import BaseTool
from asap_lab.trial import Trial

optuna.logging.set_verbosity(optuna.logging.WARNING)


class OptunaTool(BaseTool):
    """Base for tools wrapping an Optuna sampler."""

    def _make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    #: Draws per ask while the sampler repeats an evaluated configuration (QMC after a resume
    #: restarts its sequence; TPE can repeat small discrete spaces).
    max_redraws = 8

    def _setup(self) -> None:
        self._dists = self.space_.to_optuna()
        self._study = optuna.create_study(direction="minimize", sampler=self._make_sampler(self.seed_))
        self._seen: set[str] = set()

    def ask(self) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(self.max_redraws):
                probe = self._study.ask(self._dists)
                params = dict(probe.params)
                self._study.tell(probe, state=OptunaState.FAIL)
                if _key(params) not in self._seen:
                    break
        return params

    def tell(self, trial: Trial) -> None:
        loss = self.loss(trial)
        frozen = create_trial(
            params=dict(trial.params),
            distributions=self._dists,
            value=loss,
            state=OptunaState.COMPLETE if loss is not None else OptunaState.FAIL,
            user_attrs={"asap_number": trial.number, "asap_tool": trial.tool},
        )
        self._study.add_trial(frozen)
        self._seen.add(_key(trial.params))
        self.n_told_ += 1


def _key(params: dict[str, Any]) -> str:
    return repr(sorted(params.items()))


class _ModelTool(OptunaTool):
    """An Optuna tool with a model that samples randomly for its first ``n_startup_trials``."""

    def __init__(self, *, n_startup_trials: int = 8, name: str | None = None, seed: int | None = None):
        super().__init__(name=name, seed=seed)
        self.n_startup_trials = n_startup_trials


class TPETool(_ModelTool):
    """Optuna's multivariate Tree-structured Parzen Estimator."""

    name = "tpe"
    bias = "density ratio of good vs bad trials (multivariate TPE); exploits modes, handles categoricals"
    description = (
        "Splits the history into good and bad trials and proposes points that are likely under the "
        "good ones. Strong on mixed and categorical spaces and on multimodal landscapes; it keeps "
        "returning to the best modes. Weak at fine local refinement, and random during its first "
        "8 trials."
    )

    def _make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                multivariate=True, n_startup_trials=self.n_startup_trials, seed=seed
            )


class QMCTool(OptunaTool):
    """Optuna's quasi-Monte-Carlo sampler (scrambled Sobol): space filling, ignores results."""

    name = "qmc"
    bias = "scrambled Sobol sequence: even space-filling exploration, ignores results"
    description = (
        "Fills the space evenly with a low-discrepancy sequence and never looks at results. Best "
        "early, when little is known, or to escape a stagnating run; almost never the right pick "
        "late in a run."
    )

    def _make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)


class RandomTool(OptunaTool):
    """Optuna's random sampler: the reference tool, uniform (log-uniform) sampling."""

    name = "random"
    bias = "uniform random sampling: unbiased exploration, ignores results"
    description = (
        "Samples uniformly (log-uniformly on log scales) and ignores results: an unbiased "
        "explorer and a baseline every model-based optimizer should beat."
    )

    def _make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)


class OptunaGPTool(_ModelTool):
    """Optuna's Gaussian-process sampler (log EI); needs torch."""

    name = "gp"
    bias = "Gaussian process with Matern kernel and log-EI (Optuna): smooth global model, sample-efficient"
    description = (
        "Fits a Gaussian process and maximizes log expected improvement. Very sample-efficient on "
        "smooth, low-dimensional continuous problems; can over-exploit and is slower with many "
        "trials or many categorical choices."
    )

    def _make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.n_startup_trials)
