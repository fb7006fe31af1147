"""What the surrogate-based offline solvers share: encode the visible data, fit the surrogate, pick the
starting designs, decode the proposals."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.offline import OfflineData, OfflineSolver, generator
from workbench.solver import CellContext
from workbench.solvers.offline.encoding import NetEncoding
from workbench.solvers.offline.surrogate import MLPStack, Sharpness, SurrogateConfig, aggregate, fit_surrogate
from workbench.space import Space
from workbench.validation import check_choice

AGGREGATIONS = ("mean", "min")


@dataclass(frozen=True)
class Fitted:
    """The encoded visible data and the surrogate fitted to it (scores standardized)."""

    enc: NetEncoding
    Z: Tensor
    y: Tensor
    net: MLPStack
    aggregation: str

    def predict(self, Z: Tensor) -> Tensor:
        """The aggregated ensemble prediction (standardized score) of features ``Z`` (``N x d``) -> ``N``."""
        return aggregate(self.net(Z), self.aggregation)

    def starts(self, k: int) -> Tensor:
        """The features of the ``k`` best visible designs, best first (cycled when fewer are visible)."""
        order = torch.argsort(self.y, descending=True)
        return self.Z[order[torch.arange(k, device=order.device) % order.numel()]]


def standardized(y: Tensor) -> Tensor:
    std = y.std() if y.numel() > 1 else torch.ones((), dtype=y.dtype)
    return (y - y.mean()) / (std if bool(std > 1e-12) else torch.ones_like(std))


@dataclass(frozen=True, kw_only=True)
class SurrogateSolver(OfflineSolver):
    """Base of the solvers that optimize a learned surrogate; ``surrogate.sharpness`` makes them IGNITE."""

    #: the surrogate and its training (set ``sharpness=Sharpness()`` for IGNITE)
    surrogate: SurrogateConfig = field(default_factory=SurrogateConfig)
    #: how an ensemble's predictions combine: "mean" or "min"
    aggregation: str = "mean"

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.surrogate, SurrogateConfig):
            raise InvalidConfigError(f"{name}.surrogate must be a SurrogateConfig, but got {self.surrogate!r}")
        check_choice(self, "aggregation", self.aggregation, AGGREGATIONS)

    def fit(self, data: OfflineData, cell: CellContext) -> Fitted:
        """Encode the visible data on the cell's device and train the surrogate on it."""
        enc, Z, y = encoded(data, cell)
        net = fit_surrogate(self.surrogate, Z, y, generator=generator(cell, salt=1))
        return Fitted(enc, Z, y, net, self.aggregation)


def encoded(data: OfflineData, cell: CellContext, *, standardize: bool = True) -> tuple[NetEncoding, Tensor, Tensor]:
    """The visible data as the networks see it, on the cell's device: the encoding, its float32 features and
    the standardized float32 scores."""
    device = torch.device(cell.device)
    enc = NetEncoding(data.space, data.X, standardize=standardize)
    Z = enc.encode(data.X, device=device)
    y = standardized(data.y.to(torch.float64)).to(device, torch.float32)
    return enc, Z, y


def best_rows(data: OfflineData, k: int) -> Tensor:
    """The native rows of the ``k`` best visible designs, best first (cycled when fewer are visible)."""
    order = torch.argsort(data.y, descending=True)
    return data.X[order[torch.arange(k) % order.numel()]]


def letters_only(space: Space) -> bool:
    """Every column of ``space`` is a letter of a ``Sequence`` or a ``Categorical`` choice."""
    return set(space.column_kinds) == {"categorical"}


def ignite(members: int = 1) -> SurrogateConfig:
    """The default surrogate under IGNITE's sharpness constraint (the paper's defaults)."""
    return SurrogateConfig(members=members, sharpness=Sharpness())


def ensemble(members: int = 5) -> SurrogateConfig:
    """The default surrogate as an ensemble of ``members`` networks (Design-Bench's ensembles have 5)."""
    return SurrogateConfig(members=members)

