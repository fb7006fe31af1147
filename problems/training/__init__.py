"""Training problems (the training family): models whose loss lives in target space."""

from problems.training.datasets import (
    DatasetProblem,
    LogregBreastCancer,
    LogregDigits,
    MlpDigits,
    SquaredDigits,
    SyntheticLogistic,
)

__all__ = ["DatasetProblem", "LogregBreastCancer", "LogregDigits", "MlpDigits", "SquaredDigits", "SyntheticLogistic"]
