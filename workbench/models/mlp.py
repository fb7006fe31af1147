"""A stack of small multilayer perceptrons evaluated in one pass: ``S`` parameter vectors, one network shape.

Every neural surrogate (ensembles, HMC, SGHMC, Laplace) and the deep-kernel feature map share it.
Parameters are flat (``S x P``) so samplers can treat them as points in ``R^P``; the forward pass uses
the neural-tangent parameterization (weights ``N(0, 1)``, pre-activations scaled by ``1/sqrt(fan_in)``),
so a standard normal prior on every parameter is a sensible prior over functions on standardized data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "silu": torch.nn.functional.silu}


@dataclass(frozen=True)
class MLPShape:
    """Widths of a fully connected network: ``in_dim -> hidden... -> out_dim``."""

    in_dim: int
    hidden: tuple[int, ...] = (32, 32)
    out_dim: int = 1
    activation: str = "tanh"
    #: inputs are mapped from the unit cube to ``[-input_scale, input_scale]``: the prior's length scale
    input_scale: float = 1.0

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.in_dim, *self.hidden, self.out_dim)

    @property
    def n_params(self) -> int:
        w = self.widths
        return sum(a * b + b for a, b in zip(w[:-1], w[1:]))

    def init(self, n: int, generator: torch.Generator, *, device: torch.device | str = "cpu",
             dtype: torch.dtype = torch.float32) -> Tensor:
        """``n x P`` parameter vectors drawn from the standard normal prior (biases at zero)."""
        theta = torch.randn(n, self.n_params, generator=generator, dtype=dtype, device="cpu").to(device)
        offset = 0
        for a, b in zip(self.widths[:-1], self.widths[1:]):
            offset += a * b
            theta[:, offset : offset + b] = 0.0
            offset += b
        return theta

    def forward(self, theta: Tensor, X: Tensor) -> Tensor:
        """``theta``: ``S x P``; ``X``: ``N x in_dim`` (shared) or ``S x N x in_dim`` -> ``S x N x out_dim``.

        Inputs are taken in the unit cube."""
        act = _ACTIVATIONS[self.activation]
        h = self.input_scale * (2.0 * X - 1.0)
        if h.ndim == 2:
            h = h.expand(theta.shape[0], *h.shape)
        offset, last = 0, len(self.widths) - 2
        for i, (a, b) in enumerate(zip(self.widths[:-1], self.widths[1:])):
            W = theta[:, offset : offset + a * b].reshape(-1, a, b)
            offset += a * b
            bias = theta[:, offset : offset + b]
            offset += b
            h = torch.baddbmm(bias.unsqueeze(1), h, W, alpha=1.0 / math.sqrt(a))
            if i < last:
                h = act(h)
        return h

    def __post_init__(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"MLPShape.activation must be one of {sorted(_ACTIVATIONS)}, but got {self.activation!r}")
