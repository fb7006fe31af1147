"""The bilevel family's cost axes (see :class:`~workbench.families.bilevel.BilevelFamily`)."""

LOWER, ADJOINT, UPPER, SOLVER_SECONDS = "lower_iterations", "adjoint_iterations", "upper_evaluations", "solver_seconds"

__all__ = ["ADJOINT", "LOWER", "SOLVER_SECONDS", "UPPER"]
