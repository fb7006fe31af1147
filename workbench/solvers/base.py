"""The solver contract: a keyword-only config that starts one run per cell.

A solver declaration (a frozen, keyword-only dataclass of options) is shared by every cell of a study;
:meth:`Solver.start` makes the per-cell state, a :class:`SolverRun` with two methods:

* ``ask(n)`` -> ``n x dim`` float64 tensor of native rows (see :mod:`workbench.space`);
* ``tell(X, y)`` with ``X`` ``m x dim`` and ``y`` ``m`` values **oriented for minimization**
  (the runner negates values of maximization problems) — only successful evaluations are told.

The loop that drives them lives in the runner, once.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from workbench.problem import Problem, Queryable
from workbench.space import Space


@dataclass(frozen=True)
class CellContext:
    """What a solver knows about the cell it runs in."""

    space: Space
    seed: int
    device: torch.device
    budget: int
    batch_size: int = 1
    #: evaluations already recorded when this run starts (> 0 when resuming)
    start_step: int = 0


class SolverRun(ABC):
    """The state of one solver on one cell."""

    @abstractmethod
    def ask(self, n: int) -> Tensor:
        """Propose ``n`` points: an ``n x dim`` float64 tensor of native rows."""

    @abstractmethod
    def tell(self, X: Tensor, y: Tensor) -> None:
        """Learn from evaluated points: ``X`` is ``m x dim``, ``y`` is ``m`` values to minimize."""


@dataclass(frozen=True, kw_only=True)
class Solver(ABC):
    """Base of solver declarations. Subclasses are keyword-only frozen dataclasses of options,
    registered with ``@solvers.register(name)``."""

    #: what a problem must offer for this solver to run on it
    requires: ClassVar[tuple[type, ...]] = (Queryable,)
    registered_name: ClassVar[str] = ""

    #: the name in studies and results; defaults to the registered name
    name: str | None = None

    @abstractmethod
    def start(self, cell: CellContext) -> SolverRun:
        """Make the state of one run."""

    @property
    def label(self) -> str:
        """The name this solver has in studies and results."""
        return self.name or self.registered_name or type(self).__name__

    def missing(self, problem: Problem) -> list[str]:
        """Names of the capabilities this solver needs and ``problem`` lacks (empty when it can run)."""
        return [proto.__name__ for proto in self.requires if not isinstance(problem, proto)]

    def describe(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:  # a nested config (a surrogate, an acquisition) as a dict, not its repr
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                fields = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
                return {"class": f"{type(value).__module__}.{type(value).__qualname__}", **fields}
            return value

        options = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"name": self.label, "class": f"{type(self).__module__}.{type(self).__qualname__}", "options": options}
