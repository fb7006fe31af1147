"""Training problems (the training family): models whose loss lives in target space."""

from problems.training.datasets import (
    DatasetProblem,
    LogregBreastCancer,
    LogregDigits,
    MlpDigits,
    SquaredDigits,
    SyntheticLogistic,
)
from problems.training.imitation import ImitationLQR

__all__ = ["DatasetProblem", "ImitationLQR", "LogregBreastCancer", "LogregDigits", "MlpDigits", "SquaredDigits",
           "SyntheticLogistic"]
