"""Bilevel solvers: methods that move the hyperparameters θ one outer iteration per step.

A :class:`BilevelSolver` declaration makes one :class:`BilevelRun` per cell (``start(oracle, context)``);
the family's loop calls :meth:`BilevelRun.step` once per recorded step. Everything a run spends goes through
the :class:`~workbench.families.bilevel.oracle.Oracle` it was given, which counts it; a run's state is
checkpointed through :meth:`BilevelRun.state_dict` after every step, so a killed cell resumes from its last
step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch import Tensor

from workbench.families.bilevel.oracle import Oracle
from workbench.problem import Problem
from workbench.solver import CellContext, Solver


@dataclass(frozen=True)
class Iterate:
    """What one outer iteration ends at: the hyperparameters ``theta`` (a ``dim`` tensor inside the space),
    the run's lower-level iterate ``x`` at them, and numbers worth recording (``info``: the tolerances, the
    step size, ...)."""

    theta: Tensor
    x: Tensor
    info: Mapping[str, float] = field(default_factory=dict)


class BilevelRun(ABC):
    """The state of one bilevel solver on one cell."""

    @abstractmethod
    def step(self) -> Iterate:
        """One outer iteration; raise to fail the step (the cell then ends)."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to go on from here (tensors and plain numbers)."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, kw_only=True)
class BilevelSolver(Solver):
    """Base of bilevel solvers: keyword-only frozen dataclasses of options implementing :meth:`start`."""

    family: ClassVar[str] = "bilevel"
    #: the method needs a certified lower level (a strongly convex ``h``)
    needs_strong_convexity: ClassVar[bool] = True
    #: the method builds networks of its own on the problem's (``forward``, ``shapes``, ``layers``, ``batches``)
    needs_network: ClassVar[bool] = False

    @abstractmethod
    def start(self, oracle: Oracle, cell: CellContext) -> BilevelRun:
        """Make the state of one run, at the problem's ``theta0``."""

    def missing(self, problem: Problem) -> list[str]:
        out = super().missing(problem)
        if self.needs_strong_convexity and not getattr(problem, "strongly_convex", False):
            out.append("strongly convex in its lower level (it declares strongly_convex=False; "
                       f"{self.label!r} needs μ and L to certify its lower-level solves)")
        if self.needs_network and not all(callable(getattr(problem, m, None))
                                          for m in ("forward", "shapes", "layers", "batches")):
            out.append(f"a network-training lower level (forward, shapes, layers, batches), which {self.label!r} "
                       "builds its own networks on")
        return out


__all__ = ["BilevelRun", "BilevelSolver", "Iterate"]
