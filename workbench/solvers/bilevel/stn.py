"""Self-Tuning Networks (MacKay, Vicol, Lorraine, Duvenaud, Grosse; ICLR 2019), and the fixed-θ baseline.

STN approximates the best response ``w*(λ)`` of a network's weights to its hyperparameters ``λ`` with
structured layers: every linear layer is ``W(λ) = W_e + diag(Vλ) W_h``, ``b(λ) = b_e + (Cλ) ⊙ b_h``
(:class:`HyperLinear`; for a batch with per-example ``λ_i``: ``y_i = W_e x_i + b_e + (Vλ_i) ⊙ (W_h x_i) +
(Cλ_i) ⊙ b_h``, two matrix products). Training alternates, after ``warmup_epochs`` of training steps only:

* ``train_steps`` training steps on the weights ``φ = (W_e, W_h, b_e, b_h, V, C)``: per-example
  hyperparameters ``λ_i = λ + σ ⊙ ε_i`` (``σ = softplus(s)``, unconstrained space), the training loss with
  dropout and noise at ``λ_i`` (masks drawn with the rates detached);
* ``val_steps`` hyper steps on ``λ`` and ``s``: the validation loss of the plain network at perturbed
  ``λ_i`` (no dropout, no noise: the hypergradient flows through the best-response layers) minus
  ``τ Σ log(σ √(2πe))`` (the perturbation's entropy), Adam.

One step of the family is one epoch over the training batches. The step records ``λ`` (the learned
**schedule**: one θ per epoch) and the best-response weights at ``λ`` (scored as the plain network).
Defaults are the CIFAR-10 experiment's where they carry over (Adam 3e-3 on λ and s, σ₀ = 0.5, τ = 1e-3,
2 : 1 alternation); the weights train with Adam at the problem's learning rate (the paper uses SGD with
momentum 0.9 at 0.01 on AlexNet), and warm-up is 2 epochs (5 in the paper's 200-epoch runs).

:class:`Fixed` trains the plain network with θ held fixed, one epoch per step, through the same counted
batches: a grid of them is the fixed-hyperparameter baseline STN's schedule is measured against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from workbench.errors import InvalidConfigError
from workbench.families.bilevel import BilevelRun, BilevelSolver, Iterate, Oracle
from workbench.problem import Problem
from workbench.solver import CellContext, solvers
from workbench.solvers.bilevel.maid import _positive


class HyperLinear(nn.Module):
    """A linear layer whose weights respond to hyperparameters: ``W(λ) = W_e + diag(Vλ) W_h``, ``b(λ) = b_e +
    (Cλ) ⊙ b_h``. ``V`` and ``C`` start at N(0, 0.01²); with ``V = C = 0`` it is the plain layer ``W_e, b_e``."""

    def __init__(self, n_in: int, n_out: int, n_hyper: int, generator: torch.Generator) -> None:
        super().__init__()
        bound = 1 / math.sqrt(n_in)

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter((torch.rand(*shape, generator=generator) * 2 - 1) * bound)

        self.elem_w, self.elem_b = uniform(n_out, n_in), uniform(n_out)
        self.hyper_w, self.hyper_b = uniform(n_out, n_in), uniform(n_out)
        self.scales = nn.Parameter(0.01 * torch.randn(2 * n_out, n_hyper, generator=generator))  # [V; C]
        self.n_out = n_out

    def forward(self, x: Tensor, hyper: Tensor) -> Tensor:
        """``x``: ``B x n_in``; ``hyper``: ``B x n_hyper`` (one λ per example) or ``n_hyper`` (one for all)."""
        s = hyper @ self.scales.T
        sw, sb = s[..., : self.n_out], s[..., self.n_out :]
        return x @ self.elem_w.T + self.elem_b + sw * (x @ self.hyper_w.T) + sb * self.hyper_b

    def at(self, hyper: Tensor) -> tuple[Tensor, Tensor]:
        """The plain layer's ``(W, b)`` at one ``λ``."""
        s = self.scales @ hyper
        return self.elem_w + s[: self.n_out, None] * self.hyper_w, self.elem_b + s[self.n_out :] * self.hyper_b


@solvers.register("stn")
@dataclass(frozen=True, kw_only=True)
class STN(BilevelSolver):
    """Self-Tuning Networks: structured best-response layers, hyperparameters tuned online, a schedule out."""

    needs_strong_convexity = False
    needs_network = True

    #: Adam learning rate of the hyperparameters λ and of the perturbation scale s
    hyper_lr: float = 3e-3
    #: learning rate of the weights (None: the problem's)
    lr: float | None = None
    #: initial perturbation scale σ₀ (unconstrained space)
    scale0: float = 0.5
    #: learn the perturbation scale (with the entropy term); False keeps σ = σ₀
    tune_scales: bool = True
    #: take hyper steps at all; False keeps λ = θ₀ (an ablation: the best-response network trained with
    #: perturbed hyperparameters, no schedule)
    tune: bool = True
    #: entropy weight τ
    entropy_weight: float = 1e-3
    #: epochs of training steps only, before the alternation starts
    warmup_epochs: int = 2
    #: training steps per round of the alternation
    train_steps: int = 2
    #: hyper steps per round
    val_steps: int = 1

    def __post_init__(self) -> None:
        for f in ("hyper_lr", "scale0"):
            _positive(f"STN.{f}", getattr(self, f))
        if self.lr is not None:
            _positive("STN.lr", self.lr)
        if isinstance(self.entropy_weight, bool) or not isinstance(self.entropy_weight, (int, float)) or \
                not (math.isfinite(self.entropy_weight) and self.entropy_weight >= 0):
            raise InvalidConfigError(f"STN.entropy_weight must be a finite number >= 0, but got {self.entropy_weight!r}")
        for f, low in (("warmup_epochs", 0), ("train_steps", 1), ("val_steps", 1)):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InvalidConfigError(f"STN.{f} must be an int >= {low}, but got {v!r}")

    def start(self, oracle: Oracle, cell: CellContext) -> STNRun:
        return STNRun(self, oracle, cell)


def _inverse_softplus(y: float) -> float:
    return math.log(math.expm1(y))


class STNRun(BilevelRun):
    def __init__(self, config: STN, oracle: Oracle, cell: CellContext) -> None:
        self.c, self.oracle = config, oracle
        self.net = oracle.network()
        g = torch.Generator().manual_seed(1_000_003 * cell.seed + 23)
        h = self.net.n_hyper
        self.layers = nn.ModuleList([HyperLinear(i, o, h, g) for o, i in self.net.shapes]).to(cell.device)
        self.hyper = nn.Parameter(oracle.theta0().to(cell.device, torch.float32).clone())
        self.scale = nn.Parameter(torch.full((h,), _inverse_softplus(config.scale0), device=cell.device))
        self.opt = torch.optim.Adam(self.layers.parameters(), lr=config.lr or self.net.lr)
        self.hopt = torch.optim.Adam([self.hyper] + ([self.scale] if config.tune_scales else []), lr=config.hyper_lr)
        self.data = g
        self.epoch = 0
        self.low, self.high = (b.to(cell.device, torch.float32) for b in oracle.space.bounds)

    def _perturbed(self, n: int) -> Tensor:
        eps = torch.randn(n, self.hyper.numel(), generator=self.data).to(self.hyper)
        return self.hyper + nn.functional.softplus(self.scale) * eps

    def _bound(self, hyper: Tensor) -> list:
        return [lambda x, layer=layer: layer(x, hyper) for layer in self.layers]

    def step(self) -> Iterate:
        c = self.c
        alternate = c.tune and self.epoch >= c.warmup_epochs
        val_batches = self.net.batches(self.data, "val")
        done = 0
        for X, y in self.net.batches(self.data, "train"):
            hyper = self._perturbed(len(y)).detach()
            loss = self.net.train_loss(self._bound(hyper), X, y, hyper, self.data)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            done += 1
            if alternate and done % c.train_steps == 0:
                for _ in range(c.val_steps):
                    batch = next(val_batches, None)
                    if batch is None:
                        val_batches = self.net.batches(self.data, "val")
                        batch = next(val_batches)
                    self._hyper_step(*batch)
        self.epoch += 1
        with torch.no_grad():
            lam = self.hyper.detach().clone()
            weights = [layer.at(lam) for layer in self.layers]
        sigma = nn.functional.softplus(self.scale.detach())
        return Iterate(lam.double(), self.net.flatten(weights), {"perturbation": float(sigma.mean())})

    def _hyper_step(self, X: Tensor, y: Tensor) -> None:
        hyper = self._perturbed(len(y)) if self.c.tune_scales else self.hyper.expand(len(y), -1)
        loss = self.net.val_loss(self._bound(hyper), X, y)
        if self.c.tune_scales and self.c.entropy_weight:
            sigma = nn.functional.softplus(self.scale)
            loss = loss - self.c.entropy_weight * torch.log(sigma * math.sqrt(2 * math.pi * math.e)).sum()
        self.hopt.zero_grad()
        self.opt.zero_grad()
        loss.backward()
        self.hopt.step()
        with torch.no_grad():  # λ stays inside the space's box
            self.hyper.copy_(torch.maximum(torch.minimum(self.hyper, self.high), self.low))

    def state_dict(self) -> dict[str, Any]:
        return {"layers": self.layers.state_dict(), "hyper": self.hyper.detach().clone(),
                "scale": self.scale.detach().clone(), "opt": self.opt.state_dict(), "hopt": self.hopt.state_dict(),
                "data": self.data.get_state(), "epoch": self.epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.layers.load_state_dict(state["layers"])
        with torch.no_grad():
            self.hyper.copy_(state["hyper"])
            self.scale.copy_(state["scale"])
        self.opt.load_state_dict(state["opt"])
        self.hopt.load_state_dict(state["hopt"])
        self.data.set_state(state["data"].cpu())
        self.epoch = int(state["epoch"])


@solvers.register("fixed")
@dataclass(frozen=True, kw_only=True)
class Fixed(BilevelSolver):
    """The network trained with its hyperparameters held fixed (θ₀, or ``theta``): one epoch per step."""

    needs_strong_convexity = False
    needs_network = True

    #: the hyperparameters (None: the problem's θ₀)
    theta: tuple[float, ...] | None = None
    #: learning rate of the weights (None: the problem's)
    lr: float | None = None

    def __post_init__(self) -> None:
        if self.theta is not None and not all(isinstance(v, (int, float)) and math.isfinite(v) for v in self.theta):
            raise InvalidConfigError(f"Fixed.theta must be finite numbers or None, but got {self.theta!r}")
        if self.lr is not None:
            _positive("Fixed.lr", self.lr)

    def missing(self, problem: Problem) -> list[str]:
        out = super().missing(problem)
        if self.theta is not None and len(self.theta) != problem.space.dim:
            out.append(f"of {len(self.theta)} hyperparameters, as {self.label!r}'s theta is (it has "
                       f"{problem.space.dim})")
        return out

    def start(self, oracle: Oracle, cell: CellContext) -> FixedRun:
        return FixedRun(self, oracle, cell)


class FixedRun(BilevelRun):
    def __init__(self, config: Fixed, oracle: Oracle, cell: CellContext) -> None:
        self.net = oracle.network()
        theta = oracle.theta0() if config.theta is None else torch.tensor(config.theta, dtype=torch.float64)
        theta = theta.to(cell.device)
        if theta.shape != (self.net.n_hyper,):
            raise InvalidConfigError(f"Fixed.theta must hold {self.net.n_hyper} values for problem "
                                     f"{oracle.name!r}, but got {tuple(theta.shape)}")
        self.theta = oracle.project(theta)
        self.w = nn.Parameter(oracle.x0().clone())
        self.opt = torch.optim.Adam([self.w], lr=config.lr or self.net.lr)
        self.data = torch.Generator().manual_seed(1_000_003 * cell.seed + 23)

    def step(self) -> Iterate:
        hyper = self.theta.to(torch.float32)
        for X, y in self.net.batches(self.data, "train"):
            loss = self.net.train_loss(self.net.layers(self.w), X, y, hyper.expand(len(y), -1), self.data)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return Iterate(self.theta, self.w.detach().clone())

    def state_dict(self) -> dict[str, Any]:
        return {"w": self.w.detach().clone(), "opt": self.opt.state_dict(), "data": self.data.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        with torch.no_grad():
            self.w.copy_(state["w"])
        self.opt.load_state_dict(state["opt"])
        self.data.set_state(state["data"].cpu())


__all__ = ["STN", "Fixed", "FixedRun", "HyperLinear", "STNRun"]
