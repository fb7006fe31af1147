"""The counted way to a bilevel problem: every solver, black-box queries included, pays here.

:class:`Oracle` is all a bilevel solver sees of its problem. Each call is counted on the family's cost axes:

* ``lower_iterations`` — every value or ``x``-gradient of the lower-level objective ``h`` (one FISTA
  iteration is one gradient);
* ``adjoint_iterations`` — every Hessian-vector product ``∇²ₓₓh v`` (one conjugate-gradient iteration) and
  every mixed product ``∂_θ(∇ₓh · q)`` (assembling a hypergradient);
* ``upper_evaluations`` — every value or gradient of the upper-level objective ``g``.

A value that is not finite raises :class:`LowerLevelError` (naming what turned non-finite and where): a
solver may catch it (a line search backs off) or let it fail the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from workbench.errors import WorkbenchError
from workbench.families.bilevel.axes import ADJOINT, LOWER, UPPER
from workbench.space import Space


class LowerLevelError(WorkbenchError, ArithmeticError):
    """The lower level (or the upper) turned NaN or infinite, or a solve did not converge."""


class BudgetSpent(LowerLevelError):
    """The cell's budget ran out inside a step: the step stops there, unrecorded, and the cell ends."""


@dataclass
class Counter:
    """What a cell has spent on each axis; ``caps`` (axis -> count) make the call that would pass one raise
    :class:`BudgetSpent`, so that no step overshoots the study's budget."""

    lower_iterations: int = 0
    adjoint_iterations: int = 0
    upper_evaluations: int = 0
    caps: dict[str, float] = field(default_factory=dict)

    def snapshot(self) -> dict[str, int]:
        return {LOWER: self.lower_iterations, ADJOINT: self.adjoint_iterations, UPPER: self.upper_evaluations}

    def charge(self, axis: str, n: int = 1) -> None:
        """Count ``n`` units on ``axis``; raise :class:`BudgetSpent` once past its cap."""
        if not n:
            return
        setattr(self, axis, getattr(self, axis) + n)
        cap = self.caps.get(axis)
        if cap is not None and getattr(self, axis) > cap:
            raise BudgetSpent(f"the budget of {axis} ran out inside the step")


def _finite(t: Tensor, what: str) -> Tensor:
    if not bool(torch.isfinite(t).all()):
        raise LowerLevelError(f"{what} is not finite")
    return t


class Oracle:
    """A problem's objectives and what it knows of them, every evaluation counted on ``counter``."""

    def __init__(self, problem: Any, counter: Counter | None = None) -> None:  # a BilevelProblem
        self._problem = problem
        self.counter = counter or Counter()
        self.space: Space = problem.space
        self.strongly_convex = bool(problem.strongly_convex)
        self.lower_tol = float(problem.lower_tol)
        self.max_lower_iterations = int(problem.max_lower_iterations)
        self.name = problem.name

    # ------------------------------------------------------------------------------------------ what it knows
    def x0(self) -> Tensor:
        return self._problem.x0().detach()

    def theta0(self) -> Tensor:
        return self._problem.theta_start()

    def mu(self, theta: Tensor) -> float:
        return float(self._problem.mu(theta.detach()))

    def smoothness(self, theta: Tensor) -> float:
        return float(self._problem.smoothness(theta.detach()))

    def bound_constants(self, x: Tensor, theta: Tensor) -> tuple[float, float, float] | None:
        """``(‖B‖, L_B, L_{H⁻¹})`` where the problem knows them (``bound_constants``), else None."""
        known = getattr(self._problem, "bound_constants", None)
        return None if known is None else tuple(float(v) for v in known(x, theta))  # type: ignore[return-value]

    def upper_lipschitz(self, x: Tensor) -> float:
        """The Lipschitz constant of ``∇g``: the problem's, or estimated at ``x`` over a step of length 1e-3
        (two counted upper-level gradients)."""
        known = self._problem.upper_smoothness()
        if known is not None:
            return float(known)
        u = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype).to(x.device)
        u = 1e-3 * u / torch.linalg.vector_norm(u)
        return float(torch.linalg.vector_norm(self.upper_grad(x + u)[1] - self.upper_grad(x)[1])) / 1e-3

    def network(self) -> NetworkView:
        """The counted view of a problem whose lower level trains a network (it has ``forward``), for solvers
        that build networks of their own; a ``LowerLevelError`` for other problems."""
        if not callable(getattr(self._problem, "forward", None)):
            raise LowerLevelError(f"problem {self.name!r} trains no network")
        return NetworkView(self._problem, self.counter)

    def count(self, *, lower: int = 0, adjoint: int = 0, upper: int = 0) -> None:
        """Charge work a problem's own lower-level rule did (its ``solve``: minibatch steps)."""
        self.counter.charge(LOWER, lower)
        self.counter.charge(ADJOINT, adjoint)
        self.counter.charge(UPPER, upper)

    # ------------------------------------------------------------------------------------------ counted calls
    def lower_value(self, x: Tensor, theta: Tensor) -> float:
        """``h(x, θ)`` (one lower-level iteration)."""
        self.counter.charge(LOWER)
        with torch.no_grad():
            return float(_finite(self._problem.lower(x, theta), "h(x, θ)"))

    def lower_grad(self, x: Tensor, theta: Tensor) -> Tensor:
        """``∇ₓh(x, θ)`` (one lower-level iteration)."""
        self.counter.charge(LOWER)
        xd = x.detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self._problem.lower(xd, theta.detach()), xd)
        return _finite(g, "∇ₓh(x, θ)")

    def hvp(self, x: Tensor, theta: Tensor, v: Tensor) -> Tensor:
        """``∇²ₓₓh(x, θ) v`` (one adjoint iteration)."""
        self.counter.charge(ADJOINT)
        xd = x.detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self._problem.lower(xd, theta.detach()), xd, create_graph=True)
            (hv,) = torch.autograd.grad(g, xd, grad_outputs=v.detach())
        return _finite(hv, "∇²ₓₓh v")

    def cross(self, x: Tensor, theta: Tensor, q: Tensor) -> Tensor:
        """``∂_θ ⟨∇ₓh(x, θ), q⟩ = ∇²_θx h q`` (one adjoint iteration): a ``dim`` tensor."""
        self.counter.charge(ADJOINT)
        xd = x.detach().requires_grad_(True)
        td = theta.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self._problem.lower(xd, td), xd, create_graph=True)
            (c,) = torch.autograd.grad(g, td, grad_outputs=q.detach())
        return _finite(c, "∇²_θx h q")

    def bvp(self, x: Tensor, theta: Tensor, v: Tensor) -> Tensor:
        """``B v = ∇ₓ⟨∇_θh(x, θ), v⟩`` for a ``dim`` vector ``v`` (one adjoint iteration)."""
        self.counter.charge(ADJOINT)
        xd = x.detach().requires_grad_(True)
        td = theta.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (gt,) = torch.autograd.grad(self._problem.lower(xd, td), td, create_graph=True)
            (bv,) = torch.autograd.grad(gt, xd, grad_outputs=v.detach())
        return _finite(bv, "B v")

    def project(self, theta: Tensor) -> Tensor:
        """``theta`` clamped into the space's box."""
        bounds = self.space.bounds.to(theta)
        return torch.maximum(torch.minimum(theta, bounds[1]), bounds[0])

    def upper(self, x: Tensor) -> float:
        """``g(x)`` (one upper-level evaluation)."""
        self.counter.charge(UPPER)
        with torch.no_grad():
            return float(_finite(self._problem.upper(x), "g(x)"))

    def upper_grad(self, x: Tensor) -> tuple[float, Tensor]:
        """``g(x)`` and ``∇g(x)`` (one upper-level evaluation)."""
        self.counter.charge(UPPER)
        xd = x.detach().requires_grad_(True)
        with torch.enable_grad():
            value = self._problem.upper(xd)
            (g,) = torch.autograd.grad(value, xd)
        return float(_finite(value.detach(), "g(x)")), _finite(g, "∇g(x)")


class NetworkView:
    """A network-training lower level as a solver may see it: the layer shapes, the training and validation
    minibatches (never the test split), and the losses, each counted — a training minibatch loss is one
    lower-level iteration, a validation minibatch loss one upper-level evaluation."""

    def __init__(self, problem: Any, counter: Counter) -> None:
        self._problem, self._counter = problem, counter
        self.shapes: list[tuple[int, int]] = list(problem.shapes())  # type: ignore[attr-defined]
        self.n_hyper = problem.space.dim
        #: the problem's learning rate for its weights (its own lower-level rule trains at it)
        self.lr = float(getattr(problem, "lr", 1e-3))

    def layers(self, x: Tensor):  # noqa: ANN201
        """The plain network's layers (callables) with the flat weights ``x``."""
        return self._problem.layers(x)  # type: ignore[attr-defined]

    def batches(self, generator: torch.Generator, split: str = "train"):  # noqa: ANN201
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', but got {split!r}")
        return self._problem.batches(generator, split)  # type: ignore[attr-defined]

    def train_loss(self, layers, X: Tensor, y: Tensor, hyper: Tensor, generator: torch.Generator) -> Tensor:  # noqa: ANN001
        """The training minibatch loss through ``layers`` with per-example hyperparameters ``hyper`` (one
        lower-level iteration)."""
        self._counter.charge(LOWER)
        logits = self._problem.forward(layers, X, hyper, generator)  # type: ignore[attr-defined]
        return torch.nn.functional.cross_entropy(logits, y)

    def val_loss(self, layers, X: Tensor, y: Tensor) -> Tensor:  # noqa: ANN001
        """The validation minibatch loss of the plain network (one upper-level evaluation)."""
        self._counter.charge(UPPER)
        logits = self._problem.forward(layers, X, None, None)  # type: ignore[attr-defined]
        return torch.nn.functional.cross_entropy(logits, y)

    def flatten(self, weights: list[tuple[Tensor, Tensor]]) -> Tensor:
        """Per-layer ``(W, b)`` as the problem's flat lower-level variable."""
        return torch.cat([t.detach().reshape(-1) for W, b in weights for t in (W, b)])


__all__ = ["BudgetSpent", "Counter", "LowerLevelError", "NetworkView", "Oracle"]
