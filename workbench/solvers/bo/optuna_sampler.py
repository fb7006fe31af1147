"""The ``bo-*`` surrogates as an Optuna sampler, for a plain ``optuna.create_study(sampler=...)``::

    import optuna
    from workbench.solvers.bo.optuna_sampler import BoSampler

    study = optuna.create_study(sampler=BoSampler("bo-hmc", seed=0))
    study.optimize(objective, n_trials=50)

Parameters present in every completed trial (Optuna's intersection search space) are modelled jointly:
float and int distributions (log scale honoured; one with a ``step`` is modelled as the integer index of its
grid) and categorical ones; the first ``n_startup_trials`` trials (at least one) are sampled by
``independent_sampler`` (random by default). Single-objective studies only. The sampler keeps no history of
its own: each call re-reads the study. It passes Optuna's own sampler test cases
(``optuna.testing.pytest_samplers``; tests/solvers/test_optuna_sampler_suite.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from workbench.errors import InvalidConfigError
from workbench.solvers import resolve_solver
from workbench.solvers.bo.core import propose
from workbench.solvers.bo.encoding import Encoding
from workbench.solvers.bo.solver import BayesOpt
from workbench.space import Categorical, Integer, Real, Space
from workbench.validation import check_int


class BoSampler(BaseSampler):
    """Bayesian optimization with a workbench surrogate: ``solver`` is a ``bo-*`` name or a
    :class:`~workbench.solvers.bo.BayesOpt` declaration (its surrogate and acquisition options are used)."""

    def __init__(self, solver: str | BayesOpt = "bo-gp", *, seed: int | None = None, n_startup_trials: int = 10,
                 independent_sampler: BaseSampler | None = None) -> None:
        declared = resolve_solver(solver)
        if not isinstance(declared, BayesOpt):
            raise InvalidConfigError(f"BoSampler.solver must be a bo-* solver, but got solver={solver!r}")
        check_int("BoSampler", "n_startup_trials", n_startup_trials, 0)
        self.solver = declared
        self.seed = int(seed) if seed is not None else int.from_bytes(os.urandom(4), "little") >> 1
        self.n_startup_trials = n_startup_trials
        self._independent = independent_sampler or RandomSampler(seed=self.seed)
        self._intersection = IntersectionSearchSpace()
        self._state: dict[str, Any] = {}

    def reseed_rng(self) -> None:
        self._independent.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._intersection.calculate(study)
        return {name: d for name, d in space.items() if not d.single() and _supported(d)}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        _single_objective(study)
        if not search_space:
            return {}
        trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                  if all(n in t.params for n in search_space)]
        if len(trials) < max(1, self.n_startup_trials):
            return {}
        names = sorted(search_space)
        dists = [search_space[n] for n in names]
        space = _space(dists)
        records = [{f"p{i}": _to_index(t.params[n], d) for i, (n, d) in enumerate(zip(names, dists))} for t in trials]
        sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
        X = space.encode(records)
        y = X.new_tensor([sign * float(t.value) for t in trials])
        seed = (self.seed * 1_000_003 + len(trials)) % (2**31 - 1)
        row = propose(self.solver.acquisition, self.solver.surrogate, Encoding(space), X, y, 1, seed=seed,
                      state=self._state, label=f"BoSampler({self.solver.label})")
        record = space.decode(row)[0]
        return {n: _from_index(record[f"p{i}"], d) for i, (n, d) in enumerate(zip(names, dists))}

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        _single_objective(study)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)


def _single_objective(study: Study) -> None:
    if len(study.directions) != 1:
        raise InvalidConfigError("BoSampler supports single-objective studies only")


def _supported(d: BaseDistribution) -> bool:
    return isinstance(d, (FloatDistribution, IntDistribution, CategoricalDistribution))


def _gridded(d: BaseDistribution) -> bool:
    """A float distribution with a step, or an int one with a step above 1: modelled by its grid index."""
    return isinstance(d, (FloatDistribution, IntDistribution)) and d.step is not None and d.step != 1


def _steps(d: FloatDistribution | IntDistribution) -> int:
    return int(round((d.high - d.low) / d.step))


def _to_index(value: Any, d: BaseDistribution) -> Any:
    return int(round((value - d.low) / d.step)) if _gridded(d) else value  # type: ignore[attr-defined]


def _from_index(value: Any, d: BaseDistribution) -> Any:
    if not _gridded(d):
        return value
    x = d.low + int(value) * d.step  # type: ignore[attr-defined]
    return int(x) if isinstance(d, IntDistribution) else float(min(x, d.high))  # type: ignore[attr-defined]


def _space(distributions: Sequence[BaseDistribution]) -> Space:
    params = []
    for i, d in enumerate(distributions):
        if _gridded(d):
            params.append(Integer(f"p{i}", 0, _steps(d)))  # type: ignore[arg-type]
        elif isinstance(d, FloatDistribution):
            params.append(Real(f"p{i}", float(d.low), float(d.high), log=d.log))
        elif isinstance(d, IntDistribution):
            params.append(Integer(f"p{i}", int(d.low), int(d.high), log=d.log))
        else:
            params.append(Categorical(f"p{i}", tuple(d.choices)))
    return Space(*params)


__all__ = ["BoSampler"]
