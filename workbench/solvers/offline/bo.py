"""``bo-qei``: batch Bayesian optimization on the visible data (Design-Bench's "BO-qEI" baseline).

The ``bo-gp`` surrogate (:class:`workbench.models.GPSurrogate`, an exact GP fitted by marginal likelihood)
is fitted on a subsample of the visible data — the ``n_top`` best rows plus ``n_random`` others drawn at
random — and proposes ``k`` designs at once as a sequential greedy batch of qLogEI, through the same
machinery as the ``bo-*`` solvers (:func:`workbench.solvers.bo.core.propose`: encoding, fit fallbacks,
acquisition optimization, projection onto the space).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.offline import OfflineData, OfflineSolver, generator
from workbench.models import GPSurrogate, Surrogate
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo.core import AcquisitionConfig, propose
from workbench.solvers.bo.encoding import Encoding
from workbench.validation import check_choice, check_int


def _batch_search() -> AcquisitionConfig:
    """``bo-qei``'s acquisition: qLogEI (Design-Bench's BO-qEI) with a lighter search than the ``bo-*``
    solvers' (64 Monte Carlo samples, 4 restarts from 64 raw samples, 30 L-BFGS-B iterations)."""
    return AcquisitionConfig(acquisition="qlogei", mc_samples=64, num_restarts=4, raw_samples=64, maxiter=30)


@solvers.register("bo-qei")
@dataclass(frozen=True, kw_only=True)
class BatchBO(OfflineSolver):
    """A GP on a subsample of the visible data; ``k`` proposals by greedy batch qLogEI."""

    #: the surrogate (``bo-gp``'s by default)
    surrogate: Surrogate = field(default_factory=GPSurrogate)
    #: the best visible rows the GP is fitted on ...
    n_top: int = 256
    #: ... and this many other visible rows, at random
    n_random: int = 256
    #: the acquisition (any of the ``bo-*`` solvers' but "ts") and its optimization; a change of one option
    #: keeps the others at ``bo-qei``'s: ``dataclasses.replace(BatchBO().acquisition, num_restarts=8)``
    acquisition: AcquisitionConfig = field(default_factory=_batch_search)

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.surrogate, Surrogate):
            raise InvalidConfigError(f"{name}.surrogate must be a workbench.models.Surrogate, but got "
                                     f"{self.surrogate!r}")
        if not isinstance(self.acquisition, AcquisitionConfig):
            raise InvalidConfigError(f"{name}.acquisition must be an AcquisitionConfig, but got "
                                     f"acquisition={self.acquisition!r}")
        check_choice(self, "acquisition.acquisition", self.acquisition.acquisition, ("qlogei", "qlognei", "qucb"))
        check_int(self, "n_top", self.n_top, 1)
        check_int(self, "n_random", self.n_random, 0)

    def subsample(self, data: OfflineData, cell: CellContext) -> OfflineData:
        """The rows the GP is fitted on: the ``n_top`` best and ``n_random`` of the rest at random."""
        order = torch.argsort(data.y, descending=True)
        top, rest = order[: self.n_top], order[self.n_top :]
        pick = rest[torch.randperm(rest.numel(), generator=generator(cell, salt=3))[: self.n_random]]
        rows = torch.cat([top, pick])
        return OfflineData(data.space, data.X[rows], data.y[rows])

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        sub = self.subsample(data, cell).to(cell.device)
        seed = (int(cell.seed) * 1_000_003 + 7) % (2**31 - 1)
        X = propose(self.acquisition, self.surrogate, Encoding(data.space), sub.X, -sub.y, k, seed=seed, state={},
                    label=self.label)  # the bo machinery minimizes
        return X.to("cpu", torch.float64)
