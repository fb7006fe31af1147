"""Offline solvers: given the visible data (never the problem), they propose ``k`` designs at once."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from workbench.families.offline.problem import Offline, OfflineData
from workbench.solver import CellContext, Solver


@dataclass(frozen=True, kw_only=True)
class OfflineSolver(Solver):
    """Base of offline solvers: keyword-only frozen dataclasses implementing :meth:`propose`."""

    family: ClassVar[str] = "offline"
    requires: ClassVar[tuple[type, ...]] = (Offline,)

    @abstractmethod
    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        """``k`` designs (``k x dim`` native rows inside ``data.space``) from the visible data alone.

        ``cell`` gives the seed and the device; draw every random number from generators seeded by it."""


def generator(cell: CellContext, salt: int = 0) -> torch.Generator:
    """A generator on the CPU seeded by the cell's seed (and ``salt``, to keep separate streams apart)."""
    g = torch.Generator()
    g.manual_seed(int(cell.seed) * 1_000_003 + int(salt))
    return g
