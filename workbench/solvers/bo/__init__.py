"""Bayesian optimization with pluggable surrogates (see :mod:`workbench.models`)."""

from workbench.solvers.bo.core import AcquisitionConfig
from workbench.solvers.bo.solver import (
    BayesOpt,
    BayesOptRun,
    BoDKL,
    BoEnsemble,
    BoGP,
    BoHMC,
    BoIBNN,
    BoLaplace,
    BoNNGPSign,
    BoSGHMC,
    BoSGNTK,
)

__all__ = ["AcquisitionConfig", "BayesOpt", "BayesOptRun", "BoDKL", "BoEnsemble", "BoGP", "BoHMC", "BoIBNN",
           "BoLaplace", "BoNNGPSign", "BoSGHMC", "BoSGNTK"]
