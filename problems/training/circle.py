"""``sign-circle-regression``: the SG-NTK paper's setting (Eilers, Memmesheimer, Goedeke, NeurIPS 2024).

Inputs on the unit circle, ``x(α) = (sin α, cos α)``; targets ``y = 4 x₀ x₁² − 0.8 x₀³ + 1.2 x₁² − 0.8 x₀² x₁``
(noise-free, as the authors' code); ``n_train`` = 15 training angles drawn uniformly in ``[−π, π)`` from
``data_seed``; the test set is the paper's grid of 100 angles ``2π i / 100 − π``; the validation set the
100 angles half-way between them. Loss ``½ (f(x) − y)²`` per example (smoothness 1), full batch by default.

The network is the paper's: ``2 -> width -> ... -> width -> 1`` in the **NTK parametrization**, every
weight and bias drawn from ``N(0, 1)`` and each layer computing ``h = (σ_w/√n_in) W a + σ_b b``, a linear
readout (scaled by ``readout_scale`` κ in ``σ_w`` and ``σ_b``), and hidden activations ``sign`` (or the
paper's ``erf_m``, ``erf(m x)``, with ``activation="erf"``), their derivative replaced in the backward pass
by the surrogate (default ``erf`` with ``k = 1``, ``ψ(x) = (2/√π) exp(−x²)``, the paper's). Its
infinite-width limits are in :mod:`workbench.models.kernels.sgntk`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

import torch
from torch import Tensor, nn

from workbench.errors import InvalidProblemError
from workbench.families.training import Batch, Split, TrainingProblem
from workbench.families.training.problem import check_training
from workbench.families.training.surrogate_gradients import SurrogateGradient, SurrogateStep
from workbench.families.training.surrogate_gradients import surrogate_gradient as make_surrogate
from workbench.problem import catalog, validate_problem
from workbench.validation import check_choice, check_int, check_number, check_positive

OWNER = "SignCircleRegression"


def circle(angles: Tensor) -> Tensor:
    """``(sin α, cos α)`` for each angle: ``len(angles) x 2``."""
    return torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1)


def circle_target(X: Tensor) -> Tensor:
    """The paper's target function on ``X`` (``n x 2``): ``n`` values."""
    x0, x1 = X[:, 0], X[:, 1]
    return 4 * x0 * x1**2 - 0.8 * x0**3 + 1.2 * x1**2 - 0.8 * x0**2 * x1


class NTKLinear(nn.Module):
    """``h = (σ_w/√n_in) W a + σ_b b`` with ``W``, ``b`` standard normal (the NTK parametrization)."""

    def __init__(self, n_in: int, n_out: int, sigma_w: float, sigma_b: float, generator: torch.Generator) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in, generator=generator, dtype=torch.float64))
        self.bias = nn.Parameter(torch.randn(n_out, generator=generator, dtype=torch.float64))
        self.w_scale, self.b_scale = sigma_w / math.sqrt(n_in), sigma_b

    def forward(self, a: Tensor) -> Tensor:
        return self.w_scale * a @ self.weight.T + self.b_scale * self.bias


def ntk_mlp(widths: list[int], activation: nn.Module, sigma_w: float, sigma_b: float, readout_scale: float,
            generator: torch.Generator) -> nn.Sequential:
    """``widths[0] -> ... -> widths[-1]`` in the NTK parametrization, ``activation`` after each hidden layer,
    the readout's ``σ_w`` and ``σ_b`` scaled by ``readout_scale``."""
    layers: list[nn.Module] = []
    last = len(widths) - 2
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        kappa = readout_scale if i == last else 1.0
        layers.append(NTKLinear(a, b, kappa * sigma_w, kappa * sigma_b, generator))
        if i < last:
            layers.append(activation)
    return nn.Sequential(*layers)


@catalog.register("sign-circle-regression")
class SignCircleRegression(TrainingProblem):
    """The SG-NTK paper's regression on the unit circle with a sign network and a surrogate gradient."""

    smoothness = 1.0

    def __init__(self, *, width: int = 100, depth: int = 2, sigma_w: float = 1.0, sigma_b: float = 0.1,
                 readout_scale: float = 1.0, activation: str = "sign", m: float = 1.0, surrogate: str = "erf",
                 slope: float | None = None, n_train: int = 15, batch_size: int = 15, l2: float = 0.0,
                 data_seed: int = 0, name: str | None = None) -> None:
        self.width = check_int(OWNER, "width", width, 1, error=InvalidProblemError)
        self.depth = check_int(OWNER, "depth", depth, 1, error=InvalidProblemError)
        self.sigma_w = float(check_positive(OWNER, "sigma_w", sigma_w, error=InvalidProblemError))
        self.sigma_b = float(check_number(OWNER, "sigma_b", sigma_b, low=0.0, error=InvalidProblemError))
        self.readout_scale = float(check_positive(OWNER, "readout_scale", readout_scale, error=InvalidProblemError))
        self.activation = check_choice(OWNER, "activation", activation, ("sign", "erf"), error=InvalidProblemError)
        self.m = float(check_positive(OWNER, "m", m, error=InvalidProblemError))
        self.surrogate: SurrogateGradient = make_surrogate(surrogate, slope, owner=OWNER, error=InvalidProblemError)
        self.n_train = check_int(OWNER, "n_train", n_train, 1, error=InvalidProblemError)
        self.data_seed = check_int(OWNER, "data_seed", data_seed, 0, error=InvalidProblemError)
        self.batch_size, self.l2 = batch_size, l2
        self.name = name or "sign-circle-regression"
        self.params = {"width": width, "depth": depth, "sigma_w": sigma_w, "sigma_b": sigma_b,
                       "readout_scale": readout_scale, "activation": activation, "m": m, "surrogate": surrogate,
                       "slope": slope, "n_train": n_train, "batch_size": batch_size, "l2": l2, "data_seed": data_seed}
        check_training(self, f"problem {self.name!r}")
        validate_problem(self, f"problem {self.name!r}")

    # ------------------------------------------------------------------------------ data
    @cached_property
    def _splits(self) -> dict[str, Split]:
        g = torch.Generator().manual_seed(30_000 + self.data_seed)
        train = torch.rand(self.n_train, generator=g, dtype=torch.float64) * 2 * math.pi - math.pi
        grid = 2 * math.pi * torch.arange(100, dtype=torch.float64) / 100 - math.pi
        angles = {"train": train, "val": grid + math.pi / 100, "test": grid}
        return {k: Split(circle(a), circle_target(circle(a)).reshape(-1, 1)) for k, a in angles.items()}

    def splits(self) -> Mapping[str, Split]:
        return self._splits

    # ------------------------------------------------------------------------------ model and loss
    def model(self, generator: torch.Generator) -> nn.Module:
        act = SurrogateStep(self.surrogate, self.activation, self.m)
        return ntk_mlp([2, *[self.width] * self.depth, 1], act, self.sigma_w, self.sigma_b, self.readout_scale,
                       generator)

    def loss(self, z: Tensor, y: Tensor) -> Tensor:
        return 0.5 * ((z - y) ** 2).reshape(-1)

    # ------------------------------------------------------------------------------ epochs and scores
    def steps_per_epoch(self, batch_size: int) -> int:
        return int(math.ceil(self.n_train / batch_size))

    def batches(self, model: nn.Module, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        train = self._splits["train"]
        order = torch.randperm(self.n_train, generator=generator)
        for i in range(0, self.n_train, batch_size):
            idx = order[i : i + batch_size]
            yield Batch(train.X[idx], train.y[idx])

    def scores(self, model: nn.Module) -> dict[str, float]:
        out: dict[str, float] = {}
        for part, split in self._splits.items():
            mean = float(self.loss(self.targets(model, split.X), split.y).mean())
            out["train_loss" if part == "train" else f"{part}_loss"] = mean + (
                float(self.regularizer(model)) if part == "train" else 0.0)
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "surrogate_gradient": self.surrogate.describe()}


__all__ = ["NTKLinear", "SignCircleRegression", "circle", "circle_target", "ntk_mlp"]
