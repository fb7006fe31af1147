"""BNN posterior by stochastic-gradient HMC (Chen et al. 2014) with the scale adaptation of Springenberg et
al. 2016 (BOHAMIANN): a diagonal mass matrix from a running average of squared gradients, estimated during
burn-in and then frozen, so one learning rate fits networks of any size.

Update per step, with ``m = 1 / sqrt(V)`` (the inverse mass), learning rate ``eta`` and friction ``alpha``::

    v <- (1 - alpha) v - eta m * grad U~(z) + sqrt(2 alpha eta m) * xi,     z <- z + v

where ``U~`` is the negative log joint with the likelihood of a random minibatch scaled by ``n / batch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from botorch.models.model import Model
from torch import Tensor

from workbench.models.base import FitError
from workbench.models.bnn import NeuralSurrogate, as_nn, initial_state, sampled_model
from workbench.validation import check_int, check_positive


@dataclass(frozen=True, kw_only=True)
class SGHMCSurrogate(NeuralSurrogate):
    """BNN by scale-adapted SGHMC: ``chains`` chains, ``burnin`` steps (``warm_burnin`` from the previous
    chains), then ``samples`` steps keeping every ``thin``-th."""

    kind = "sghmc"

    chains: int = 4
    burnin: int = 1500
    warm_burnin: int = 300
    samples: int = 500
    thin: int = 50
    lr: float = 0.01
    friction: float = 0.05
    #: minibatch size (the full data when fewer points)
    batch_size: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in ("chains", "burnin", "warm_burnin", "samples", "thin", "batch_size"):
            check_int(self, field, getattr(self, field), 1)
        check_positive(self, "lr", self.lr)
        check_positive(self, "friction", self.friction)

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        x, y = as_nn(X, Y)
        n = y.shape[0]
        shape = self.shape(x.shape[-1])
        previous = state.get("sghmc")
        if previous is not None and previous["z"].shape == (self.chains, shape.n_params + 1):
            z, burnin = previous["z"].clone(), self.warm_burnin
        else:
            z, burnin = initial_state(self, shape, self.chains, generator, x.device), self.burnin
        v = torch.zeros_like(z)
        V = torch.ones_like(z)
        b = min(self.batch_size, n)
        kept = []
        for it in range(burnin + self.samples):
            idx = torch.randperm(n, generator=generator)[:b].to(x.device)
            zg = z.detach().requires_grad_(True)
            U = self.potential(shape, zg, x[idx], y[idx], scale=n / b)
            (g,) = torch.autograd.grad(U.sum(), zg)
            if not bool(torch.isfinite(g).all()):
                raise FitError("sghmc: a gradient is not finite")
            if it < burnin:
                tau = min(it + 1, 100)
                V = (1 - 1 / tau) * V + g**2 / tau if it else g**2
            m = 1.0 / (V.sqrt() + 1e-8)
            noise = torch.randn(z.shape, generator=generator, dtype=z.dtype).to(z.device)
            v = (1 - self.friction) * v - self.lr * m * g + (2 * self.friction * self.lr * m).sqrt() * noise
            z = z + v
            if it >= burnin and (it - burnin + 1) % self.thin == 0:
                kept.append(z.clone())
        state["sghmc"] = {"z": z.detach()}
        return sampled_model(self, shape, torch.cat(kept), X)
