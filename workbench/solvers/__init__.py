"""Solvers, registered by name. ``solvers.get("optuna-tpe")`` returns the declaration class.

Black-box solvers (``ask`` / ``tell``) live here (``random``, ``optuna``, ``bo``), offline ones in
``offline/``; each registers itself when imported, and the registry imports the built-in ones (entry points
of the installed package) the first time a name is looked up.
"""

from __future__ import annotations

from workbench.solver import CellContext, Solver, solvers


def resolve_solver(spec: str | Solver) -> Solver:
    """A registered name (default options) or a solver declaration, as a declaration."""
    if isinstance(spec, Solver):
        return spec
    if isinstance(spec, str):
        return solvers.get(spec)()
    raise TypeError(f"a solver is a registered name or a Solver declaration, but got {spec!r}")


__all__ = ["CellContext", "Solver", "resolve_solver", "solvers"]
