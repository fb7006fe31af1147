"""Deep ensemble: ``members`` networks from independent random initializations, each trained to its own
maximum a posteriori fit (Lakshminarayanan et al. 2017, without adversarial training; Li et al. 2024 find
ensembles a strong, cheap baseline). All members train at once as one batched network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from botorch.models.model import Model
from torch import Tensor

from workbench.models.bnn import NeuralSurrogate, as_nn, initial_state, map_fit, sampled_model
from workbench.validation import check_int, check_positive


@dataclass(frozen=True, kw_only=True)
class EnsembleSurrogate(NeuralSurrogate):
    """``members`` MAP networks, ``steps`` of Adam at ``lr``."""

    kind = "ensemble"

    members: int = 5
    steps: int = 500
    lr: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "members", self.members, 2)
        check_int(self, "steps", self.steps, 1)
        check_positive(self, "lr", self.lr)

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        x, y = as_nn(X, Y)
        shape = self.shape(x.shape[-1])
        z = initial_state(self, shape, self.members, generator, x.device)
        z = map_fit(self, shape, z, x, y, steps=self.steps, lr=self.lr)
        return sampled_model(self, shape, z, X)
