"""Deep kernel learning (Wilson et al. 2016): an MLP maps inputs to features, a Matérn-5/2 ARD kernel acts on
the features; network weights and GP hyperparameters are trained jointly on the exact marginal likelihood.

Built from GPyTorch/BoTorch parts: a ``SingleTaskGP`` whose ``forward`` first applies the feature map.
A GP, so float64. Between the fits of one run the previous weights are the starting point (warm start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from botorch.models import SingleTaskGP
from botorch.models.model import Model
from gpytorch.distributions import MultivariateNormal
from gpytorch.kernels import MaternKernel, ScaleKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor, nn

from workbench.errors import InvalidConfigError
from workbench.models.base import FitError, Surrogate, check_finite
from workbench.models.mlp import MLPShape
from workbench.validation import check_int


class FeatureMap(nn.Module):
    """One MLP (``d -> hidden -> features``) with flat parameters."""

    def __init__(self, shape: MLPShape, theta: Tensor) -> None:
        super().__init__()
        self.shape = shape
        self.theta = nn.Parameter(theta.reshape(1, -1))

    def forward(self, X: Tensor) -> Tensor:
        flat = X.reshape(-1, X.shape[-1])
        return torch.tanh(self.shape.forward(self.theta, flat)[0]).reshape(*X.shape[:-1], self.shape.out_dim)


class DeepKernelGP(SingleTaskGP):
    """``SingleTaskGP`` over learned features ``z = g(x)``."""

    def __init__(self, X: Tensor, Y: Tensor, features: FeatureMap) -> None:
        kernel = ScaleKernel(MaternKernel(nu=2.5, ard_num_dims=features.shape.out_dim))
        super().__init__(X, Y, covar_module=kernel, outcome_transform=None)
        self.features = features

    def forward(self, x: Tensor) -> MultivariateNormal:
        if self.training:
            x = self.transform_inputs(x)
        z = self.features(x)
        return MultivariateNormal(self.mean_module(z), self.covar_module(z))


@dataclass(frozen=True, kw_only=True)
class DKLSurrogate(Surrogate):
    """Deep kernel GP; ``hidden`` widths, ``features`` output features, ``steps`` of Adam at ``lr``."""

    kind = "dkl"
    is_gp = True

    hidden: tuple[int, ...] = (32, 32)
    features: int = 4
    steps: int = 150
    #: Adam steps when starting from the previous fit's weights
    warm_steps: int = 60
    lr: float = 0.01

    def __post_init__(self) -> None:
        for field in ("features", "steps", "warm_steps"):
            check_int(self, field, getattr(self, field), 1)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise InvalidConfigError(f"DKLSurrogate.lr must be > 0, but got lr={self.lr!r}")

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        X, Y = X.double(), Y.double()
        shape = MLPShape(X.shape[-1], tuple(self.hidden), self.features)
        previous = state.get("dkl")
        warm = previous is not None and previous["theta"].shape[-1] == shape.n_params
        theta = previous["theta"] if warm else shape.init(1, generator, device=X.device, dtype=torch.float64)
        model = DeepKernelGP(X, Y, FeatureMap(shape, theta.clone()))
        if warm:
            model.covar_module.load_state_dict(previous["kernel"])
            model.likelihood.load_state_dict(previous["likelihood"])
        mll = ExactMarginalLogLikelihood(model.likelihood, model)
        model.train()
        params = list(model.parameters())
        optimizer = torch.optim.Adam(params, lr=self.lr)
        good = [p.detach().clone() for p in params]
        steps_done = 0
        for _ in range(self.warm_steps if warm else self.steps):
            optimizer.zero_grad()
            try:
                loss = -mll(model(X), Y.squeeze(-1))
                loss.backward()
            except (RuntimeError, ValueError):  # a kernel matrix not positive definite, a prior out of support
                break
            if not torch.isfinite(loss) or any(p.grad is not None and not torch.isfinite(p.grad).all() for p in params):
                break
            good = [p.detach().clone() for p in params]
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            optimizer.step()
            steps_done += 1
        with torch.no_grad():  # keep the last parameters whose loss and gradients were finite
            for p, g in zip(params, good):
                p.copy_(g)
        if steps_done == 0:
            raise FitError("deep-kernel marginal likelihood is not finite at the starting point")
        model.eval()
        check_finite(model, X)
        state["dkl"] = {
            "theta": model.features.theta.detach().clone(),
            "kernel": {k: v.clone() for k, v in model.covar_module.state_dict().items()},
            "likelihood": {k: v.clone() for k, v in model.likelihood.state_dict().items()},
        }
        return model
