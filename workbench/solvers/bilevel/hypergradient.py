"""The inexact hypergradient and its a-posteriori error bound, shared by MAID and HOAG.

With ``x̃`` certified ``ε``-close to ``x̂(θ)`` (``‖∇ₓh(x̃)‖ <= με``) and ``q`` solving the adjoint system
``∇²ₓₓh(x̃) q = ∇g(x̃)`` to residual ``δ``, the hypergradient estimate is ``z = -Bᵀq`` with
``B = ∂_θ∇ₓh(x̃, θ)`` (one mixed product). Its distance to ``∇F(θ)`` is at most (MAID, Theorem 2.1)::

    ω = (L_g‖B‖/μ + L_{H⁻¹}‖∇g(x̃)‖‖B‖ + L_B‖∇g(x̃)‖/μ) ε + (‖B‖/μ) δ + (L_B L_g / μ) ε²

with ``L_g`` the Lipschitz constant of ``∇g``, ``L_B`` of ``B`` in ``x`` and ``L_{H⁻¹}`` of ``H⁻¹`` in ``x``.
A problem that knows ``(‖B‖, L_B, L_{H⁻¹})`` gives them (``bound_constants(x, θ)``: the quadratic's are exact);
otherwise they are estimated at ``x̃``, every product counted: ``‖B‖`` by power iteration on ``BᵀB``
(``Bv = ∇ₓ⟨∇_θh, v⟩``, ``Bᵀw`` the mixed product), ``L_B`` and ``L_H`` (``L_{H⁻¹} <= L_H/μ²``) by the change
of ``B`` and ``H`` over a random step of length ``ε`` from ``x̃`` — local estimates, as the bound only needs
the constants between ``x̃`` and ``x̂`` (the reference code estimates them the same way, at random points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.families.bilevel import Oracle, Solve, conjugate_gradient, fista


@dataclass(frozen=True)
class Hypergradient:
    """An inexact hypergradient: the lower-level point, ``g`` and ``∇g`` there, the adjoint ``q``, the
    estimate ``z`` and the accuracies it was computed at."""

    x: Tensor
    g: float
    grad_g: Tensor
    q: Tensor
    z: Tensor
    eps: float
    delta: float


def hypergradient(oracle: Oracle, x: Tensor, theta: Tensor, eps: float, delta: float, q: Tensor | None,
                  *, max_cg: int = 10_000) -> Hypergradient:
    """Solve the lower level from ``x`` to ``eps``, the adjoint system from ``q`` to ``delta``, and
    assemble ``z = -Bᵀq``."""
    low: Solve = fista(oracle, x, theta, eps)
    g, grad_g = oracle.upper_grad(low.x)
    adj = conjugate_gradient(oracle, low.x, theta, grad_g, q, delta, max_iterations=max_cg)
    z = -oracle.cross(low.x, theta, adj.x)
    return Hypergradient(low.x, g, grad_g, adj.x, z, eps, delta)


def _unit(t: Tensor, generator: torch.Generator) -> Tensor:
    u = torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device)
    return u / torch.linalg.vector_norm(u)


def constants(oracle: Oracle, hg: Hypergradient, theta: Tensor, generator: torch.Generator,
              power_steps: int = 8) -> tuple[float, float, float]:
    """``(‖B‖, L_B, L_{H⁻¹})`` at ``hg.x``: the problem's, or estimated (see the module docstring)."""
    known = oracle.bound_constants(hg.x, theta)
    if known is not None:
        return known
    x, mu = hg.x, oracle.mu(theta)
    v = _unit(theta, generator)
    b_norm = 0.0
    for _ in range(power_steps):  # power iteration on BᵀB
        bv = oracle.bvp(x, theta, v)
        w = oracle.cross(x, theta, bv)
        n = float(torch.linalg.vector_norm(w))
        if n == 0.0:
            break
        b_norm = math.sqrt(n)
        v = w / n
    r = max(hg.eps, 1e-8)
    step = r * _unit(x, generator)
    w = _unit(x, generator)
    lb = float(torch.linalg.vector_norm(oracle.cross(x + step, theta, w) - oracle.cross(x, theta, w))) / r
    lh = float(torch.linalg.vector_norm(oracle.hvp(x + step, theta, w) - oracle.hvp(x, theta, w))) / r
    return b_norm, lb, lh / mu**2


def error_bound(oracle: Oracle, hg: Hypergradient, theta: Tensor, generator: torch.Generator) -> float:
    """MAID's bound ``ω`` on ``‖z - ∇F(θ)‖`` (see the module docstring)."""
    b_norm, lb, lhinv = constants(oracle, hg, theta, generator)
    mu, lg = oracle.mu(theta), oracle.upper_lipschitz(hg.x)
    gn = float(torch.linalg.vector_norm(hg.grad_g))
    c = lg * b_norm / mu + lhinv * gn * b_norm + lb * gn / mu
    return c * hg.eps + b_norm / mu * hg.delta + lb * lg / mu * hg.eps**2


__all__ = ["Hypergradient", "constants", "error_bound", "hypergradient"]
