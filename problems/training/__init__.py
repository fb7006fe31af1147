"""Training problems (the training family): models whose loss lives in target space."""

from problems.training.circle import SignCircleRegression
from problems.training.datasets import (
    DatasetProblem,
    LogregBreastCancer,
    LogregDigits,
    MlpDigits,
    SquaredDigits,
    SyntheticLogistic,
)
from problems.training.imitation import ImitationLQR
from problems.training.surrogate_nets import BinaryMlpDigits, SpikingMlpDigits

__all__ = ["BinaryMlpDigits", "DatasetProblem", "ImitationLQR", "LogregBreastCancer", "LogregDigits", "MlpDigits", "SignCircleRegression",
           "SpikingMlpDigits", "SquaredDigits", "SyntheticLogistic"]
