"""Offline solvers: they propose ``k`` designs from a visible data set (see :mod:`workbench.families.offline`).

======================  ==================================================================================
``ga``                  gradient ascent on an MLP surrogate from the best visible designs (Design-Bench)
``ga-mean``/``ga-min``  the same on the mean / minimum of a 5-network ensemble
``ignite-ga`` (+ -mean, -min)  IGNITE: the surrogate trained under a sharpness constraint
``cmaes-surrogate``     CMA-ES on the surrogate, one run from each of the best visible designs
``ignite-cmaes``        IGNITE around ``cmaes-surrogate``
``root``                ROOT: a Brownian bridge from low to high designs learned on GP-mean functions
``bo-qei``              batch BO: a GP on a subsample of the visible data, greedy batch qLogEI
======================  ==================================================================================

IGNITE is a wrapper: any surrogate-based solver takes ``surrogate=SurrogateConfig(sharpness=Sharpness())``.
"""

from workbench.solvers.offline.base import Fitted, SurrogateSolver
from workbench.solvers.offline.bo import BatchBO
from workbench.solvers.offline.bridge import Bridge, BridgeConfig
from workbench.solvers.offline.cmaes import CMAESSurrogate, IgniteCMAES
from workbench.solvers.offline.encoding import NetEncoding
from workbench.solvers.offline.ga import (
    GradientAscent,
    GradientAscentMean,
    GradientAscentMin,
    IgniteGA,
    IgniteGAMean,
    IgniteGAMin,
)
from workbench.solvers.offline.root import ROOT, PosteriorMean
from workbench.solvers.offline.surrogate import MLPStack, Sharpness, SurrogateConfig, fit_surrogate, sharpness

__all__ = [
    "ROOT", "BatchBO", "Bridge", "BridgeConfig", "CMAESSurrogate", "Fitted", "GradientAscent", "GradientAscentMean",
    "GradientAscentMin", "IgniteCMAES", "IgniteGA", "IgniteGAMean", "IgniteGAMin", "MLPStack", "NetEncoding",
    "PosteriorMean", "Sharpness", "SurrogateConfig", "SurrogateSolver", "fit_surrogate", "sharpness",
]
