"""HOAG: hyperparameter optimization with approximate gradient (Pedregosa, ICML 2016).

One outer iteration (one step) at ``θ_k`` with tolerance ``ε_k``: solve the lower level by warm-started
FISTA to the certified ``‖x - x̂(θ_k)‖ <= ε_k``, the adjoint system by warm-started CG to residual ``ε_k``,
take ``p = -Bᵀq``, then step ``θ_{k+1} = P(θ_k - p / L)`` (P: the space's box). The tolerance follows a
**fixed decreasing schedule** (``ε₀ = 0.1``), the paper's comparison:

* ``geometric``: ``ε_k = ε₀ 0.9^k``;  ``quadratic``: ``ε₀ / (k + 1)²``;  ``cubic``: ``ε₀ / (k + 1)³``

(floored at 1e-12; a rejected step halves the current ε, and the schedule only ever lowers it).

Step size ``1/L``: ``step_rule="adaptive"`` is the reference code's rule — ``L`` starts at
``‖p₁‖ / sqrt(dim θ)`` (1 when ``‖p₁‖ <= 1e-3``); with ``g_k`` the upper-level value at this iterate, the
step is taken and ``L`` shrunk by 0.95 when ``g_k <= g_{k-1} + Cε_k + ε_{k-1}(C + 1)‖Δ‖ - L‖Δ‖²``
(``C = 0.25``, ``Δ = p/L``); rejected (no step, ``L`` doubled, ``ε`` halved) when ``g_k >= 1.2 g_{k-1}``;
taken with ``L`` unchanged otherwise. ``step_rule="fixed"`` steps ``step_size`` every iteration.

Differences from the reference code: the inner solver is FISTA with a certificate (the code uses L-BFGS
stopped at a relative gradient norm); one step per iteration (the current master takes a second, unclipped
step on accepted iterations, a known slip).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

from workbench.errors import InvalidConfigError
from workbench.families.bilevel import BilevelRun, BilevelSolver, Iterate, Oracle
from workbench.solver import CellContext, solvers
from workbench.solvers.bilevel.hypergradient import hypergradient
from workbench.solvers.bilevel.maid import _positive

SCHEDULES = ("geometric", "quadratic", "cubic")


@solvers.register("hoag")
@dataclass(frozen=True, kw_only=True)
class HOAG(BilevelSolver):
    """HOAG: approximate hypergradients at a fixed decreasing tolerance schedule."""

    #: the tolerance schedule: geometric (ε₀ 0.9^k), quadratic (ε₀/(k+1)²) or cubic (ε₀/(k+1)³)
    schedule: Literal["geometric", "quadratic", "cubic"] = "geometric"
    #: initial tolerance ε₀ (lower-level accuracy and adjoint residual)
    eps0: float = 0.1
    #: the geometric schedule's factor
    decrease: float = 0.9
    #: "adaptive" (the reference code's Lipschitz estimate) or "fixed" (``step_size`` every iteration)
    step_rule: Literal["adaptive", "fixed"] = "adaptive"
    #: the step of ``step_rule="fixed"``
    step_size: float = 0.01
    #: the sufficient-decrease constant C of the adaptive rule
    c: float = 0.25

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise InvalidConfigError(f"HOAG.schedule must be one of {SCHEDULES}, but got {self.schedule!r}")
        if self.step_rule not in ("adaptive", "fixed"):
            raise InvalidConfigError(f"HOAG.step_rule must be 'adaptive' or 'fixed', but got {self.step_rule!r}")
        for f in ("eps0", "step_size", "c"):
            _positive(f"HOAG.{f}", getattr(self, f))
        _positive("HOAG.decrease", self.decrease, below_one=True)

    def tolerance(self, k: int) -> float:
        """The schedule's ``ε_k`` (k = 0, 1, ...)."""
        if self.schedule == "geometric":
            eps = self.eps0 * self.decrease**k
        else:
            eps = self.eps0 / (k + 1) ** (2 if self.schedule == "quadratic" else 3)
        return max(eps, 1e-12)

    def start(self, oracle: Oracle, cell: CellContext) -> HOAGRun:
        return HOAGRun(self, oracle, cell)


class HOAGRun(BilevelRun):
    def __init__(self, config: HOAG, oracle: Oracle, cell: CellContext) -> None:
        self.c, self.oracle = config, oracle
        self.theta = oracle.project(oracle.theta0().to(cell.device))
        self.x = oracle.x0().to(cell.device)
        self.q = None
        self.k = 0
        self.eps = config.tolerance(0)
        self.eps_old = self.eps
        self.lipschitz: float | None = None
        self.g_old = math.inf

    def step(self) -> Iterate:
        c, o = self.c, self.oracle
        hg = hypergradient(o, self.x, self.theta, self.eps, self.eps, self.q)
        self.x, self.q = hg.x, hg.q
        eps_used = self.eps
        self.k += 1
        self.eps = min(self.eps, c.tolerance(self.k))
        pn = float(torch.linalg.vector_norm(hg.z))
        taken = True
        if c.step_rule == "fixed":
            step = c.step_size
        else:
            if self.lipschitz is None:
                self.lipschitz = pn / math.sqrt(hg.z.numel()) if pn > 1e-3 else 1.0
            step = 1.0 / self.lipschitz
            incr = step * pn
            if hg.g <= self.g_old + c.c * eps_used + self.eps_old * (c.c + 1) * incr - self.lipschitz * incr**2:
                self.lipschitz *= 0.95
            elif hg.g >= 1.2 * self.g_old:
                self.lipschitz *= 2.0
                self.eps = max(0.5 * self.eps, 1e-12)
                taken = False
        self.eps_old, self.g_old = eps_used, hg.g
        info = {"eps": eps_used, "step_size": step, "accepted": float(taken)}
        if taken:
            self.theta = o.project(self.theta - step * hg.z)
        return Iterate(self.theta, self.x, info)

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta, "x": self.x, "q": self.q, "k": self.k, "eps": self.eps, "eps_old": self.eps_old,
                "lipschitz": self.lipschitz, "g_old": self.g_old}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.theta, self.x, self.q, self.k = state["theta"], state["x"], state["q"], int(state["k"])
        self.eps, self.eps_old = float(state["eps"]), float(state["eps_old"])
        self.lipschitz, self.g_old = state["lipschitz"], float(state["g_old"])


__all__ = ["HOAG", "HOAGRun", "SCHEDULES"]
