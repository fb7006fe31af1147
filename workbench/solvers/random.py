"""``random``: scrambled Sobol points over the whole space."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.families.blackbox import BlackBoxSolver, SolverRun
from workbench.solver import CellContext
from workbench.solvers import solvers


@solvers.register("random")
@dataclass(frozen=True, kw_only=True)
class RandomSearch(BlackBoxSolver):
    """Quasi-random search: a scrambled Sobol sequence seeded by the cell's seed."""

    #: scramble the Sobol sequence (Owen scrambling); unscrambled Sobol starts at the corner 0
    scramble: bool = True

    def start(self, cell: CellContext) -> SolverRun:
        return _RandomRun(cell, self.scramble)


class _RandomRun(SolverRun):
    def __init__(self, cell: CellContext, scramble: bool) -> None:
        self.space = cell.space
        self.device = cell.device
        self.engine = torch.quasirandom.SobolEngine(cell.space.dim, scramble=scramble, seed=cell.seed)
        if cell.start_step:  # resuming: continue the same sequence an uninterrupted run would draw
            self.engine.fast_forward(cell.start_step)

    def ask(self, n: int) -> Tensor:
        return self.space.from_unit(self.engine.draw(n, dtype=torch.float64)).to(self.device)

    def tell(self, X: Tensor, y: Tensor) -> None:
        """Random search learns nothing."""
