"""Exact Gaussian processes: BoTorch's ``SingleTaskGP`` with its defaults, fitted by marginal likelihood.

Also the last-resort model of the fallback chain: the same GP with its prior-default hyperparameters,
not fitted, which needs nothing but one Cholesky factorization.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import gpytorch
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.model import Model
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from botorch.utils.sampling import manual_seed
from gpytorch.constraints import GreaterThan
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.base import FitError, Surrogate, check_finite, seed_from

KERNELS = ("rbf", "matern52")


def fit_mll(model: SingleTaskGP, *, seed: int, jitter: float | None = None, state: dict[str, Any] | None = None,
            key: str = "gp") -> SingleTaskGP:
    """Maximize the exact marginal likelihood of ``model`` (L-BFGS-B through ``fit_gpytorch_mll``).

    ``jitter`` raises the diagonal jitter of every Cholesky factorization (the retry after a failure).
    Library calls that draw from torch's global generator (restarts from the priors after a failed
    attempt) run inside a forked, seeded RNG, so the global state is left as it was."""
    model = model.to(torch.float64)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with ExitStack() as stack:
        stack.enter_context(manual_seed(seed))
        if jitter:
            stack.enter_context(gpytorch.settings.cholesky_jitter(float_value=jitter, double_value=jitter))
        try:
            fit_gpytorch_mll(mll)
        except Exception as e:  # botorch raises ModelFittingError, linear_operator NotPSDError, ...
            raise FitError(f"{type(e).__name__}: {e}") from e
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise FitError(f"GP hyperparameter {name} is not finite after fitting")
    model.eval()
    return model


@dataclass(frozen=True, kw_only=True)
class GPSurrogate(Surrogate):
    """``SingleTaskGP`` with BoTorch's defaults (RBF kernel with dimension-scaled log-normal lengthscale
    prior, Gaussian likelihood with a fitted noise, ``Standardize`` outcome transform), except the fitted
    noise's lower bound (``min_noise``, 1e-6 instead of 1e-4)."""

    kind = "gp"
    is_gp = True

    #: start each fit from the previous fit's hyperparameters (same optimum, fewer L-BFGS iterations)
    warm_start: bool = True
    #: None: the noise variance is fitted (BoTorch's default prior); a float: the noise variance fixed at
    #: that fraction of the observations' variance (e.g. 1e-6 for a deterministic objective)
    noise: float | None = None
    #: the lower bound of a fitted noise variance (standardized units). BoTorch's default is 1e-4; on
    #: deterministic test functions that floor, not the data, limits how close the GP lets BO refine the
    #: optimum (measured in docs/bo.md: Branin median regret 1.3e-3 at 1e-4, 1.3e-4 at 1e-6)
    min_noise: float = 1e-6
    #: "rbf" (BoTorch's default) or "matern52" (Matérn-5/2), both with BoTorch's dimension-scaled
    #: log-normal lengthscale prior
    kernel: str = "rbf"

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise InvalidConfigError(f"GPSurrogate.kernel must be one of {KERNELS}, but got kernel={self.kernel!r}")
        if isinstance(self.min_noise, bool) or not isinstance(self.min_noise, (int, float)) or not self.min_noise > 0:
            raise InvalidConfigError(f"GPSurrogate.min_noise must be a float > 0, but got min_noise={self.min_noise!r}")
        if self.noise is not None and (isinstance(self.noise, bool) or not isinstance(self.noise, (int, float))
                                       or not self.noise > 0):
            raise InvalidConfigError(f"GPSurrogate.noise must be None or a float > 0, but got noise={self.noise!r}")

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        Yvar = None
        if self.noise is not None:
            scale = Y.double().var() if Y.shape[0] > 1 else torch.ones((), dtype=torch.float64, device=Y.device)
            Yvar = torch.full_like(Y.double(), float(self.noise)) * scale.clamp_min(1e-12)
        covar = None
        if self.kernel == "matern52":
            covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=X.shape[-1], use_rbf_kernel=False)
        model = SingleTaskGP(X.double(), Y.double(), train_Yvar=Yvar, covar_module=covar)
        if Yvar is None:
            model.likelihood.noise_covar.register_constraint("raw_noise", GreaterThan(float(self.min_noise)))
        if self.warm_start:
            load_hyperparameters(model, state.get("gp"))
        model = fit_mll(model, seed=seed_from(generator), jitter=state.get("jitter"))
        check_finite(model, X)
        if self.warm_start:
            state["gp"] = save_hyperparameters(model)
        return model


def save_hyperparameters(model: SingleTaskGP, also: tuple[str, ...] = ()) -> dict[str, Tensor]:
    """The kernel, mean and likelihood parameters (not the data, not the outcome transform's statistics),
    and the entries named in ``also`` (buffers a model needs back on loading)."""
    keep = ("covar_module.", "mean_module.", "likelihood.", *also)
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.startswith(keep)}


def load_hyperparameters(model: SingleTaskGP, saved: dict[str, Tensor] | None) -> None:
    if saved:
        current = model.state_dict()
        if all(k in current and current[k].shape == v.shape for k, v in saved.items()):
            model.load_state_dict(saved, strict=False)


def default_gp(X: Tensor, Y: Tensor, *, noise: float = 1e-3) -> Model:
    """The fallback of last resort: a ``SingleTaskGP`` with a fixed lengthscale of ``0.2 sqrt(d)`` and a
    fixed small noise, not fitted (nothing to go wrong but one Cholesky factorization)."""
    model = SingleTaskGP(X.double(), Y.double())
    d = X.shape[-1]
    kernel = model.covar_module
    base = getattr(kernel, "base_kernel", kernel)
    base.lengthscale = torch.full_like(base.lengthscale, 0.2 * math.sqrt(d))
    model.likelihood.noise = torch.tensor([noise], dtype=torch.float64, device=X.device)
    model.eval()
    with gpytorch.settings.cholesky_jitter(double_value=1e-4):
        check_finite(model, X)
    return model
