"""Optuna's samplers as solvers, driven through ask-and-tell on a private in-memory Optuna study.

The recording storage is separate and solver-agnostic (see :mod:`workbench.recorder`); the sampler's
own study only holds what the sampler needs, and is rebuilt from the recorded history on resume.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from workbench.families.blackbox import BlackBoxSolver, SolverRun
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.validation import check_choice, check_int, check_positive


@dataclass(frozen=True, kw_only=True)
class OptunaSolver(BlackBoxSolver):
    """Base of the Optuna adapters: subclasses say how to build the sampler from the cell's seed."""

    @abstractmethod
    def make_sampler(self, seed: int) -> Any:
        """An ``optuna.samplers.BaseSampler`` seeded with ``seed``."""

    def start(self, cell: CellContext) -> SolverRun:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature warnings are not the user's business here
            sampler = self.make_sampler(cell.seed)
        return _OptunaRun(sampler, cell)


class _OptunaRun(SolverRun):
    def __init__(self, sampler: Any, cell: CellContext) -> None:
        import optuna

        self._optuna = optuna
        self.space = cell.space
        self.device = cell.device
        self.distributions = cell.space.optuna_distributions()
        self.study = optuna.create_study(sampler=sampler, direction="minimize")
        self.pending: dict[int, Tensor] = {}  # trial number -> native row, asked and not yet told

    def ask(self, n: int) -> Tensor:
        # points asked earlier and never told failed: the sampler must not wait on them
        for number in list(self.pending):
            self.study.tell(number, state=self._optuna.trial.TrialState.FAIL)
        self.pending.clear()
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(n):
                trial = self.study.ask(self.distributions)
                row = self.space.encode([self.space.from_optuna_params(trial.params)])[0]
                self.pending[trial.number] = row
                rows.append(row)
        return torch.stack(rows).to(self.device)

    def tell(self, X: Tensor, y: Tensor) -> None:
        X = X.detach().to("cpu", torch.float64)
        values = y.detach().to("cpu", torch.float64).tolist()
        for row, value in zip(X, values):
            number = next((k for k, r in self.pending.items() if torch.equal(r, row)), None)
            if number is not None:
                del self.pending[number]
                self.study.tell(number, value)
            else:  # a recorded evaluation from before a resume
                params = self.space.to_optuna_params(self.space.decode(row[None])[0])
                self.study.add_trial(
                    self._optuna.trial.create_trial(params=params, distributions=self.distributions, value=value)
                )


@solvers.register("optuna-tpe")
@dataclass(frozen=True, kw_only=True)
class OptunaTPE(OptunaSolver):
    """Optuna's tree-structured Parzen estimator (``TPESampler``)."""

    #: random trials before the density models take over
    n_startup_trials: int = 10
    #: model parameters jointly rather than one at a time
    multivariate: bool = False
    #: treat pending trials as bad while others run (useful with batch_size > 1)
    constant_liar: bool = False

    def __post_init__(self) -> None:
        check_int(self, "n_startup_trials", self.n_startup_trials, 0)

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=self.n_startup_trials,
            multivariate=self.multivariate,
            constant_liar=self.constant_liar,
        )


@solvers.register("optuna-cmaes")
@dataclass(frozen=True, kw_only=True)
class OptunaCmaEs(OptunaSolver):
    """Optuna's CMA-ES (``CmaEsSampler``, backed by the ``cmaes`` package)."""

    #: initial step size; None lets Optuna choose (a sixth of the smallest range)
    sigma0: float | None = None
    #: population size; None lets CMA-ES choose (4 + 3 ln d)
    popsize: int | None = None
    #: random trials before CMA-ES starts
    n_startup_trials: int = 1
    #: use separable (diagonal) CMA-ES
    use_separable_cma: bool = False
    #: CMA-ES with margin, for integer parameters
    with_margin: bool = False

    def __post_init__(self) -> None:
        check_int(self, "n_startup_trials", self.n_startup_trials, 0)
        check_int(self, "popsize", self.popsize, 2, optional=True)
        check_positive(self, "sigma0", self.sigma0, optional=True)

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.CmaEsSampler(
            seed=seed,
            sigma0=self.sigma0,
            popsize=self.popsize,
            n_startup_trials=self.n_startup_trials,
            use_separable_cma=self.use_separable_cma,
            with_margin=self.with_margin,
            warn_independent_sampling=False,
        )


@solvers.register("optuna-gp")
@dataclass(frozen=True, kw_only=True)
class OptunaGP(OptunaSolver):
    """Optuna's Gaussian-process Bayesian optimization (``GPSampler``, log EI)."""

    #: random trials before the GP takes over
    n_startup_trials: int = 10
    #: the objective is noise-free (fixes the GP's noise variance at a small value)
    deterministic_objective: bool = False

    def __post_init__(self) -> None:
        check_int(self, "n_startup_trials", self.n_startup_trials, 0)

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.GPSampler(
            seed=seed,
            n_startup_trials=self.n_startup_trials,
            deterministic_objective=self.deterministic_objective,
        )


@solvers.register("optuna-qmc")
@dataclass(frozen=True, kw_only=True)
class OptunaQMC(OptunaSolver):
    """Optuna's quasi-Monte Carlo sampler (``QMCSampler``)."""

    #: "sobol" or "halton"
    qmc_type: str = "sobol"
    #: scramble the sequence with the seed
    scramble: bool = True

    def __post_init__(self) -> None:
        check_choice(self, "qmc_type", self.qmc_type, ("sobol", "halton"))

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.QMCSampler(
            seed=seed, qmc_type=self.qmc_type, scramble=self.scramble, warn_independent_sampling=False
        )
