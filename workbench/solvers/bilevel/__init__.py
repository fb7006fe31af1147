"""Bilevel solvers (the bilevel family): hypergradient methods with certified inexact lower levels."""

from workbench.solvers.bilevel.hoag import HOAG
from workbench.solvers.bilevel.hypergradient import Hypergradient, error_bound, hypergradient
from workbench.solvers.bilevel.maid import MAID

__all__ = ["HOAG", "MAID", "Hypergradient", "error_bound", "hypergradient"]
