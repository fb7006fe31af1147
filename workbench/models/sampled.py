"""A BoTorch ``Model`` from a finite set of sampled functions: the posterior of every neural surrogate.

Ensembles, HMC/SGHMC chains and Laplace samples all end as ``S`` functions ``f_s``. At ``q`` points the
posterior is the Gaussian with the sample mean and the (joint, ``q x q``) sample covariance of
``f_1..f_S``, plus a small jitter, as a ``GPyTorchPosterior``: every BoTorch Monte Carlo acquisition
function (qLogNEI, qLogEI, qUCB) and Thompson sampling over candidates work with it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from torch import Tensor

from workbench.models.base import SingleOutputModel


class SampledFunctionModel(SingleOutputModel):
    """Posterior from ``predict(X) -> S x N`` function values at ``N x d`` points.

    ``noise`` is the observation-noise variance (added when ``observation_noise=True``); ``jitter`` keeps
    the covariance positive definite when ``q > S``. Outputs are in the units the functions were fit in."""

    _num_outputs = 1

    def __init__(self, predict: Callable[[Tensor], Tensor], *, noise: float, jitter: float = 1e-6,
                 train_inputs: Tensor | None = None) -> None:
        super().__init__()
        self._predict = predict
        self.noise = float(noise)
        self.jitter = float(jitter)
        self._train_inputs = train_inputs

    def function_samples(self, X: Tensor) -> Tensor:
        """``batch x q x d`` -> ``S x batch x q`` function values in ``X``'s dtype."""
        batch, q, d = X.shape[:-2], X.shape[-2], X.shape[-1]
        F = self._predict(X.reshape(-1, d))
        return F.to(X.dtype).reshape(F.shape[0], *batch, q)

    def posterior(self, X: Tensor, output_indices: list[int] | None = None, observation_noise: Any = False,
                  posterior_transform: Any = None, **kwargs: Any) -> GPyTorchPosterior:
        F = self.function_samples(X)
        S = F.shape[0]
        mean = F.mean(0)
        centred = F - mean
        cov = torch.einsum("s...i,s...j->...ij", centred, centred) / max(S - 1, 1)
        extra = self.jitter + (self.noise if observation_noise is True else 0.0)
        eye = torch.eye(X.shape[-2], dtype=X.dtype, device=X.device)
        posterior = GPyTorchPosterior(MultivariateNormal(mean, cov + extra * eye))
        return posterior_transform(posterior) if posterior_transform is not None else posterior
