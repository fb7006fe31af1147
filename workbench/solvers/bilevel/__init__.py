"""Bilevel solvers (the bilevel family): hypergradient methods with certified inexact lower levels (MAID,
HOAG), Self-Tuning Networks, and the fixed-hyperparameter baseline."""

from workbench.solvers.bilevel.hoag import HOAG
from workbench.solvers.bilevel.hypergradient import Hypergradient, error_bound, hypergradient
from workbench.solvers.bilevel.maid import MAID
from workbench.solvers.bilevel.stn import STN, Fixed, HyperLinear

__all__ = ["HOAG", "MAID", "STN", "Fixed", "HyperLinear", "Hypergradient", "error_bound", "hypergradient"]
