"""MAID: the Method of Adaptive Inexact Descent (Salehi, Mukherjee, Roberts, Ehrhardt; SIAM J. Math. Data Sci.).

One outer iteration (one step) at ``θ`` with accuracies ``ε`` (lower level) and ``δ`` (adjoint):

1. **Inexact hypergradient with a descent test.** Solve the lower level by warm-started FISTA to the
   certified ``‖x̃ - x̂(θ)‖ <= ε``, the adjoint system by CG to residual ``δ``, take ``z = -Bᵀq`` and its
   error bound ``ω``; while ``ω > (1 - η)‖z‖`` (``z`` may not be a descent direction), shrink ``ε, δ`` by
   ``τ`` and solve again (at most ``max_refinements`` times).
2. **Inexact backtracking line search.** For ``α = β ρ^i``, ``i = 0 .. max_backtracks - 1``:
   ``θ⁺ = P(θ - α z)`` (P: the space's box), ``x⁺`` solved to ``ε`` from ``x̃``, and accept when the upper
   bound on ``F(θ⁺)`` lies below the lower bound on ``F(θ)`` by the Armijo margin::

       g(x⁺) + ‖∇g(x⁺)‖ε + L_g ε²/2  -  (g(x̃) - ‖∇g(x̃)‖ε - L_g ε²/2)  <=  -λ ‖θ⁺ - θ‖² / α

   (with ``‖θ⁺ - θ‖²/α = α‖z‖²`` inside the box). An accepted step is a certified decrease of the *true*
   ``F``. Then ``ε, δ`` grow by ``ν`` and the next search starts at ``ρ̄ α``.
3. **A failed search** (every trial rejected, or a lower level that failed at every trial) shrinks
   ``ε, δ`` by ``τ`` and starts again from step 1, at most ``max_retries`` times; after that, the step
   ends where it began (recorded with ``accepted = 0`` and the shrunk ε, δ). Where the space's box stops
   every step along ``-z`` (a stationary point of the box-constrained problem) the step ends there too,
   ε and δ unchanged.

Defaults are the reference experiments': ``ε₀ = δ₀ = 0.1``, ``β₀ = 0.01``, ``ρ = 0.5``, ``ρ̄ = 10/9``,
``τ = 0.5``, ``ν = 1.05``, ``η = 1e-4``, Armijo ``λ = η² = 1e-8``, 3 retries of ``10 + retry`` trials.

Where this differs from the reference code, on purpose: FISTA's momentum acts (the code's assignment order
makes its "FISTA" plain gradient descent); the certificate uses the problem's true ``μ``; the bound ``ω``
has the ``L_g`` factors of the paper's theorem (the code drops them); the lower bound on ``F(θ)`` keeps its
``L_g ε²/2`` term (valid for a non-convex ``g`` too); CG warm-starts from the last adjoint solution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.bilevel import BilevelRun, BilevelSolver, BudgetSpent, Iterate, LowerLevelError, Oracle, fista
from workbench.solver import CellContext, solvers
from workbench.solvers.bilevel.hypergradient import Hypergradient, error_bound, hypergradient


def _positive(name: str, value: float, *, below_one: bool = False, above_one: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise InvalidConfigError(f"{name} must be a finite number > 0, but got {value!r}")
    if below_one and not value < 1:
        raise InvalidConfigError(f"{name} must be < 1, but got {value!r}")
    if above_one and not value >= 1:
        raise InvalidConfigError(f"{name} must be >= 1, but got {value!r}")


def _count(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidConfigError(f"{name} must be an int >= {low}, but got {value!r}")


@solvers.register("maid")
@dataclass(frozen=True, kw_only=True)
class MAID(BilevelSolver):
    """MAID: inexact hypergradients with adaptive accuracy and a certified backtracking line search."""

    #: initial lower-level accuracy ε₀ (certified ‖x̃ - x̂‖)
    eps0: float = 0.1
    #: initial adjoint residual δ₀
    delta0: float = 0.1
    #: initial step size β₀; None: HOAG's first step, sqrt(dim θ) / ‖z₀‖ (as the reference's logistic experiment)
    step0: float | None = 0.01
    #: step shrink per backtracking trial ρ
    rho: float = 0.5
    #: step growth after an accepted step ρ̄
    rho_bar: float = 10 / 9
    #: accuracy shrink τ (ν̲) on an inconclusive test
    tau: float = 0.5
    #: accuracy growth ν (ν̄) after an accepted step
    nu: float = 1.05
    #: descent-test margin η: accept z when ω <= (1 - η)‖z‖
    eta: float = 1e-4
    #: Armijo constant λ of the line search
    armijo: float = 1e-8
    #: line searches per step (each after shrinking ε, δ)
    max_retries: int = 3
    #: trials of the first line search (one more per retry)
    max_backtracks: int = 10
    #: most shrinks of ε, δ in one descent test
    max_refinements: int = 40

    def __post_init__(self) -> None:
        for f in ("eps0", "delta0", "armijo"):
            _positive(f"MAID.{f}", getattr(self, f))
        if self.step0 is not None:
            _positive("MAID.step0", self.step0)
        for f in ("rho", "tau", "eta"):
            _positive(f"MAID.{f}", getattr(self, f), below_one=True)
        for f in ("rho_bar", "nu"):
            _positive(f"MAID.{f}", getattr(self, f), above_one=True)
        _count("MAID.max_retries", self.max_retries, 1)
        _count("MAID.max_backtracks", self.max_backtracks, 1)
        _count("MAID.max_refinements", self.max_refinements, 0)

    def start(self, oracle: Oracle, cell: CellContext) -> MAIDRun:
        return MAIDRun(self, oracle, cell)


class MAIDRun(BilevelRun):
    def __init__(self, config: MAID, oracle: Oracle, cell: CellContext) -> None:
        self.c, self.oracle = config, oracle
        self.theta = oracle.project(oracle.theta0().to(cell.device))
        self.x = oracle.x0().to(cell.device)
        self.q: Tensor | None = None
        self.eps, self.delta = config.eps0, config.delta0
        self.beta: float | None = config.step0
        self.generator = torch.Generator().manual_seed(cell.seed)

    def _descent_direction(self) -> tuple[Hypergradient, float]:
        """An inexact hypergradient whose error bound says it is a descent direction."""
        c, o = self.c, self.oracle
        for refinement in range(c.max_refinements + 1):
            hg = hypergradient(o, self.x, self.theta, self.eps, self.delta, self.q)
            self.x, self.q = hg.x, hg.q
            omega = error_bound(o, hg, self.theta, self.generator)
            if omega <= (1 - c.eta) * float(torch.linalg.vector_norm(hg.z)) or refinement == c.max_refinements:
                return hg, omega
            self.eps, self.delta = c.tau * self.eps, c.tau * self.delta
        raise AssertionError("unreachable")

    def step(self) -> Iterate:
        c, o = self.c, self.oracle
        for retry in range(c.max_retries):
            hg, omega = self._descent_direction()
            if self.beta is None:
                zn = float(torch.linalg.vector_norm(hg.z))
                self.beta = math.sqrt(hg.z.numel()) / zn if zn > 1e-3 else 1.0
            lg = o.upper_lipschitz(hg.x)
            eps = hg.eps
            lower_now = hg.g - float(torch.linalg.vector_norm(hg.grad_g)) * eps - 0.5 * lg * eps**2
            for i in range(c.max_backtracks + retry):
                alpha = self.beta * c.rho**i
                theta_new = o.project(self.theta - alpha * hg.z)
                moved = float(((theta_new - self.theta) ** 2).sum())
                if moved == 0.0:  # the box stops every step along -z: a stationary point of the constrained problem
                    return Iterate(self.theta, self.x, {"eps": eps, "delta": self.delta, "step_size": 0.0,
                                                        "error_bound": omega, "accepted": 0.0})
                try:
                    x_new = fista(o, hg.x, theta_new, eps).x
                    g_new, grad_new = o.upper_grad(x_new)
                except BudgetSpent:
                    raise
                except LowerLevelError:
                    continue  # the lower level failed at this trial: a shorter step
                upper_new = g_new + float(torch.linalg.vector_norm(grad_new)) * eps + 0.5 * lg * eps**2
                if upper_new - lower_now <= -c.armijo * moved / alpha:
                    self.theta, self.x = theta_new, x_new
                    self.beta = c.rho_bar * alpha
                    info = {"eps": eps, "delta": self.delta, "step_size": alpha, "error_bound": omega,
                            "accepted": 1.0, "backtracks": float(i)}
                    self.eps, self.delta = c.nu * self.eps, c.nu * self.delta
                    return Iterate(self.theta, self.x, info)
            self.eps, self.delta = c.tau * self.eps, c.tau * self.delta
        return Iterate(self.theta, self.x, {"eps": self.eps, "delta": self.delta, "step_size": self.beta or 0.0,
                                            "accepted": 0.0})

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta, "x": self.x, "q": self.q, "eps": self.eps, "delta": self.delta,
                "beta": self.beta, "generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.theta, self.x, self.q = state["theta"], state["x"], state["q"]
        self.eps, self.delta, self.beta = state["eps"], state["delta"], state["beta"]
        self.generator.set_state(state["generator"].cpu())


__all__ = ["MAID", "MAIDRun"]
