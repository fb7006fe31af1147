"""The solver contract every family shares: a keyword-only config, registered by name, that states its
family and what it needs of a problem.

A solver declaration (a frozen, keyword-only dataclass of options) is shared by every cell of a study. How
a solver is driven is its family's business: black-box solvers are ``ask`` / ``tell``
(:class:`workbench.families.blackbox.BlackBoxSolver`), offline solvers ``propose`` from a data set
(:class:`workbench.families.offline.OfflineSolver`); each family's loop is written once, in the family.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from workbench.problem import Problem
from workbench.registry import Registry, entry_points_loader
from workbench.space import Space


@dataclass(frozen=True)
class CellContext:
    """What a solver knows about the cell it runs in."""

    space: Space
    seed: int
    device: torch.device
    #: steps already recorded when this run starts (> 0 when resuming)
    start_step: int = 0
    #: what the solver settled on at run time and wants on record (e.g. a budget resolved from the device):
    #: plain JSON-able values; the cell stores them when it finishes and the results carry them
    #: (``ds.attrs["notes"]``, by ``problem/solver/seed``)
    notes: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)


@dataclass(frozen=True, kw_only=True)
class Solver:
    """Base of solver declarations. Subclasses (through a family's solver base) are keyword-only frozen
    dataclasses of options, registered with ``@solvers.register(name)``."""

    #: the family whose problems this solver runs on
    family: ClassVar[str] = ""
    #: what a problem must offer for this solver to run on it
    requires: ClassVar[tuple[type, ...]] = ()

    #: the name in studies and results; defaults to the registered name
    name: str | None = None

    @property
    def label(self) -> str:
        """The name this solver has in studies and results."""
        return self.name or solvers.name_of(type(self)) or type(self).__name__

    def missing(self, problem: Problem) -> list[str]:
        """Names of the capabilities this solver needs and ``problem`` lacks (empty when it can run)."""
        return [proto.__name__ for proto in self.requires if not isinstance(problem, proto)]

    def describe(self) -> dict[str, Any]:
        options = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"name": self.label, "family": self.family,
                "class": f"{type(self).__module__}.{type(self).__qualname__}", "options": options}


def _plain(value: Any) -> Any:
    """Options as JSON-able data: nested option dataclasses become dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"class": f"{type(value).__module__}.{type(value).__qualname__}",
                **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    return value


#: the registered solver classes, by name; the built-in ones register through the ``workbench.solvers``
#: entry points
solvers: Registry[type[Solver]] = Registry("solver", loader=entry_points_loader("workbench.solvers"))
