"""Continuous offline tasks: a seeded pool of points from a synthetic function's box, the low part visible.

``OfflineFunction(problem)`` wraps any queryable problem with a box (the synthetic functions of
``problems.synthetic``): the full data is a pool of ``pool`` points drawn from the space's scrambled
Sobol sequence seeded by ``seed``; the score is the function's value, negated when the function is to be
minimized (offline tasks are maximized); the visible set is the pool's rows with score <= the
``percentile``-th percentile; ``score_range()`` is the pool's ``(min, max)``. The pool's best point is
``y_max``, so a normalized score above 1 means a design better than every pool point (the function's
optimum normalizes far above 1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from problems.offline._common import check_int, check_percentile, check_seed, lower_percentile_mask, safe_rows
from problems.synthetic import Ackley, Rosenbrock, StyblinskiTang
from workbench.errors import InvalidProblemError
from workbench.families.offline import OfflineProblem
from workbench.problem import Problem, Queryable, catalog, validate_problem


class OfflineFunction(OfflineProblem):
    """A queryable problem as an offline task over a seeded pool (see the module docstring).

    ``problem``: the function (queryable); ``pool``: number of pool points; ``percentile``: the visible
    cut; ``seed``: the pool's Sobol scramble; ``name``: default ``offline-{problem.name}``."""

    def __init__(self, problem: Problem, *, pool: int = 8192, percentile: float = 50.0, seed: int = 0,
                 name: str | None = None) -> None:
        owner = "OfflineFunction"
        inner = validate_problem(problem, f"{owner}.problem")
        if not isinstance(inner, Queryable):
            raise InvalidProblemError(f"{owner}.problem must be queryable (have evaluate), but {inner.name!r} has not")
        self.inner = inner
        self.pool = check_int(owner, "pool", pool, 2)
        self.percentile = check_percentile(owner, percentile)
        self.seed = check_seed(owner, seed)
        self.sign = -1.0 if inner.direction == "minimize" else 1.0
        self.name = name or f"offline-{inner.name}"
        self.space = inner.space
        self.optimum = None if inner.optimum is None else self.sign * float(inner.optimum)
        self.optimizers = inner.optimizers
        self.params = {"problem": inner.name, "problem_params": dict(inner.params), "pool": self.pool,
                       "percentile": self.percentile, "seed": self.seed}
        self._pool: tuple[Tensor, Tensor] | None = None
        validate_problem(self, f"problem {self.name!r}")

    def full_data(self) -> tuple[Tensor, Tensor]:
        """The pool: ``pool x dim`` native rows and their scores."""
        if self._pool is None:
            X = self.space.sample(self.pool, self.seed)
            self._pool = X, self.score(X)
        return self._pool

    def visible(self) -> tuple[Tensor, Tensor]:
        X, y = self.full_data()
        keep = lower_percentile_mask(y, self.percentile)
        return X[keep], y[keep]

    def score(self, X: Tensor) -> Tensor:
        rows, inside = safe_rows(self.space, X)
        values = self.sign * self.inner.evaluate(rows).to(torch.float64)
        return torch.where(inside.to(values.device), values, torch.full_like(values, float("nan")))

    def score_range(self) -> tuple[float, float]:
        _, y = self.full_data()
        return float(y.min()), float(y.max())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "inner": self.inner.describe()}


@catalog.register("offline-ackley32")
class OfflineAckley32(OfflineFunction):
    """Ackley in 32-D as an offline task: 8192 Sobol points, the worse half visible."""

    def __init__(self, **options: Any) -> None:
        super().__init__(Ackley(dim=32), **{"name": "offline-ackley32", **options})


@catalog.register("offline-rosenbrock20")
class OfflineRosenbrock20(OfflineFunction):
    """Rosenbrock in 20-D as an offline task: 8192 Sobol points, the worse half visible."""

    def __init__(self, **options: Any) -> None:
        super().__init__(Rosenbrock(dim=20), **{"name": "offline-rosenbrock20", **options})


@catalog.register("offline-styblinskitang50")
class OfflineStyblinskiTang50(OfflineFunction):
    """Styblinski-Tang in 50-D as an offline task: 8192 Sobol points, the worse half visible."""

    def __init__(self, **options: Any) -> None:
        super().__init__(StyblinskiTang(dim=50), **{"name": "offline-styblinskitang50", **options})
