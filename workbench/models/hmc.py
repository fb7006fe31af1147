"""Fully stochastic BNN by full-batch Hamiltonian Monte Carlo (Neal 2011), the inference Li et al. 2024
found best for BNN surrogates.

Several chains run at once as one batch; each chain adapts its own step size during warm-up by dual
averaging (Hoffman & Gelman 2014) towards ``target_accept``. The first fit starts the chains from MAP
fits; later fits of the same run start from where the previous chains ended (with their step sizes),
so a short warm-up suffices. Every random draw comes from the caller's ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from botorch.models.model import Model
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.bnn import NeuralSurrogate, as_nn, initial_state, map_fit, sampled_model
from workbench.validation import check_int, check_positive


@dataclass
class HMCResult:
    samples: Tensor  # (kept per chain * chains) x D
    last: Tensor  # chains x D, the final state of every chain
    step_size: Tensor  # chains, the adapted step sizes
    accept_rate: float  # mean acceptance probability after warm-up


def _grad(potential: Callable[[Tensor], Tensor], z: Tensor) -> tuple[Tensor, Tensor]:
    z = z.detach().requires_grad_(True)
    U = potential(z)
    (g,) = torch.autograd.grad(U.sum(), z)
    return U.detach(), g


def hmc(potential: Callable[[Tensor], Tensor], z0: Tensor, *, step_size: Tensor, warmup: int, samples: int,
        leapfrog: int, thin: int, target_accept: float, generator: torch.Generator) -> HMCResult:
    """Run ``C`` chains from ``z0`` (``C x D``) on ``potential`` (``C x D -> C``, the negative log density).

    ``warmup`` iterations adapt the step sizes (``C``) and are discarded; then ``samples`` iterations,
    every ``thin``-th kept. The adaptation restarts halfway through warm-up from the step size learnt so far,
    so the early, far-from-typical iterations do not weigh on the final step size."""
    z = z0.detach().clone()
    C = z.shape[0]
    U, g = _grad(potential, z)
    log_eps = step_size.log().clone()
    mu = (10 * step_size).log()
    h_bar = torch.zeros(C, dtype=z.dtype, device=z.device)
    log_eps_bar = log_eps.clone()
    kept, accepts = [], []
    start = 0
    for it in range(warmup + samples):
        eps = log_eps.exp().unsqueeze(-1)
        p = torch.randn(z.shape, generator=generator, dtype=z.dtype, device="cpu").to(z.device)
        H0 = U + 0.5 * (p**2).sum(-1)
        z1, g1 = z, g
        p1 = p - 0.5 * eps * g1
        for step in range(leapfrog):
            z1 = z1 + eps * p1
            U1, g1 = _grad(potential, z1)
            if step < leapfrog - 1:
                p1 = p1 - eps * g1
        p1 = p1 - 0.5 * eps * g1
        H1 = U1 + 0.5 * (p1**2).sum(-1)
        log_ratio = torch.nan_to_num(H0 - H1, nan=-math.inf)
        alpha = log_ratio.clamp(max=0.0).exp()
        u = torch.rand(C, generator=generator, dtype=z.dtype, device="cpu").to(z.device)
        accept = (u < alpha) & torch.isfinite(U1)
        z = torch.where(accept.unsqueeze(-1), z1.detach(), z)
        U = torch.where(accept, U1, U)
        g = torch.where(accept.unsqueeze(-1), g1, g)
        if it < warmup:  # dual averaging of log step size, per chain, restarted halfway (as Stan's windows)
            if it == warmup // 2 and warmup >= 20:
                mu = log_eps_bar + math.log(10.0)
                h_bar = torch.zeros_like(h_bar)
                start = it
            t = it + 1 - start
            h_bar = (1 - 1 / (t + 10)) * h_bar + (target_accept - alpha) / (t + 10)
            log_eps = mu - math.sqrt(t) / 0.05 * h_bar
            w = t**-0.75
            log_eps_bar = w * log_eps + (1 - w) * log_eps_bar
            if it == warmup - 1:
                log_eps = log_eps_bar.clone()
        else:
            accepts.append(alpha)
            if (it - warmup + 1) % thin == 0:
                kept.append(z.clone())
    rate = float(torch.stack(accepts).mean()) if accepts else float("nan")
    samples_out = torch.cat(kept) if kept else z.clone()
    return HMCResult(samples_out, z, log_eps.exp(), rate)


@dataclass(frozen=True, kw_only=True)
class HMCSurrogate(NeuralSurrogate):
    """BNN posterior by HMC: ``chains`` chains, ``leapfrog`` steps per trajectory."""

    kind = "hmc"

    chains: int = 4
    #: warm-up iterations of the first fit (from MAP) and of later fits (from the previous chains)
    warmup: int = 150
    warm_warmup: int = 30
    #: iterations after warm-up, per chain; every ``thin``-th is kept
    samples: int = 60
    thin: int = 6
    leapfrog: int = 10
    target_accept: float = 0.8
    #: Adam steps of the MAP fit that starts the chains
    map_steps: int = 300
    lr: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in ("chains", "warmup", "warm_warmup", "samples", "thin", "leapfrog", "map_steps"):
            check_int(self, field, getattr(self, field), 1)
        check_positive(self, "lr", self.lr)
        if not (isinstance(self.target_accept, float) and 0.0 < self.target_accept < 1.0):
            raise InvalidConfigError(
                f"HMCSurrogate.target_accept must be a float in (0, 1), but got target_accept={self.target_accept!r}"
            )

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        x, y = as_nn(X, Y)
        shape = self.shape(x.shape[-1])
        previous = state.get("hmc")
        if previous is not None and previous["z"].shape == (self.chains, shape.n_params + 1):
            z0, eps, warmup = previous["z"], previous["step_size"], self.warm_warmup
        else:
            z0 = initial_state(self, shape, self.chains, generator, x.device)
            z0 = map_fit(self, shape, z0, x, y, steps=self.map_steps, lr=self.lr)
            eps = torch.full((self.chains,), 1e-3, dtype=z0.dtype, device=x.device)
            warmup = self.warmup
        result = hmc(lambda z: self.potential(shape, z, x, y), z0, step_size=eps, warmup=warmup,
                     samples=self.samples, leapfrog=self.leapfrog, thin=self.thin,
                     target_accept=self.target_accept, generator=generator)
        state["hmc"] = {"z": result.last, "step_size": result.step_size}
        state["accept_rate"] = result.accept_rate
        return sampled_model(self, shape, result.samples, X)
