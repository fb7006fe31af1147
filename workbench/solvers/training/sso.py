"""``sso`` and ``sso-sls``: stochastic surrogate optimization with target-based surrogates.

Lavington, Vaswani, Babanezhad, Schmidt, Le Roux, "Target-based Surrogates for Stochastic Optimization",
ICML 2023. One expensive call per batch gives the loss's gradient in *target space*, ``∇f(z_t)`` at the
model's outputs ``z_t = z(θ_t)``; the optimizer then takes ``m`` cheap steps (model passes only) on the
surrogate

    g_t(θ) = f(z_t) + ⟨∇f(z_t), z(θ) − z_t⟩ + 1/(2 η_t B) ‖z(θ) − z_t‖² + r(θ)

where ``f(z) = mean_i ℓ(z_i, y_i)`` over the batch of ``B`` examples and ``r`` the problem's cheap
regularizer. Units: ``η`` is a step in target space *per example* (a target gradient step moves each
``z_i`` by ``−η ∇ℓ_i``), so it does not change with the batch size, and ``g_t`` majorizes the minibatch
objective when ``η <= 1/L`` for a loss ``ℓ`` that is ``L``-smooth in ``z`` (logistic: ``L = 1/4``; softmax
cross-entropy: ``1/2``; squared: ``1``). The reference code writes the same surrogate as
``mean(∇ℓ·z / eta_ref + (z − z_t)²)`` over all ``B x k`` target entries, i.e. ``eta_ref = 1 / (2 η)`` with
the loss summed over the batch (as its configurations do), ``1 / (2 η B)`` with it averaged.

Inner steps (``inner="armijo"``, the reference's): gradient steps on ``g_t`` with a backtracking Armijo
line search (``c = 0.5``, shrink ``0.9``, the step reset to ``inner_init = 10`` at every outer step and
grown by ``1.8^(1/batches per epoch)`` between inner steps); the loop stops early when the surrogate's
gradient norm falls under ``1e-6``. ``inner="fixed"`` takes plain steps of size ``inner_lr``: with
``m = 1`` that is exactly SGD with learning rate ``inner_lr`` (the surrogate's gradient at ``θ_t`` is the
minibatch gradient).

Step-size schedules for ``η`` (as in the reference): ``constant``; ``sqrt``: ``η / √t``; ``exponential``:
``η (1/T)^(t/T)`` over the run's ``T`` outer steps (from the budget, or ``total_steps``).

``sso-sls`` chooses ``η_t`` by an Armijo test in target space before the inner loop: starting from the
previous ``η`` grown by ``expand = 1.8``, it shrinks ``η`` by ``0.9`` until
``f(z_t − η B ∇f(z_t)) <= f(z_t) − c η B ‖∇f(z_t)‖²`` (``c = 0.5``), each test one (value-only) oracle call;
``η`` is kept in ``[1e-4, 1e4]``.

Costs per outer step: one oracle call (plus the line-search calls of ``sso-sls``); model passes: one for
``z_t``, then per inner step one forward and one backward pass plus one forward pass per Armijo trial.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from workbench.errors import SolverError
from workbench.families.training import Setup, Step, Trainer, TrainingSolver
from workbench.solvers import solvers
from workbench.validation import check_choice, check_int, check_number, check_positive

Schedule = Literal["constant", "sqrt", "exponential"]
ETA_RANGE = (1e-4, 1e4)


@solvers.register("sso")
@dataclass(frozen=True, kw_only=True)
class SSO(TrainingSolver):
    """Target-based surrogate optimization: one target-space gradient, ``m`` cheap surrogate steps."""

    #: surrogate steps per expensive call
    m: int = 10
    #: target-space step size per example (the surrogate's ``η``)
    eta: float = 1.0
    #: ``η_t`` over outer steps ``t``: constant, ``η/√t``, or ``η (1/T)^(t/T)``
    schedule: Schedule = "constant"
    #: inner steps: Armijo line search on the surrogate (the reference's), or a fixed step ``inner_lr``
    inner: Literal["armijo", "fixed"] = "armijo"
    #: the fixed inner step (``inner="fixed"``)
    inner_lr: float = 0.1
    #: the inner line search's starting step at every outer step
    inner_init: float = 10.0
    #: Armijo constant and shrink factor of the inner line search
    c: float = 0.5
    beta: float = 0.9
    #: growth of the inner step between inner steps, spread over an epoch (``expand^(1/batches)``)
    expand: float = 1.8
    #: outer steps ``T`` of the exponential schedule (default: what the budget allows)
    total_steps: int | None = None

    def __post_init__(self) -> None:
        check_int(self, "m", self.m, 1)
        check_positive(self, "eta", self.eta)
        check_choice(self, "schedule", self.schedule, ("constant", "sqrt", "exponential"))
        check_choice(self, "inner", self.inner, ("armijo", "fixed"))
        check_positive(self, "inner_lr", self.inner_lr)
        check_positive(self, "inner_init", self.inner_init)
        check_number(self, "c", self.c, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number(self, "beta", self.beta, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number(self, "expand", self.expand, low=1.0)
        check_int(self, "total_steps", self.total_steps, 1, optional=True)

    def start(self, model: nn.Module, setup: Setup) -> Trainer:
        total = self.total_steps or setup.total_steps
        if self.schedule == "exponential" and not total:
            raise SolverError(f"solver {self.label!r}: the exponential schedule needs the run's length: give "
                              f"total_steps=..., or a budget in epochs or oracle calls")
        return SSOTrainer(self, model, setup.steps_per_epoch, total)

    def eta_at(self, eta: float, t: int, total: int | None) -> float:
        """``η_t`` at outer step ``t >= 1`` from the base ``eta``."""
        if self.schedule == "sqrt":
            return eta / math.sqrt(t)
        if self.schedule == "exponential":
            assert total
            return eta * (1.0 / total) ** (min(t, total) / total)
        return eta

    def target_eta(self, step: Step, z: Tensor, f: Tensor, g: Tensor, previous: float) -> float:
        """``η`` before the schedule: fixed for ``sso``; ``sso-sls`` searches it."""
        return self.eta


@solvers.register("sso-sls")
@dataclass(frozen=True, kw_only=True)
class SSOSLS(SSO):
    """SSO whose ``η`` is chosen at every outer step by an Armijo test in target space."""

    #: Armijo constant, shrink and growth factors of the target-space search
    outer_c: float = 0.5
    outer_beta: float = 0.9
    outer_expand: float = 1.8

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(self, "outer_c", self.outer_c, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number(self, "outer_beta", self.outer_beta, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number(self, "outer_expand", self.outer_expand, low=1.0)

    def target_eta(self, step: Step, z: Tensor, f: Tensor, g: Tensor, previous: float) -> float:
        B = step.size
        eta = min(previous * self.outer_expand, ETA_RANGE[1])
        g2 = float((g * g).sum())
        for _ in range(200):
            trial = float(step.value(z - eta * B * g))
            if trial <= float(f) - self.outer_c * eta * B * g2 or eta <= ETA_RANGE[0]:
                break
            eta *= self.outer_beta
        return min(max(eta, ETA_RANGE[0]), ETA_RANGE[1])


class SSOTrainer(Trainer):
    def __init__(self, solver: SSO, model: nn.Module, per_epoch: int, total: int | None) -> None:
        self.solver, self.model, self.total = solver, model, total
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.grow = solver.expand ** (1.0 / max(per_epoch, 1))
        self.t = 0  # outer steps taken
        self.eta = solver.eta  # the base η (sso-sls: the last one found)
        #: the last outer step, for inspection: ``f(z_t)``, ``z_t``, ``∇f(z_t)``, ``η_t``, inner steps taken
        self.last: dict[str, Any] = {}
        #: when a list, every accepted Armijo inner step appends ``(g_t before, g_t after, step, ‖∇g_t‖²)``
        #: (the surrogate without its constant ``f(z_t) − ⟨∇f, z_t⟩``)
        self.trace: list[tuple[float, float, float, float]] | None = None

    def surrogate(self, step: Step, z_t: Tensor, g: Tensor, eta: float, grad: bool) -> Tensor:
        """``g_t(θ) − f(z_t) + ⟨∇f, z_t⟩`` at the current parameters (a forward pass; with ``grad`` also
        a backward pass filling ``.grad``)."""
        z = step.targets(grad=grad)
        with torch.set_grad_enabled(grad):
            s = (g * z).sum() + ((z - z_t) ** 2).sum() / (2.0 * eta * step.size) + step.problem.regularizer(self.model)
            if grad:
                step.zero_grad()
                step.counter.model_passes += 1
                s.backward()
        return s.detach()

    def step(self, step: Step) -> None:
        solver = self.solver
        self.t += 1
        z_t = step.targets(grad=False)
        f, g = step.oracle(z_t)
        self.eta = solver.target_eta(step, z_t, f, g, self.eta)
        eta = solver.eta_at(self.eta, self.t, self.total)
        lr, inner = solver.inner_init, 0
        for _ in range(solver.m):
            s = self.surrogate(step, z_t, g, eta, grad=True)
            with torch.no_grad():
                grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
                g2 = float(sum((d * d).sum() for d in grads))
                if math.sqrt(g2) <= 1e-6:
                    break  # the surrogate is minimized to the reference's tolerance
                start = [p.detach().clone() for p in self.params]
                if solver.inner == "fixed":
                    lr = solver.inner_lr
                    for p, d in zip(self.params, grads):
                        p.sub_(lr * d)
                else:
                    lr *= self.grow
                    while True:
                        for p, p0, d in zip(self.params, start, grads):
                            p.copy_(p0 - lr * d)
                        trial = float(self.surrogate(step, z_t, g, eta, grad=False))
                        if trial <= float(s) - solver.c * lr * g2:
                            if self.trace is not None:
                                self.trace.append((float(s), trial, lr, g2))
                            break
                        lr *= solver.beta
                        if lr < 1e-12:  # no decrease found (round-off): stay at the last accepted point
                            for p, p0 in zip(self.params, start):
                                p.copy_(p0)
                            break
                    if lr < 1e-12:
                        break
            inner += 1
        step.zero_grad()
        self.last = {"f": float(f), "z": z_t, "g": g, "eta": eta, "inner_steps": inner, "inner_lr": lr}

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "eta": self.eta}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.eta = int(state["t"]), float(state["eta"])


__all__ = ["SSO", "SSOSLS", "SSOTrainer"]
