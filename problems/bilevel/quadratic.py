"""MAID's quadratic bilevel problem, with its closed-form solution (so regret and ‖θ - θ*‖ are exact).

With ``A₁, A₂, A₃`` (n x m, entries U[0, 1)), ``x₁, x₂, θₑ`` (U[0, 1)^m) and noise 0.01 N(0, 1)::

    b₁ = A₁x₁ + 0.01 e₁,   b₂ = A₂x₂ + A₃θₑ + 0.01 e₂
    h(x, θ) = ½‖A₂x + A₃θ - b₂‖²,    g(x) = ½‖A₁x - b₁‖²

drawn in that order (float32, then float64) from the problem's ``seed``: n = 1000, m = 10 and seed 29 are
the reference experiments' (each an option). The data do not change with the cell's seed, so that θ* and
the optimum are one for the whole study; the cell's seed drives the solvers' own randomness.
``x̂(θ) = (A₂ᵀA₂)⁻¹A₂ᵀ(b₂ - A₃θ)`` is affine in θ, so ``F(θ) = ½‖Gθ + c‖²`` is a linear least-squares problem
with ``θ* = -(GᵀG)⁻¹Gᵀc`` (computed in float64), ``μ = λ_min(A₂ᵀA₂)``, ``L = λ_max(A₂ᵀA₂)``. θ₀ = 1, x₀ = x₂.
The upper level is badly conditioned (κ(GᵀG) ≈ 1.7e5 at n = 1000, m = 10): first-order methods cut ``F``
quickly and ``‖θ - θ*‖`` slowly.
"""

from __future__ import annotations

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.families.bilevel.problem import BilevelProblem, check_bilevel
from workbench.problem import catalog
from workbench.space import Real, Space


@catalog.register("bilevel-quadratic")
class BilevelQuadratic(BilevelProblem):
    """MAID's quadratic test problem: least squares in both levels, θ* in closed form."""

    lower_tol = 1e-3
    score_tol = 1e-9

    def __init__(self, *, n: int = 1000, m: int = 10, bound: float = 100.0, seed: int = 29,
                 name: str | None = None) -> None:
        for field, value, low in (("n", n, 2), ("m", m, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidProblemError(f"BilevelQuadratic.{field} must be an int >= {low}, but got {value!r}")
        if n < m:
            raise InvalidProblemError(f"BilevelQuadratic: n >= m must hold, but got (n={n}, m={m})")
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 1:
            raise InvalidProblemError(f"BilevelQuadratic.bound must be a number > 1, but got {bound!r}")
        self.n, self.m = n, m
        self.name = name or "bilevel-quadratic"
        self.space = Space(*[Real(f"theta_{j}", -float(bound), float(bound)) for j in range(m)])
        self.theta0 = (1.0,) * m
        self.params = {"n": n, "m": m, "bound": float(bound), "seed": int(seed)}
        self._draw(int(seed))
        check_bilevel(self, f"problem {self.name!r}")

    def _draw(self, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)  # float32 draws, as the reference experiments make them
        n, m = self.n, self.m
        A1, A2, A3 = (torch.rand(n, m, generator=g).double() for _ in range(3))
        x1, x2, theta_e = (torch.rand(m, generator=g).double() for _ in range(3))
        e1, e2 = (torch.randn(n, generator=g).double() for _ in range(2))
        self.A1, self.A2, self.A3, self.x_start = A1, A2, A3, x2
        self.b1 = A1 @ x1 + 0.01 * e1
        self.b2 = A2 @ x2 + A3 @ theta_e + 0.01 * e2
        eig = torch.linalg.eigvalsh(A2.T @ A2)
        self._mu, self._lip = float(eig[0]), float(eig[-1])
        self._lg = float(torch.linalg.eigvalsh(A1.T @ A1)[-1])
        self._b_norm = float(torch.linalg.matrix_norm(A3.T @ A2, ord=2))
        solve = torch.linalg.solve(A2.T @ A2, torch.cat([A2.T @ A3, (A2.T @ self.b2)[:, None]], dim=1))
        G = -A1 @ solve[:, :m]
        c = A1 @ solve[:, m] - self.b1
        self.theta_star = -torch.linalg.lstsq(G, c[:, None]).solution[:, 0]
        self.optimum = float(0.5 * ((G @ self.theta_star + c) ** 2).sum())
        self.optimizers = ({f"theta_{j}": float(v) for j, v in enumerate(self.theta_star)},)

    def x0(self) -> Tensor:
        return self.x_start.clone()

    def lower(self, x: Tensor, theta: Tensor) -> Tensor:
        r = self.A2 @ x + self.A3 @ theta - self.b2
        return 0.5 * (r * r).sum()

    def upper(self, x: Tensor) -> Tensor:
        r = self.A1 @ x - self.b1
        return 0.5 * (r * r).sum()

    def mu(self, theta: Tensor) -> float:
        return self._mu

    def smoothness(self, theta: Tensor) -> float:
        return self._lip

    def upper_smoothness(self) -> float:
        return self._lg

    def bound_constants(self, x: Tensor, theta: Tensor) -> tuple[float, float, float]:
        """``(‖B‖, L_B, L_{H⁻¹})``: ``B = A₂ᵀA₃`` and ``H = A₂ᵀA₂`` do not depend on ``x``."""
        return self._b_norm, 0.0, 0.0


__all__ = ["BilevelQuadratic"]
