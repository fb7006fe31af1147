"""Offline solvers: they propose ``k`` designs from a visible data set (see :mod:`workbench.families.offline`).

======================  ==================================================================================
``ga``                  gradient ascent on an MLP surrogate from the best visible designs (Design-Bench)
``ga-mean``/``ga-min``  the same on the mean / minimum of a 5-network ensemble
``ignite-ga`` (+ -mean, -min)  IGNITE: the surrogate trained under a sharpness constraint
``cmaes-surrogate``     CMA-ES on the surrogate, one run from each of the best visible designs
``ignite-cmaes``        IGNITE around ``cmaes-surrogate``
``root``                ROOT: a Brownian bridge from low to high designs learned on GP-mean functions
``bo-qei``              batch BO: a GP on a subsample of the visible data, greedy batch qLogEI
``coms``                COMs: gradient ascent on a conservatively trained surrogate
``ram``                 learning to rank: gradient search on a surrogate trained with a ranking loss (ListNet)
``local-search``        steepest ascent over single-letter edits on the surrogate ensemble (sequence spaces)
``mbga``                a genetic algorithm on the surrogate ensemble (sequence spaces)
======================  ==================================================================================

IGNITE is a wrapper: any surrogate-based solver takes ``surrogate=SurrogateConfig(sharpness=Sharpness())``.
"""

from workbench.solvers.offline.base import Fitted, SurrogateSolver
from workbench.solvers.offline.bo import BatchBO
from workbench.solvers.offline.bridge import Bridge, BridgeConfig
from workbench.solvers.offline.cmaes import CMAESSurrogate, IgniteCMAES
from workbench.solvers.offline.coms import COMs
from workbench.solvers.offline.discrete import EditScorer, LocalSearch, ModelBasedGA, Transitions
from workbench.solvers.offline.encoding import NetEncoding
from workbench.solvers.offline.ga import (
    GradientAscent,
    GradientAscentMean,
    GradientAscentMin,
    IgniteGA,
    IgniteGAMean,
    IgniteGAMin,
)
from workbench.solvers.offline.rank import RankingModel
from workbench.solvers.offline.root import ROOT, PosteriorMean
from workbench.solvers.offline.surrogate import MLPStack, Sharpness, SurrogateConfig, fit_surrogate, sharpness

__all__ = [
    "BatchBO", "Bridge", "BridgeConfig", "CMAESSurrogate", "COMs", "EditScorer", "fit_surrogate", "Fitted",
    "GradientAscent", "GradientAscentMean", "GradientAscentMin", "IgniteCMAES", "IgniteGA", "IgniteGAMean",
    "IgniteGAMin", "LocalSearch", "MLPStack", "ModelBasedGA", "NetEncoding", "PosteriorMean", "RankingModel",
    "ROOT", "sharpness", "Sharpness", "SurrogateConfig", "SurrogateSolver", "Transitions",
]
