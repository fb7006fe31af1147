"""Infinite-width Bayesian neural network: a GP whose kernel is the limit of a wide, deep BNN.

BoTorch ships the kernel (``InfiniteWidthBNNKernel``, Lee et al. 2018, used by Li et al. 2024); its
weight and bias variances are fitted by marginal likelihood like any GP hyperparameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from botorch.models import SingleTaskGP
from botorch.models.kernels.infinite_width_bnn import InfiniteWidthBNNKernel
from botorch.models.model import Model
from gpytorch.kernels import ScaleKernel
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.base import Surrogate, check_finite, seed_from
from workbench.models.gp import fit_mll, load_hyperparameters, save_hyperparameters


@dataclass(frozen=True, kw_only=True)
class IBNNSurrogate(Surrogate):
    """GP with the infinite-width BNN kernel of ``depth`` hidden layers."""

    kind = "ibnn"
    is_gp = True

    #: hidden layers of the infinitely wide network
    depth: int = 3
    #: weight and bias variances (Li et al.'s values)
    weight_var: float = 10.0
    bias_var: float = 1.3
    #: fit the weight and bias variances and an output scale by marginal likelihood (False: the kernel's
    #: shape stays at ``weight_var`` / ``bias_var`` as in Li et al.'s reference code; only the noise and
    #: the constant mean are fitted)
    fit_variances: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise InvalidConfigError(f"IBNNSurrogate.depth must be an int >= 1, but got depth={self.depth!r}")

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        bnn = InfiniteWidthBNNKernel(depth=self.depth, device=X.device).to(torch.float64)
        bnn.weight_var = torch.tensor(self.weight_var, dtype=torch.float64)
        bnn.bias_var = torch.tensor(self.bias_var, dtype=torch.float64)
        if self.fit_variances:
            kernel = ScaleKernel(bnn)
        else:
            bnn.raw_weight_var.requires_grad_(False)
            bnn.raw_bias_var.requires_grad_(False)
            kernel = bnn
        model = SingleTaskGP(X.double(), Y.double(), covar_module=kernel)
        load_hyperparameters(model, state.get("ibnn"))  # warm start from the previous fit of the run
        model = fit_mll(model, seed=seed_from(generator), jitter=state.get("jitter"))
        check_finite(model, X)
        state["ibnn"] = save_hyperparameters(model)
        return model
