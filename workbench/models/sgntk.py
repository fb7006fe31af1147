"""BO surrogates from sign networks at infinite width: the NNGP of a random sign network, and the function a
sign network learns by surrogate-gradient descent (the SG-NTK's trained-network distribution).

``NNGPSignSurrogate`` (``bo-nngp-sign``) is a GP whose covariance is the NNGP of a sign network with
``depth`` hidden layers (:class:`~workbench.models.kernels.infinite_width.NNGPKernel` at ``m = inf``), its
weight and bias variances, output scale, noise and constant mean fitted by marginal likelihood.

``SGNTKSurrogate`` (``bo-sgntk``) models the objective as an infinitely wide sign network trained to
convergence by surrogate-gradient descent (the ``erf_k'`` surrogate) on the observations: its function is
Gaussian (Eilers, Memmesheimer & Goedeke, NeurIPS 2024) with

    mean(x) = c + I(x, X) (I(X, X) + λ Id)⁻¹ (Y − c)
    cov(x, x') = Σ(x, x') − A(x) Σ(X, x') − Σ(x, X) A(x')ᵀ + A(x) Σ(X, X) A(x')ᵀ,  A(x) = I(x, X)(I(X, X) + λ Id)⁻¹

where ``Σ`` is the NNGP (the network's prior at initialization) and ``I`` the SG-NTK. It is not a Bayesian
posterior: the mean interpolates with the SG-NTK, and the spread is what is left of the random
initialization after training. The hyperparameters (``σ_w²``, ``σ_b²``, the output scale, which is the
readout's κ², the constant ``c`` and the ridge ``λ``, the fitted noise) are the NNGP GP's, fitted by
marginal likelihood under the network's prior. Inputs in the unit cube are centered to ``[-1, 1]`` first
(a dot-product kernel sees directions: centering makes them vary across the box).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from botorch.models import SingleTaskGP
from botorch.models.model import Model
from botorch.models.transforms.input import AffineInputTransform
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from gpytorch.kernels import ScaleKernel
from linear_operator.utils.cholesky import psd_safe_cholesky
from torch import Tensor

from workbench.models.base import Surrogate, check_finite, seed_from
from workbench.models.gp import fit_mll, load_hyperparameters, save_hyperparameters
from workbench.models.kernels.infinite_width import NNGPKernel
from workbench.models.kernels.sgntk import derf_derf, tangent_recursion
from workbench.validation import check_int, check_positive


def _center(d: int) -> AffineInputTransform:
    """``x -> 2x - 1`` (BoTorch applies ``(x - offset) / coefficient``)."""
    return AffineInputTransform(d, coefficient=torch.full((d,), 0.5, dtype=torch.float64),
                                offset=torch.full((d,), 0.5, dtype=torch.float64))


def fit_nngp_sign(X: Tensor, Y: Tensor, *, depth: int, generator: torch.Generator, state: dict[str, Any],
                  key: str) -> SingleTaskGP:
    """A GP with the sign network's NNGP kernel (and an output scale), fitted by marginal likelihood."""
    kernel = ScaleKernel(NNGPKernel(depth=depth, m=math.inf, weight_var=1.0, bias_var=0.1))
    gp = SingleTaskGP(X.double(), Y.double(), covar_module=kernel, input_transform=_center(X.shape[-1]),
                      outcome_transform=None)
    load_hyperparameters(gp, state.get(key))  # warm start from the previous fit of the run
    gp = fit_mll(gp, seed=seed_from(generator), jitter=state.get("jitter"))
    state[key] = save_hyperparameters(gp)
    return gp


@dataclass(frozen=True, kw_only=True)
class NNGPSignSurrogate(Surrogate):
    """GP with the NNGP kernel of an infinitely wide sign network of ``depth`` hidden layers."""

    kind = "nngp-sign"
    is_gp = True
    #: hidden layers of the sign network
    depth: int = 2

    def __post_init__(self) -> None:
        check_int(self, "depth", self.depth, 1)

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        gp = fit_nngp_sign(X, Y, depth=self.depth, generator=generator, state=state, key="nngp-sign")
        check_finite(gp, X)
        return gp


class SGNTKModel(Model):
    """The distribution of an infinitely wide sign network's function after surrogate-gradient training
    to convergence on ``(X, Y)`` (module docstring), as a BoTorch model with one output."""

    def __init__(self, X: Tensor, Y: Tensor, *, depth: int, k: float, weight_var: float, bias_var: float,
                 outputscale: float, ridge: float, constant: float) -> None:
        super().__init__()
        self.depth, self.k = depth, float(k)
        self.w2, self.b2, self.scale = float(weight_var), float(bias_var), float(outputscale)
        self.ridge, self.constant = float(ridge), float(constant)
        self.center = _center(X.shape[-1])
        self.Xc = self.center(X.double())
        I_XX, S_XX = self._kernels(self.Xc, self.Xc)
        n = len(X)
        eye = torch.eye(n, dtype=torch.float64)
        self._lu = torch.linalg.lu_factor((I_XX + self.ridge * eye).T)
        self.S_XX = S_XX
        self.L_XX = psd_safe_cholesky(S_XX + 1e-9 * self.scale * eye)
        self.resid = Y.double().reshape(-1) - self.constant

    def _kernels(self, A: Tensor, B: Tensor) -> tuple[Tensor, Tensor]:
        """``(I(A, B), Σ(A, B))``, both scaled by the output scale."""
        k = self.k
        nngp, tangent = tangent_recursion(A, B, depth=self.depth, w2=self.w2, b2=self.b2, m=math.inf,
                                 derivative=lambda a, b, c: derf_derf(a, b, c, math.inf, k))
        return self.scale * tangent, self.scale * nngp

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size([])

    def posterior(self, X: Tensor, output_indices: list[int] | None = None, observation_noise: bool | Tensor = False,
                  posterior_transform: Any = None, **kwargs: Any) -> GPyTorchPosterior:
        T = self.center(X.double())  # ... x q x d
        I_TX, S_TX = self._kernels(T, self.Xc)
        A = torch.linalg.lu_solve(*self._lu, I_TX.transpose(-1, -2)).transpose(-1, -2)  # ... x q x n
        mean = self.constant + A @ self.resid
        S_TT = self._kernels(T, T)[1]
        # f(T) - A f(X) with f ~ GP(0, Σ), written through independent normals so that the covariance is a
        # sum of Gram matrices (positive semi-definite by construction, where the expanded form
        # Σ_TT - AΣ_XT - Σ_TX Aᵀ + AΣ_XX Aᵀ loses it to cancellation near the observations):
        # f(X) = L z₁, f(T) = G z₁ + R z₂ with G = Σ_TX L⁻ᵀ and R Rᵀ = Σ_TT - G Gᵀ (the conditional covariance)
        G = torch.linalg.solve_triangular(self.L_XX, S_TX.transpose(-1, -2), upper=False).transpose(-1, -2)
        schur = S_TT - G @ G.transpose(-1, -2)
        schur = 0.5 * (schur + schur.transpose(-1, -2))
        R = psd_safe_cholesky(schur + 1e-9 * self.scale * torch.eye(schur.shape[-1], dtype=schur.dtype))
        B = G - A @ self.L_XX
        cov = B @ B.transpose(-1, -2) + R @ R.transpose(-1, -2)
        eye = torch.eye(cov.shape[-1], dtype=cov.dtype)
        cov = cov + 1e-6 * eye  # bo-gp's noise floor, in the standardized units of Y
        if isinstance(observation_noise, Tensor):  # given noise variances, ... x q x 1
            cov = cov + torch.diag_embed(observation_noise.to(cov).squeeze(-1).expand(cov.shape[:-1]))
        elif observation_noise:
            cov = cov + self.ridge * eye
        post = GPyTorchPosterior(MultivariateNormal(mean, cov))
        return posterior_transform(post) if posterior_transform is not None else post


@dataclass(frozen=True, kw_only=True)
class SGNTKSurrogate(Surrogate):
    """The function of an infinitely wide sign network trained by surrogate-gradient descent
    (:class:`SGNTKModel`); hyperparameters from the NNGP's marginal likelihood."""

    kind = "sgntk"
    is_gp = False  # not a GP posterior: the acquisition keeps no cached Cholesky root
    #: hidden layers of the sign network
    depth: int = 2
    #: the surrogate derivative ``erf_k'`` used in training (the SG-NTK paper's ``k = 1``)
    k: float = 1.0

    def __post_init__(self) -> None:
        check_int(self, "depth", self.depth, 1)
        check_positive(self, "k", self.k)

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        gp = fit_nngp_sign(X, Y, depth=self.depth, generator=generator, state=state, key="sgntk")
        kernel = gp.covar_module
        model = SGNTKModel(X, Y, depth=self.depth, k=self.k, weight_var=kernel.base_kernel.weight_var.item(),
                           bias_var=kernel.base_kernel.bias_var.item(), outputscale=kernel.outputscale.item(),
                           ridge=gp.likelihood.noise.item(), constant=gp.mean_module.constant.item())
        check_finite(model, X)
        return model


__all__ = ["NNGPSignSurrogate", "SGNTKModel", "SGNTKSurrogate", "fit_nngp_sign"]
