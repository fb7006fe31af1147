"""What the neural surrogates share: the Bayesian regression model, a MAP fit, and the posterior model.

The model: ``y = f_theta(x) + e``, ``e ~ N(0, sigma^2)``; prior ``theta ~ N(0, prior_std^2)`` on every weight
and bias (neural-tangent parameterization, see :mod:`workbench.models.mlp`) and
``log sigma^2 ~ N(noise_loc, noise_scale^2)``. Samplers move ``z = [theta, log sigma^2]`` (``S x (P + 1)``).
Networks are float32; the posterior model returns float64 for the acquisition functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.base import FitError, Surrogate
from workbench.models.mlp import MLPShape
from workbench.models.sampled import SampledFunctionModel
from workbench.validation import check_choice, check_positive

NN_DTYPE = torch.float32


@dataclass(frozen=True, kw_only=True)
class NeuralSurrogate(Surrogate):
    """Options every neural surrogate has."""

    #: hidden-layer widths
    hidden: tuple[int, ...] = (32, 32)
    #: "tanh", "relu" or "silu"
    activation: str = "tanh"
    #: prior standard deviation of every weight and bias
    prior_std: float = 1.0
    #: inputs enter the network in ``[-input_scale, input_scale]`` (larger: wigglier prior functions)
    input_scale: float = 2.0
    #: observation-noise variance on the standardized outputs, fixed; None: inferred under the prior below.
    #: (Inferred, the posterior of a small-data BNN prefers to explain the data as noise: see docs/bo.md.)
    noise_var: float | None = 0.01
    #: prior mean and standard deviation of the log noise variance when ``noise_var`` is None
    noise_loc: float = -4.0
    noise_scale: float = 1.5

    def __post_init__(self) -> None:
        name = type(self).__name__
        hidden = self.hidden
        if not isinstance(hidden, tuple) or not hidden or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden
        ):
            raise InvalidConfigError(f"{name}.hidden must be a non-empty tuple of ints >= 1, but got hidden={hidden!r}")
        check_choice(self, "activation", self.activation, ("tanh", "relu", "silu"))
        for field in ("prior_std", "noise_scale", "input_scale"):
            check_positive(self, field, getattr(self, field))
        check_positive(self, "noise_var", self.noise_var, optional=True)

    def shape(self, in_dim: int) -> MLPShape:
        return MLPShape(in_dim, tuple(self.hidden), 1, self.activation, self.input_scale)

    def potential(self, shape: MLPShape, z: Tensor, X: Tensor, y: Tensor, scale: float = 1.0,
                  anchor: Tensor | None = None) -> Tensor:
        """Negative log joint of each row of ``z`` (``S``), the likelihood term multiplied by ``scale``
        (``n / batch`` for minibatches). With ``anchor`` (``S x P``) the weight prior is centred there
        instead of at zero (randomized MAP, see :func:`map_fit`)."""
        theta, log_var = z[:, :-1], z[:, -1]
        if self.noise_var is not None:
            log_var = torch.full_like(log_var, math.log(self.noise_var))
        if anchor is not None:
            theta = theta - anchor
        f = shape.forward(z[:, :-1], X).squeeze(-1)  # S x n
        n = y.shape[-1]
        sq = ((f - y) ** 2).sum(-1)
        nll = 0.5 * sq * torch.exp(-log_var) + 0.5 * n * log_var
        prior = 0.5 * (theta**2).sum(-1) / self.prior_std**2
        noise_prior = 0.5 * ((log_var - self.noise_loc) / self.noise_scale) ** 2
        return scale * nll + prior + noise_prior


def as_nn(X: Tensor, Y: Tensor) -> tuple[Tensor, Tensor]:
    """Training data as float32: ``n x d`` inputs and ``n`` targets."""
    return X.detach().to(NN_DTYPE), Y.detach().to(NN_DTYPE).reshape(-1)


def map_fit(surrogate: NeuralSurrogate, shape: MLPShape, z: Tensor, X: Tensor, y: Tensor, *, steps: int,
            lr: float) -> Tensor:
    """Randomized MAP: Adam on the negative log joint of every row of ``z`` at once (rows are independent
    networks), each with its weight prior centred at its own starting draw ``z`` from the prior.

    With few observations and hundreds of weights, the MAP of the zero-centred prior is a network shrunk
    to a constant that explains the data as noise; anchoring each network at a prior draw (Pearce et al.
    2020) keeps it in the prior's typical set while it fits the data, which is where the posterior's mass
    is, and makes an ensemble of such fits approximate posterior samples."""
    anchor = z[:, :-1].clone()
    z = z.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    n = y.shape[-1]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = surrogate.potential(shape, z, X, y, anchor=anchor).sum() / n
        if not torch.isfinite(loss):
            raise FitError(f"{surrogate.kind}: the training loss is not finite")
        loss.backward()
        optimizer.step()
    return z.detach()


def initial_state(surrogate: NeuralSurrogate, shape: MLPShape, n: int, generator: torch.Generator,
                  device: torch.device) -> Tensor:
    """``n`` rows ``[theta, log sigma^2]`` from the prior (noise at its prior mean)."""
    theta = shape.init(n, generator, device=device, dtype=NN_DTYPE) * surrogate.prior_std
    noise = surrogate.noise_loc if surrogate.noise_var is None else math.log(surrogate.noise_var)
    log_var = torch.full((n, 1), noise, dtype=NN_DTYPE, device=device)
    return torch.cat([theta, log_var], dim=1)


def sampled_model(surrogate: NeuralSurrogate, shape: MLPShape, z: Tensor, train_X: Tensor) -> SampledFunctionModel:
    """The posterior model of sampled networks ``z`` (``S x (P + 1)``)."""
    theta = z[:, :-1].detach()
    noise = surrogate.noise_var if surrogate.noise_var is not None else float(torch.exp(z[:, -1]).mean())
    if not bool(torch.isfinite(theta).all()) or not math.isfinite(noise):
        raise FitError("sampled network parameters are not finite")

    def predict(X: Tensor) -> Tensor:
        return shape.forward(theta, X.to(NN_DTYPE)).squeeze(-1)

    return SampledFunctionModel(predict, noise=noise, train_inputs=train_X)
