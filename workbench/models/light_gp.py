"""A small exact Gaussian process written for the BO loop: no GPyTorch modules between the data and the numbers.

Kernel: Matérn-5/2 (or RBF) with one inverse squared lengthscale ``rho_i`` per input and a fitted output
scale ``s``; zero mean on standardized outputs; Gaussian noise ``noise_floor + exp(raw)`` (or fixed).
Hyperparameters are a MAP estimate: L-BFGS-B (scipy) on their logarithms, started from the previous fit's
values, over ``-log p(y | X, theta) - log p(theta)``.

Priors (``prior``):

* ``"optuna"``: the priors of Optuna's GP sampler (the peer this surrogate is measured against):
  ``log p(rho_i) = -(0.1 / rho_i + 0.1 rho_i)`` (a density peaked at ``rho = 1`` that shrinks towards neither
  end), ``s ~ Gamma(2, 1)``, noise ``~ Gamma(1.1, 30)``, each up to its constant.
* ``"dim-scaled"``: the lengthscales ``l_i = rho_i^(-1/2) ~ LogNormal(sqrt(2) + log(d) / 2, sqrt(3))`` (Hvarfner,
  Hellsten & Nardi, ICML 2024: the prior mass moves to longer lengthscales as the dimension grows, which keeps
  a plain GP working past ~20 dimensions; BoTorch's default), with the same output-scale and noise priors.
* ``"mle"``: no lengthscale prior (maximum likelihood in the lengthscales), the first fit started from
  ``l_i = sqrt(d) / 10`` (MSR's initialization: Papenmeier, Poloczek & Nardi, ICML 2025, who find that a
  start scaled with the dimension is what keeps the likelihood's gradients from vanishing past ~20
  dimensions), with the same output-scale and noise priors.

The fitted model is a BoTorch ``Model`` (``posterior`` gives a ``GPyTorchPosterior``), so every BoTorch
acquisition function works with it; ``mean_var`` is the cheap path for analytic acquisitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import torch
from botorch.models.model import Model
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from torch import Tensor

from workbench.models.base import FitError, SingleOutputModel, Surrogate
from workbench.validation import check_choice, check_number

KERNELS = ("matern52", "rbf")
#: added to every posterior variance (keeps joint covariances of nearby points positive definite)
JITTER = 1e-9
PRIORS = ("optuna", "dim-scaled", "mle")


class _Matern52(torch.autograd.Function):
    """``(1 + sqrt(5 r2) + 5 r2 / 3) exp(-sqrt(5 r2))`` of squared distances ``r2``, with its derivative in
    ``r2`` written out: autograd through ``sqrt`` would divide by zero on the diagonal."""

    @staticmethod
    def forward(ctx: Any, r2: Tensor) -> Tensor:
        root = torch.sqrt(5.0 * r2)
        decay = torch.exp(-root)
        ctx.save_for_backward(-(5.0 / 6.0) * (1.0 + root) * decay)
        return (1.0 + root + (5.0 / 3.0) * r2) * decay

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (slope,) = ctx.saved_tensors
        return grad * slope


def kernel_values(kind: str, r2: Tensor) -> Tensor:
    """Unit-scale kernel values at squared (lengthscale-weighted) distances ``r2``."""
    return _Matern52.apply(r2) if kind == "matern52" else torch.exp(-0.5 * r2)


def squared_distances(A: Tensor, B: Tensor, rho: Tensor) -> Tensor:
    """``sum_i rho_i (a_i - b_i)^2`` for every pair of rows: ``(..., n, d), (..., m, d) -> (..., n, m)``."""
    diff = A.unsqueeze(-2) - B.unsqueeze(-3)
    return (diff * diff) @ rho


@dataclass
class Hyperparameters:
    rho: Tensor  # inverse squared lengthscales, (d,)
    scale: Tensor  # output scale, ()
    noise: Tensor  # noise variance, ()


class LightGP(SingleOutputModel):
    """The fitted GP: data, hyperparameters and the Cholesky factor of ``K + noise I``."""

    def __init__(self, X: Tensor, Y: Tensor, hp: Hyperparameters, *, kernel: str, jitter: float = 0.0) -> None:
        super().__init__()
        self.X, self.kernel = X, kernel
        self.rho, self.scale, self.noise = hp.rho.detach(), hp.scale.detach(), hp.noise.detach()
        K = self.scale * kernel_values(kernel, squared_distances(X, X, self.rho))
        K.diagonal().add_(self.noise + jitter)
        L, info = torch.linalg.cholesky_ex(K)
        if int(info) != 0:
            raise FitError(f"the GP's covariance matrix is not positive definite (noise {float(self.noise):.2e})")
        self.L = L
        self.alpha = torch.cholesky_solve(Y.reshape(-1, 1), L)  # (K + noise I)^-1 y, (n, 1)
        self._y = Y.reshape(-1)

    @property
    def lengthscales(self) -> Tensor:
        return self.rho.rsqrt()

    def _cross(self, X: Tensor) -> Tensor:
        return self.scale * kernel_values(self.kernel, squared_distances(X, self.X, self.rho))

    def mean_var(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance of ``f`` at each row of ``X`` (``(..., d) -> (...), (...)``)."""
        Kxz = self._cross(X)
        mean = (Kxz @ self.alpha).squeeze(-1)
        V = torch.linalg.solve_triangular(self.L, Kxz.unsqueeze(-1), upper=False).squeeze(-1)
        var = (self.scale - (V * V).sum(-1)).clamp_min(0.0) + JITTER
        return mean, var

    def sample_paths(self, num: int, *, generator: torch.Generator, features: int = 1024) -> PathSamples:
        """``num`` functions drawn from the posterior by pathwise conditioning (Wilson et al., ICML 2020):
        a prior draw from ``features`` random Fourier features plus the kernel-weighted correction that moves
        it through the data, ``f(x) + k(x, X) (K + noise I)^-1 (y - f(X) - eps)``. Each draw is a function that
        can be evaluated anywhere at the cost of the features and one row of cross-covariances, so Thompson
        sampling over thousands of candidates needs no joint covariance of the candidates."""
        d, dt, dev = self.X.shape[-1], self.X.dtype, self.X.device

        def normal(*shape: int) -> Tensor:
            return torch.randn(*shape, generator=generator, dtype=dt).to(dev)

        omega = normal(features, d)
        if self.kernel == "matern52":  # spectral density: a Student-t with 5 degrees of freedom
            chi2 = normal(features, 5).pow(2).sum(-1, keepdim=True)  # chi-squared, 5 degrees of freedom
            omega = omega * torch.sqrt(5.0 / chi2)
        omega = omega * self.rho.sqrt()
        phase = (2 * math.pi) * torch.rand(features, generator=generator, dtype=dt).to(dev)
        weights = normal(features, num)
        amplitude = torch.sqrt(2.0 * self.scale / features)
        paths = PathSamples(omega, phase, amplitude * weights, self, torch.zeros(0))
        eps = self.noise.sqrt() * normal(self.X.shape[0], num)
        residual = self._y.reshape(-1, 1) - paths.prior(self.X) - eps
        paths.update = torch.cholesky_solve(residual, self.L)
        return paths

    def posterior(self, X: Tensor, output_indices: list[int] | None = None, observation_noise: Any = False,
                  posterior_transform: Any = None, **kwargs: Any) -> GPyTorchPosterior:
        Kxz = self._cross(X)  # (..., q, n)
        mean = (Kxz @ self.alpha).squeeze(-1)
        V = torch.linalg.solve_triangular(self.L, Kxz.transpose(-1, -2), upper=False)  # (..., n, q)
        prior = self.scale * kernel_values(self.kernel, squared_distances(X, X, self.rho))
        cov = prior - V.transpose(-1, -2) @ V
        extra = JITTER + (float(self.noise) if observation_noise is True else 0.0)
        cov = cov + extra * torch.eye(X.shape[-2], dtype=X.dtype, device=X.device)
        posterior = GPyTorchPosterior(MultivariateNormal(mean, cov))
        return posterior_transform(posterior) if posterior_transform is not None else posterior


@dataclass
class PathSamples:
    """Posterior function draws of a :class:`LightGP` (see :meth:`LightGP.sample_paths`)."""

    omega: Tensor  # (features, d) frequencies
    phase: Tensor  # (features,)
    weights: Tensor  # (features, num), amplitude included
    model: LightGP
    update: Tensor  # (n, num): (K + noise I)^-1 (y - f(X) - eps)

    def prior(self, X: Tensor) -> Tensor:
        return torch.cos(X @ self.omega.T + self.phase) @ self.weights

    def __call__(self, X: Tensor) -> Tensor:
        """Values of every draw at each row of ``X``: ``(m, d) -> (m, num)``."""
        return self.prior(X) + self.model._cross(X) @ self.update


@dataclass(frozen=True, kw_only=True)
class LightGPSurrogate(Surrogate):
    """Exact GP with a Matérn-5/2 ARD kernel, fitted output scale and MAP hyperparameters (see the module)."""

    kind = "light-gp"
    is_gp = True

    #: "matern52" or "rbf"
    kernel: str = "matern52"
    #: "optuna", "dim-scaled" or "mle" (lengthscale prior; see the module docstring)
    prior: str = "optuna"
    #: None: the noise variance is fitted (above ``noise_floor``); a float: fixed at that value
    #: (standardized units), e.g. 1e-6 for a deterministic objective
    noise: float | None = None
    #: lower bound of a fitted noise variance (standardized units)
    noise_floor: float = 1e-6
    #: L-BFGS-B stops when the projected gradient's largest entry is below this
    gtol: float = 1e-2
    #: start each fit from the previous fit's hyperparameters
    warm_start: bool = True

    def __post_init__(self) -> None:
        check_choice(self, "kernel", self.kernel, KERNELS)
        check_choice(self, "prior", self.prior, PRIORS)
        if self.noise is not None:
            check_number(self, "noise", self.noise, low=0, low_open=True)
        check_number(self, "noise_floor", self.noise_floor, low=0, low_open=True)
        check_number(self, "gtol", self.gtol, low=0, low_open=True)

    def log_prior(self, hp: Hyperparameters) -> Tensor:
        if self.prior == "optuna":
            lengthscale = -(0.1 / hp.rho + 0.1 * hp.rho).sum()
        elif self.prior == "mle":
            lengthscale = torch.zeros((), dtype=hp.rho.dtype, device=hp.rho.device)
        else:
            d = hp.rho.numel()
            log_l = -0.5 * hp.rho.log()
            mu, sigma = math.sqrt(2.0) + 0.5 * math.log(d), math.sqrt(3.0)
            lengthscale = (-0.5 * ((log_l - mu) / sigma) ** 2 - log_l).sum()
        scale = hp.scale.log() - hp.scale  # Gamma(2, 1)
        noise = 0.1 * hp.noise.log() - 30.0 * hp.noise  # Gamma(1.1, 30)
        return lengthscale + scale + (noise if self.noise is None else 0.0)

    def _unpack(self, raw: Tensor, d: int) -> Hyperparameters:
        noise = (torch.exp(raw[d + 1]) + self.noise_floor if self.noise is None
                 else torch.tensor(float(self.noise), dtype=raw.dtype, device=raw.device))
        return Hyperparameters(rho=torch.exp(raw[:d]), scale=torch.exp(raw[d]), noise=noise)

    def loss(self, raw: Tensor, X: Tensor, y: Tensor, r2_parts: Tensor, jitter: float) -> Tensor:
        """Negative log marginal likelihood minus log prior (constants dropped) at log-parameters ``raw``."""
        d = X.shape[-1]
        hp = self._unpack(raw, d)
        K = hp.scale * kernel_values(self.kernel, r2_parts @ hp.rho)
        K = K + (hp.noise + jitter) * torch.eye(X.shape[0], dtype=X.dtype, device=X.device)
        L = torch.linalg.cholesky(K)
        u = torch.linalg.solve_triangular(L, y.reshape(-1, 1), upper=False)
        return 0.5 * (u * u).sum() + L.diagonal().log().sum() - self.log_prior(hp)

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        X, y = X.double(), Y.double().reshape(-1)
        n, d = X.shape
        jitter = float(state.get("jitter") or 0.0)
        diff = X.unsqueeze(1) - X.unsqueeze(0)
        r2_parts = diff * diff  # (n, n, d): squared differences per input, reused by every evaluation
        default = np.zeros(d + 2)
        default[d + 1] = math.log(1.0 - 0.99 * self.noise_floor)  # noise 1, as the scale and rho
        if self.prior == "mle":
            default[:d] = math.log(100.0 / d)  # lengthscales sqrt(d) / 10
        saved = state.get("light_gp") if self.warm_start else None
        starts = [saved] if saved is not None and len(saved) == d + 2 else []
        starts.append(default)

        def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
            raw = torch.tensor(v, dtype=torch.float64, device=X.device, requires_grad=True)
            with torch.enable_grad():
                value = self.loss(raw, X, y, r2_parts, jitter)
                (grad,) = torch.autograd.grad(value, raw)
            return float(value.detach()), grad.cpu().numpy()

        error = "no start"
        for start in starts:
            try:
                res = scipy.optimize.minimize(value_and_grad, start, jac=True, method="L-BFGS-B",
                                              options={"gtol": self.gtol})
            except (RuntimeError, ValueError) as e:  # a Cholesky factorization failed on the way
                error = f"{type(e).__name__}: {e}"
                continue
            if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
                error = "non-finite hyperparameters"
                continue
            raw = torch.tensor(res.x, dtype=torch.float64, device=X.device)
            try:
                model = LightGP(X, y, self._unpack(raw, d), kernel=self.kernel, jitter=jitter)
            except FitError as e:
                error = str(e)
                continue
            if self.warm_start:
                state["light_gp"] = res.x.copy()
            return model
        raise FitError(f"light GP hyperparameters could not be fitted ({error.splitlines()[0]})")


__all__ = ["LightGP", "LightGPSurrogate", "PathSamples"]
