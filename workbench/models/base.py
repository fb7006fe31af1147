"""The surrogate contract: a frozen config that fits a BoTorch ``Model`` to observations.

Inputs are ``n x d`` float64 rows in the unit cube (one-hot columns for categorical parameters), outputs
``n x 1`` float64, standardized and oriented for **maximization** (BoTorch's convention). ``state`` is a
dict the caller keeps between fits of one run, for warm starts; a surrogate may read and write it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from botorch.models.model import Model
from torch import Tensor


class SingleOutputModel(Model):
    """Base of the BoTorch models written here: one output, no batch of models."""

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size()


class FitError(RuntimeError):
    """A surrogate could not be fitted (non-finite loss, a matrix not positive definite, ...)."""


@dataclass(frozen=True, kw_only=True)
class Surrogate(ABC):
    """Base of surrogate configs."""

    #: short name used in logs and docs
    kind: ClassVar[str] = ""
    #: a float64 Gaussian process (qLogNEI may then cache the baseline's Cholesky root)
    is_gp: ClassVar[bool] = False

    @abstractmethod
    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        """Fit to ``X`` (``n x d``) and ``Y`` (``n x 1``); ``generator`` seeds every random choice."""


def check_finite(model: Model, X: Tensor) -> None:
    """Raise :class:`FitError` unless the model's posterior at ``X`` has finite means and positive variances."""
    with torch.no_grad():
        post = model.posterior(X)
        mean, var = post.mean, post.variance
    if not bool(torch.isfinite(mean).all()) or not bool(torch.isfinite(var).all()) or not bool((var > 0).all()):
        raise FitError("the fitted model's posterior at the observed points is not finite and positive")


def seed_from(generator: torch.Generator) -> int:
    """A 31-bit seed drawn from ``generator`` (for libraries that take an int seed)."""
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())
