"""Lower-level and adjoint solves with certified accuracy, through the counted :class:`Oracle`.

* :func:`fista` — accelerated gradient descent for a μ-strongly convex, L-smooth ``h(·, θ)`` (step ``1/L``,
  constant momentum ``(√L - √μ)/(√L + √μ)``), warm-started, stopped at the first point whose gradient
  certifies ``‖x - x̂(θ)‖ <= ‖∇ₓh(x)‖ / μ <= ε``. The certified point is the one whose gradient was just
  computed (the extrapolated point), so the certificate costs no extra gradient.
* :func:`conjugate_gradient` — CG on ``∇²ₓₓh(x, θ) q = b``, warm-started, stopped when the residual
  ``‖b - ∇²ₓₓh q‖ <= δ`` (then ``‖q - q̂‖ <= δ / μ``).

Both raise :class:`LowerLevelError` when they cannot reach their tolerance within their iteration limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.families.bilevel.oracle import LowerLevelError, Oracle


@dataclass(frozen=True)
class Solve:
    """A solve's result: the point, the iterations it took, and the certified bound it reached."""

    x: Tensor
    iterations: int
    bound: float


def fista(oracle: Oracle, x: Tensor, theta: Tensor, eps: float, *, max_iterations: int | None = None,
          mu: float | None = None, lipschitz: float | None = None) -> Solve:
    """Minimize ``h(·, θ)`` from ``x`` until ``‖∇ₓh(x)‖ / μ <= eps``; returns the certified point.

    ``mu`` and ``lipschitz`` default to the problem's ``μ(θ)`` and ``L(θ)``."""
    if not oracle.strongly_convex:
        raise LowerLevelError(f"problem {oracle.name!r} declares no strong convexity: FISTA has no certificate on it")
    mu = oracle.mu(theta) if mu is None else mu
    lip = oracle.smoothness(theta) if lipschitz is None else lipschitz
    limit = oracle.max_lower_iterations if max_iterations is None else max_iterations
    momentum = (math.sqrt(lip) - math.sqrt(mu)) / (math.sqrt(lip) + math.sqrt(mu))
    y = x.detach().clone()
    x_prev = y
    bound = math.inf
    for k in range(limit + 1):
        g = oracle.lower_grad(y, theta)
        bound = float(torch.linalg.vector_norm(g)) / mu
        if bound <= eps:
            return Solve(y, k + 1, bound)
        if k == limit:
            break
        x_next = y - g / lip
        y = x_next + momentum * (x_next - x_prev)
        x_prev = x_next
    raise LowerLevelError(f"FISTA on {oracle.name!r} reached ‖x - x̂‖ <= {bound:.3g}, not {eps:.3g}, in {limit} "
                          "iterations")


def conjugate_gradient(oracle: Oracle, x: Tensor, theta: Tensor, b: Tensor, q: Tensor | None, delta: float, *,
                       max_iterations: int = 10_000) -> Solve:
    """Solve ``∇²ₓₓh(x, θ) q = b`` from ``q`` (zeros when None) until ``‖b - ∇²ₓₓh q‖ <= delta``; ``bound`` is
    the final residual norm."""
    if q is None:
        q = torch.zeros_like(b)
        r = b.clone()
        its = 0
    else:
        q = q.detach().clone()
        r = b - oracle.hvp(x, theta, q)
        its = 1
    p = r.clone()
    rr = float((r * r).sum())
    for _ in range(max_iterations):
        if math.sqrt(rr) <= delta:
            return Solve(q, its, math.sqrt(rr))
        Ap = oracle.hvp(x, theta, p)
        its += 1
        pAp = float((p * Ap).sum())
        if not pAp > 0:
            raise LowerLevelError(f"CG on {oracle.name!r}: the Hessian is not positive definite (pᵀHp = {pAp:.3g})")
        alpha = rr / pAp
        q = q + alpha * p
        r = r - alpha * Ap
        rr_new = float((r * r).sum())
        p = r + (rr_new / rr) * p
        rr = rr_new
    if math.sqrt(rr) <= delta:
        return Solve(q, its, math.sqrt(rr))
    raise LowerLevelError(f"CG on {oracle.name!r} reached residual {math.sqrt(rr):.3g}, not {delta:.3g}, in "
                          f"{max_iterations} iterations")


__all__ = ["Solve", "conjugate_gradient", "fista"]
