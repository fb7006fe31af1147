"""Solvers, registered by name. ``solvers.get("optuna-tpe")`` returns the declaration class."""

from __future__ import annotations

from workbench.registry import Registry
from workbench.solvers.base import CellContext, Solver, SolverRun


def _load_offline() -> None:
    """The offline solvers register on first use of the registry (they import :mod:`workbench.offline`,
    which imports this package: loading them here at import time would be circular)."""
    from workbench.solvers import offline  # noqa: F401


solvers: Registry[type[Solver]] = Registry("solver", loader=_load_offline)


def resolve_solver(spec: str | Solver) -> Solver:
    """A registered name (default options) or a solver declaration, as a declaration."""
    if isinstance(spec, Solver):
        return spec
    if isinstance(spec, str):
        return solvers.get(spec)()
    raise TypeError(f"a solver is a registered name or a Solver declaration, but got {spec!r}")


# the built-in solvers register themselves on import
from workbench.solvers import bo as _bo  # noqa: E402,F401
from workbench.solvers import optuna as _optuna  # noqa: E402,F401
from workbench.solvers import random as _random  # noqa: E402,F401

__all__ = ["CellContext", "Solver", "SolverRun", "resolve_solver", "solvers"]
