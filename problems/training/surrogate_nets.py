"""Networks with step activations, trained with surrogate gradients, on scikit-learn's 8x8 digits.

The surrogate is a declared hyperparameter of the problem (``surrogate``: a kind of
:mod:`workbench.families.training.surrogate_gradients`; ``slope``: its slope, the kind's default when None), so a
study compares surrogates as problems, and the black-box view of training
(:class:`~workbench.families.training.tuning.Tuning`) tunes surrogate, slope and learning rate together.

* ``binary-mlp-digits`` — sign activations ``64 -> hidden... -> 10`` (softmax loss, standardized
  features). With ``binary_weights`` the hidden-to-hidden layers compute with ``α sign(W)`` (``α`` the mean
  ``|W|`` of each output row, as XNOR-Net scales binary weights), their gradient through the same
  surrogate; the first and last layers stay real-valued, as binary networks usually keep them.
* ``spiking-mlp-digits`` — leaky integrate-and-fire neurons (``snntorch.Leaky``: ``beta``, threshold 1,
  reset by subtraction) in a hidden and an output layer, over ``time_steps`` steps of rate-coded input
  (each pixel spikes with probability ``intensity / 16`` at each step, drawn per batch from the cell's data
  generator; the scoring splits are encoded once from ``data_seed``). The targets are the output neurons'
  spike counts, the loss the softmax cross-entropy on them, the spike's derivative the surrogate's (of a
  Heaviside step at the threshold).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from problems.training.datasets import LogregDigits, _init_linear
from workbench.errors import InvalidProblemError
from workbench.families.training import Batch, Split
from workbench.families.training.surrogate_gradients import SurrogateGradient, SurrogateStep
from workbench.families.training.surrogate_gradients import surrogate_gradient as make_surrogate
from workbench.problem import catalog
from workbench.validation import check_int, check_number


def _hidden(owner: str, hidden: Any) -> tuple[int, ...]:
    if not isinstance(hidden, (tuple, list)) or not hidden:
        raise InvalidProblemError(f"{owner}.hidden must be a non-empty tuple of layer widths, but got hidden={hidden!r}")
    for i, h in enumerate(hidden):
        check_int(owner, f"hidden[{i}]", h, 1, error=InvalidProblemError)
    return tuple(int(h) for h in hidden)


class BinaryLinear(nn.Linear):
    """A linear layer computing with ``α sign(W)`` (``α``: mean ``|W|`` per output row), its weight
    gradient through ``surrogate``."""

    def __init__(self, n_in: int, n_out: int, surrogate: SurrogateGradient) -> None:
        super().__init__(n_in, n_out, dtype=torch.float64)
        self.sign = SurrogateStep(surrogate, "sign")

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.weight.abs().mean(1, keepdim=True)
        return nn.functional.linear(x, alpha * self.sign(self.weight), self.bias)


class _SurrogateDigits(LogregDigits):
    """Digits with a step-activation network; the surrogate and its slope are declared options."""

    owner = "SurrogateDigits"

    def __init__(self, *, surrogate: str = "clipped-ste", slope: float | None = None, batch_size: int = 25,
                 l2: float = 0.0, data_seed: int = 0, name: str | None = None, **extra: Any) -> None:
        # the surrogate first: a wrong one fails here, naming the field
        self.surrogate = make_surrogate(surrogate, slope, owner=self.owner, error=InvalidProblemError)
        super().__init__(batch_size=batch_size, l2=l2, data_seed=data_seed, name=name, surrogate=surrogate,
                         slope=slope, **extra)

    @cached_property
    def optimum(self) -> float | None:  # type: ignore[override]
        return None  # non-convex: no known optimum

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "surrogate_gradient": self.surrogate.describe()}



@catalog.register("binary-mlp-digits")
class BinaryMlpDigits(_SurrogateDigits):
    """Sign activations (and optionally binary weights) on the digits, trained with a surrogate gradient."""

    owner = "BinaryMlpDigits"

    def __init__(self, *, surrogate: str = "clipped-ste", slope: float | None = None,
                 hidden: tuple[int, ...] = (128, 128), binary_weights: bool = False, batch_size: int = 25,
                 l2: float = 0.0, data_seed: int = 0, name: str | None = None) -> None:
        self.hidden = _hidden(self.owner, hidden)
        if not isinstance(binary_weights, bool):
            raise InvalidProblemError(f"{self.owner}.binary_weights must be a bool, but got binary_weights={binary_weights!r}")
        if binary_weights and len(self.hidden) < 2:
            raise InvalidProblemError(f"{self.owner}.binary_weights needs two hidden layers or more (the first and "
                                      f"last layers stay real-valued), but got hidden={hidden!r}")
        self.binary_weights = binary_weights
        super().__init__(surrogate=surrogate, slope=slope, batch_size=batch_size, l2=l2, data_seed=data_seed,
                         name=name, hidden=list(self.hidden), binary_weights=binary_weights)

    def model(self, generator: torch.Generator) -> nn.Module:
        widths = [self.n_features, *self.hidden, self.n_outputs]
        layers: list[nn.Module] = []
        last = len(widths) - 2
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            binary = self.binary_weights and 0 < i < last
            layer = BinaryLinear(a, b, self.surrogate) if binary else nn.Linear(a, b, dtype=torch.float64)
            layers.append(_init_linear(layer, generator))
            if i < last:
                layers.append(SurrogateStep(self.surrogate, "sign"))
        return nn.Sequential(*layers)


class SpikingMLP(nn.Module):
    """``64 -> hidden (LIF) -> 10 (LIF)`` over the time steps of ``X`` (``batch x T x 64``); returns the
    output neurons' spike counts (``batch x 10``)."""

    def __init__(self, n_in: int, hidden: int, n_out: int, beta: float, surrogate: SurrogateGradient,
                 generator: torch.Generator) -> None:
        import snntorch

        super().__init__()
        self.fc1 = _init_linear(nn.Linear(n_in, hidden, dtype=torch.float64), generator)
        self.fc2 = _init_linear(nn.Linear(hidden, n_out, dtype=torch.float64), generator)
        self.spike = SurrogateStep(surrogate, "heaviside")  # snntorch calls it on (membrane - threshold)
        self.lif1 = snntorch.Leaky(beta=beta, spike_grad=self.spike, reset_mechanism="subtract")
        self.lif2 = snntorch.Leaky(beta=beta, spike_grad=self.spike, reset_mechanism="subtract")

    def forward(self, X: Tensor) -> Tensor:
        mem1 = torch.zeros(X.shape[0], self.fc1.out_features, dtype=X.dtype)
        mem2 = torch.zeros(X.shape[0], self.fc2.out_features, dtype=X.dtype)
        count = torch.zeros_like(mem2)
        for t in range(X.shape[1]):
            spk1, mem1 = self.lif1(self.fc1(X[:, t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1.to(X.dtype)), mem2)
            count = count + spk2.to(X.dtype)
        return count


@catalog.register("spiking-mlp-digits")
class SpikingMlpDigits(_SurrogateDigits):
    """A spiking network of leaky integrate-and-fire neurons on rate-coded digits, trained with a
    surrogate gradient of its spikes."""

    owner = "SpikingMlpDigits"
    standardize = False  # rate coding needs the raw intensities

    def __init__(self, *, surrogate: str = "fast-sigmoid", slope: float | None = None, hidden: int = 128,
                 time_steps: int = 25, beta: float = 0.9, batch_size: int = 25, l2: float = 0.0,
                 data_seed: int = 0, name: str | None = None) -> None:
        self.width = check_int(self.owner, "hidden", hidden, 1, error=InvalidProblemError)
        self.time_steps = check_int(self.owner, "time_steps", time_steps, 1, error=InvalidProblemError)
        self.beta = float(check_number(self.owner, "beta", beta, low=0.0, high=1.0, error=InvalidProblemError))
        super().__init__(surrogate=surrogate, slope=slope, batch_size=batch_size, l2=l2, data_seed=data_seed,
                         name=name, hidden=hidden, time_steps=time_steps, beta=self.beta)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        X, y = super().load()
        return X / 16.0, y  # intensities in [0, 1]: spike probabilities

    def model(self, generator: torch.Generator) -> nn.Module:
        return SpikingMLP(self.n_features, self.width, self.n_outputs, self.beta, self.surrogate, generator)

    def _encode(self, X: Tensor, generator: torch.Generator) -> Tensor:
        """Rate coding: ``batch x T x features`` spikes, each with probability the feature's intensity."""
        u = torch.rand((X.shape[0], self.time_steps, X.shape[1]), generator=generator, dtype=torch.float64)
        return (u < X.unsqueeze(1)).to(torch.float64)

    @cached_property
    def _coded(self) -> dict[str, Split]:
        g = torch.Generator().manual_seed(20_000 + self.data_seed)
        return {k: Split(self._encode(s.X, g), s.y) for k, s in self._splits.items()}

    def batches(self, model: nn.Module, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        for batch in super().batches(model, batch_size, generator):
            yield Batch(self._encode(batch.X, generator), batch.y)

    def splits(self) -> Mapping[str, Split]:
        return self._coded


__all__ = ["BinaryLinear", "BinaryMlpDigits", "SpikingMLP", "SpikingMlpDigits"]
