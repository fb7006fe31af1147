"""Bayesian optimization with pluggable surrogates (see :mod:`workbench.models`)."""

from workbench.solvers.bo.additive import BoAdd
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
    BoSAAS,
    BoSAASMap,
    BoSGHMC,
    BoSGNTK,
)
from workbench.solvers.bo.turbo import BoTuRBO

__all__ = ["AcquisitionConfig", "BayesOpt", "BoAdd", "BayesOptRun", "BoDKL", "BoEnsemble", "BoGP", "BoHMC", "BoIBNN",
           "BoLaplace", "BoNNGPSign", "BoSAAS", "BoSAASMap", "BoSGHMC", "BoSGNTK", "BoTuRBO"]
