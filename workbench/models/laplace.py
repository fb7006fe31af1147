"""Laplace-approximated BNN (MacKay 1992; Immer et al. 2021): a Gaussian around the MAP network with the
generalized Gauss-Newton precision ``J^T J / sigma^2 + lambda I``, around a randomized MAP whose prior is
centred at a draw ``theta_0`` from the zero-mean prior (see :func:`workbench.models.bnn.map_fit`), so the
evidence below has ``|theta* - theta_0|^2`` where a zero-centred prior has ``|theta*|^2``, predictions from the network linearized
at the MAP (the "GLM predictive" that Li et al. 2024 and laplace-torch recommend for regression).

With ``n`` observations far fewer than ``P`` parameters, everything runs in the ``n x n`` dual: the prior
precision ``lambda`` and noise ``sigma^2`` maximize the Laplace evidence

    log Z = -n/2 log(2 pi sigma^2) - |r|^2 / (2 sigma^2) - lambda |theta*|^2 / 2 - 1/2 sum_i log(1 + e_i / (sigma^2 lambda))

(``e_i`` the eigenvalues of ``J J^T``, ``r`` the residuals) over a grid, and posterior parameter draws use
Matheron's rule, ``delta = d0 - J^T (J J^T + sigma^2 lambda I)^-1 (J d0 + sigma e)`` with
``d0 ~ N(0, I / lambda)``. A sampled function is ``f*(x) + J(x) delta``, a Jacobian-vector product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from botorch.models.model import Model
from torch import Tensor
from torch.func import jacrev, jvp, vmap

from workbench.models.base import FitError
from workbench.models.bnn import NN_DTYPE, NeuralSurrogate, as_nn, initial_state, map_fit
from workbench.models.sampled import SampledFunctionModel
from workbench.validation import check_int, check_positive


@dataclass(frozen=True, kw_only=True)
class LaplaceSurrogate(NeuralSurrogate):
    """Linearized Laplace around a MAP network trained ``steps`` Adam steps; ``samples`` function draws."""

    kind = "laplace"

    steps: int = 500
    lr: float = 0.01
    samples: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "steps", self.steps, 1)
        check_int(self, "samples", self.samples, 2)
        check_positive(self, "lr", self.lr)

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        x, y = as_nn(X, Y)
        shape = self.shape(x.shape[-1])
        z0 = initial_state(self, shape, 1, generator, x.device)
        z = map_fit(self, shape, z0, x, y, steps=self.steps, lr=self.lr)
        theta = z[0, :-1]
        shift = float(((theta - z0[0, :-1]).double() ** 2).sum())  # |theta* - prior mean|^2

        def f(th: Tensor, inputs: Tensor) -> Tensor:
            return shape.forward(th.unsqueeze(0), inputs)[0, :, 0]

        J = jacrev(f)(theta, x).double()  # n x P
        r = (y - f(theta, x)).double()
        K = J @ J.T
        e, Q = torch.linalg.eigh(K)
        e = e.clamp_min(0.0)
        noise0 = self.noise_var if self.noise_var is not None else float(torch.exp(z[0, -1]))
        lam, var = _evidence_grid(e, float((r**2).sum()), shift, y.shape[0], noise0)
        state["laplace"] = {"prior_precision": lam, "noise": var}
        n, P = J.shape
        S = self.samples
        d0 = torch.randn(S, P, generator=generator, dtype=torch.float64).to(x.device) / math.sqrt(lam)
        eps = torch.randn(S, n, generator=generator, dtype=torch.float64).to(x.device) * math.sqrt(var)
        A = K + var * lam * torch.eye(n, dtype=torch.float64, device=x.device)
        L = torch.linalg.cholesky(A)
        rhs = d0 @ J.T + eps  # S x n
        delta = d0 - torch.cholesky_solve(rhs.T, L).T @ J  # S x P
        if not bool(torch.isfinite(delta).all()):
            raise FitError("laplace: posterior draws are not finite")
        delta = delta.to(NN_DTYPE)
        theta = theta.detach()

        def predict(inputs: Tensor) -> Tensor:
            inputs = inputs.to(NN_DTYPE)
            mean = f(theta, inputs)
            lin = vmap(lambda d: jvp(lambda th: f(th, inputs), (theta,), (d,))[1])(delta)
            return mean.unsqueeze(0) + lin

        return SampledFunctionModel(predict, noise=var, train_inputs=X)


def _evidence_grid(e: Tensor, rss: float, theta_sq: float, n: int, var0: float) -> tuple[float, float]:
    """The (prior precision, noise variance) on a log grid that maximizes the linearized Laplace evidence."""
    lams = torch.logspace(-3, 3, 25, dtype=torch.float64)
    variances = var0 * torch.logspace(-1.5, 1.5, 13, dtype=torch.float64)
    lam, var = lams[:, None], variances[None, :]
    logdet = torch.log1p(e[None, None, :] / (var * lam)[..., None]).sum(-1)
    logz = -0.5 * n * torch.log(2 * math.pi * var) - 0.5 * rss / var - 0.5 * lam * theta_sq - 0.5 * logdet
    i = int(torch.argmax(logz))
    return float(lams[i // len(variances)]), float(variances[i % len(variances)])
