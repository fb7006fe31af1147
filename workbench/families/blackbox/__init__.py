"""The black-box family: a queryable objective, solvers that ``ask`` for points and are ``tell``-ed values.

A :class:`BlackBoxSolver` makes one :class:`SolverRun` per cell:

* ``ask(n)`` -> ``n x dim`` float64 tensor of native rows (see :mod:`workbench.space`);
* ``tell(X, y)`` with ``X`` ``m x dim`` and ``y`` ``m`` values **oriented for minimization**
  (the loop negates values of maximization problems); only successful evaluations are told.

The loop that drives them is :meth:`BlackBox.drive`, once for every solver. A resumed cell tells the
solver its recorded evaluations and goes on from the next step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from workbench.cell import CellRun
from workbench.family import Family, families
from workbench.problem import Queryable
from workbench.solver import CellContext, Solver


class SolverRun(ABC):
    """The state of one black-box solver on one cell."""

    @abstractmethod
    def ask(self, n: int) -> Tensor:
        """Propose ``n`` points: an ``n x dim`` float64 tensor of native rows."""

    @abstractmethod
    def tell(self, X: Tensor, y: Tensor) -> None:
        """Learn from evaluated points: ``X`` is ``m x dim``, ``y`` is ``m`` values to minimize."""


@dataclass(frozen=True, kw_only=True)
class BlackBoxSolver(Solver):
    """Base of black-box solvers: keyword-only frozen dataclasses of options implementing :meth:`start`."""

    family: ClassVar[str] = "blackbox"
    requires: ClassVar[tuple[type, ...]] = (Queryable,)

    @abstractmethod
    def start(self, cell: CellContext) -> SolverRun:
        """Make the state of one run."""


class BlackBox(Family):
    name = "blackbox"
    summary = "a queryable objective; solvers ask for points and are told their values"

    def drive(self, run: CellRun) -> None:
        solver: BlackBoxSolver = run.solver  # type: ignore[assignment]
        history = run.history
        state = solver.start(run.context)
        ok = ~history.failed
        if ok.any():
            state.tell(history.X[ok].to(run.device), run.sign * history.values[ok].to(run.device))
        going = not run.done
        while going and (q := run.next_batch()) > 0:
            X = run.checked(state.ask(q), q, f"ask({q})")
            evaluation = run.evaluate(X)
            going = run.record(X, evaluation.values, evaluation.reasons)
            good = torch.isfinite(evaluation.values)
            if going and good.any():
                state.tell(X[good.to(X.device)], (run.sign * evaluation.values[good]).to(run.device))


family = families.add(BlackBox())

__all__ = ["BlackBox", "BlackBoxSolver", "SolverRun", "family"]
