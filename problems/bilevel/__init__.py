"""Bilevel problems (the bilevel family): hyperparameters of a lower-level problem, tuned on validation data."""

from problems.bilevel.denoising import TVDenoising
from problems.bilevel.dropout import DropoutMlpDigits
from problems.bilevel.logreg import LogregL2Digits
from problems.bilevel.quadratic import BilevelQuadratic

__all__ = ["BilevelQuadratic", "DropoutMlpDigits", "LogregL2Digits", "TVDenoising"]
