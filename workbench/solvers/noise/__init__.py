"""Noise-search solvers (the noise family): ReNO, ReNO from best-of-N's top k, and best-of-N."""

from workbench.solvers.noise.best_of_n import BestOfN
from workbench.solvers.noise.reno import ReNO, ReNOFromBest, clip_norm, regularizer

__all__ = ["BestOfN", "ReNO", "ReNOFromBest", "clip_norm", "regularizer"]
