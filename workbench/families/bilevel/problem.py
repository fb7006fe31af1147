"""Bilevel problems: hyperparameters θ, a lower-level objective ``h(x, θ)`` and an upper-level ``g(x)``.

A bilevel problem is::

    min_θ  F(θ) = g(x̂(θ))    where    x̂(θ) = argmin_x h(x, θ)

``θ`` lives in the problem's :class:`~workbench.space.Space` (reals only, usually logarithms of weights),
``x`` is one torch tensor of any shape (an image, a weight matrix). Gradients and Hessian-vector products
come from autograd; solvers reach them only through the family's counted
:class:`~workbench.families.bilevel.oracle.Oracle`, never through the problem.

What a problem knows of its lower level: ``strongly_convex`` (then :meth:`BilevelProblem.mu` and
:meth:`BilevelProblem.smoothness` give ``μ(θ)`` and ``L(θ)`` of ``h`` in ``x``, and a lower-level iterate's
distance to ``x̂(θ)`` can be certified: ``‖x - x̂‖ <= ‖∇ₓh(x)‖ / μ``), or not (then only the methods that
need no certificate run on it, and its lower level is solved by :meth:`BilevelProblem.solve`'s own rule).

The test metric (:meth:`BilevelProblem.report`: PSNR, test accuracy) is the family's to compute after each
step; no solver sees it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.families.bilevel.axes import ADJOINT, LOWER, SOLVER_SECONDS, UPPER
from workbench.problem import Problem, validate_problem
from workbench.space import Real


class BilevelProblem(Problem):
    """Base of bilevel problems. Subclasses set ``name``, ``space`` (reals), ``theta0`` (a record or a
    sequence of values, inside the space), ``strongly_convex`` and the tolerances, and implement
    :meth:`x0`, :meth:`lower`, :meth:`upper` and, when strongly convex, :meth:`mu` and :meth:`smoothness`.

    A problem whose data depend on the cell's seed (a noise draw, a data split) builds them in
    :meth:`bind`; every tensor attribute moves to the run's device with :meth:`to`."""

    family: ClassVar[str] = "bilevel"
    direction = "minimize"
    #: the initial hyperparameters (a record of the space, or its values in order)
    theta0: Mapping[str, float] | Sequence[float] = ()
    #: ``h(·, θ)`` is μ(θ)-strongly convex and L(θ)-smooth in ``x`` for every θ of the space
    strongly_convex: bool = True
    #: the certified accuracy ``‖x - x̂(θ)‖`` to which a black-box query solves the lower level
    lower_tol: float = 1e-3
    #: the accuracy of the family's scoring solve (the recorded upper-level loss); uncounted
    score_tol: float = 1e-6
    #: most iterations of one lower-level solve (a solve that does not reach its tolerance within them fails)
    max_lower_iterations: int = 100_000

    # ------------------------------------------------------------------------------------------ the problem
    def x0(self) -> Tensor:
        """The initial lower-level variable (float64, on the problem's device)."""
        raise NotImplementedError

    def lower(self, x: Tensor, theta: Tensor) -> Tensor:
        """``h(x, θ)``: a scalar, differentiable in ``x`` and ``θ`` (``θ`` a ``dim`` float64 tensor)."""
        raise NotImplementedError

    def upper(self, x: Tensor) -> Tensor:
        """``g(x)``: a scalar, differentiable in ``x`` (on validation data; never the test split)."""
        raise NotImplementedError

    def mu(self, theta: Tensor) -> float:
        """The strong convexity constant of ``h(·, θ)`` (strongly convex problems)."""
        raise NotImplementedError

    def smoothness(self, theta: Tensor) -> float:
        """The Lipschitz constant ``L(θ)`` of ``∇ₓh(·, θ)`` (strongly convex problems)."""
        raise NotImplementedError

    def upper_smoothness(self) -> float | None:
        """The Lipschitz constant of ``∇g`` where known (tightens MAID's bounds); None when unknown."""
        return None

    def hyperparameters(self, theta: Tensor) -> dict[str, float]:
        """θ in the problem's own terms (a dropout rate, a regularization weight), recorded with each step so
        that a solver's hyperparameter schedule can be read; empty by default."""
        return {}

    def solve(self, oracle: Any, x: Tensor, theta: Tensor) -> Any:
        """The lower level's own rule, for a problem that is not strongly convex (e.g. train a network for a
        fixed number of epochs), every step charged through ``oracle.count``; returns a
        :class:`~workbench.families.bilevel.lower.Solve`."""
        raise NotImplementedError

    def report(self, x: Tensor, theta: Tensor) -> dict[str, float]:
        """The test metrics of a lower-level solution (``psnr``, ``test_accuracy``, ...): the family calls
        this after each step; solvers never do."""
        return {}

    def evaluate(self, X: Tensor) -> Tensor:
        """The black-box view ``θ -> g(x̂(θ))`` of ``n x dim`` rows, each lower level solved from :meth:`x0`
        to ``lower_tol`` (what a black-box solver is told in the family's loop, where the solves are
        warm-started and counted)."""
        from workbench.families.bilevel.lower import fista
        from workbench.families.bilevel.oracle import Oracle

        oracle = Oracle(self)
        values = []
        for theta in X.to(torch.float64):
            solved = fista(oracle, self.x0(), theta, self.lower_tol) if self.strongly_convex else \
                self.solve(oracle, self.x0(), theta)
            x = solved.x
            values.append(float(self.upper(x).detach()))
        return torch.tensor(values, dtype=torch.float64, device=X.device)

    def theta_start(self) -> Tensor:
        """``theta0`` as a ``dim`` float64 tensor (the native row of the space)."""
        if isinstance(self.theta0, Mapping):
            return self.space.encode([self.theta0])[0]
        return torch.tensor([float(v) for v in self.theta0], dtype=torch.float64)

    # ------------------------------------------------------------------------------------------ plumbing
    def to(self, device: torch.device | str) -> BilevelProblem:
        """A shallow copy whose tensor attributes live on ``device`` (the problem itself when they do)."""
        device = torch.device(device)
        tensors = {k: v for k, v in vars(self).items() if isinstance(v, Tensor)}
        if all(v.device == device for v in tensors.values()):
            return self
        moved = copy.copy(self)
        for k, v in tensors.items():
            setattr(moved, k, v.to(device))
        return moved

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "theta0": self.theta_start().tolist(), "strongly_convex": self.strongly_convex,
                "lower_tol": self.lower_tol, "score_tol": self.score_tol}


def check_bilevel(problem: BilevelProblem, where: str) -> None:
    """A bilevel problem's declaration, checked: the first wrong field is named."""
    validate_problem(problem, where)
    space = problem.space
    if space.dim == 0 or not all(isinstance(p, Real) and not p.log for p in space.parameters):
        raise InvalidProblemError(f"{where}.space must hold Real parameters on a linear scale (log-weights are "
                                  f"declared as their logarithm), but got {space!r}")
    try:
        theta = problem.theta_start()
    except Exception as e:
        raise InvalidProblemError(f"{where}.theta0 is not a point of the space: {e}") from None
    if theta.shape != (space.dim,) or not bool(torch.isfinite(theta).all()):
        raise InvalidProblemError(f"{where}.theta0 must hold {space.dim} finite values, but got {tuple(theta.shape)}")
    if not bool(space.contains(theta[None])[0]):
        bounds = space.bounds
        outside = [(p.name, float(v)) for p, v, lo, hi in zip(space.parameters, theta, bounds[0], bounds[1])
                   if not lo <= v <= hi][:3]
        raise InvalidProblemError(f"{where}.theta0 must lie inside the space, but {outside} are outside it")
    for field in ("lower_tol", "score_tol"):
        value = getattr(problem, field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise InvalidProblemError(f"{where}.{field} must be a finite number > 0, but got {value!r}")
    it = problem.max_lower_iterations
    if isinstance(it, bool) or not isinstance(it, int) or it < 1:
        raise InvalidProblemError(f"{where}.max_lower_iterations must be an int >= 1, but got {it!r}")
    if not problem.strongly_convex and type(problem).solve is BilevelProblem.solve:
        raise InvalidProblemError(f"{where}.solve must be defined: a lower level that is not strongly convex is "
                                  "solved by the problem's own rule")
    if problem.strongly_convex:
        mu, lip = problem.mu(theta), problem.smoothness(theta)
        if not (isinstance(mu, (int, float)) and math.isfinite(mu) and mu > 0):
            raise InvalidProblemError(f"{where}.mu(theta0) must be a finite number > 0 for a strongly convex lower "
                                      f"level, but got {mu!r}")
        if not (isinstance(lip, (int, float)) and math.isfinite(lip) and lip >= mu):
            raise InvalidProblemError(f"{where}.smoothness(theta0) must be a finite number >= mu(theta0) = {mu:g}, "
                                      f"but got {lip!r}")


__all__ = ["ADJOINT", "LOWER", "SOLVER_SECONDS", "UPPER", "BilevelProblem", "check_bilevel"]
