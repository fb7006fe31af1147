"""``ga``: gradient ascent on a learned surrogate from the best visible designs (Design-Bench's "Grad. Ascent"
baseline), with ensemble variants ``ga-mean`` / ``ga-min`` and IGNITE's sharpness-constrained training
``ignite-ga`` / ``ignite-ga-mean`` / ``ignite-ga-min``.

Each of the ``k`` best visible designs (in :class:`NetEncoding` features: standardized unit-cube columns,
standardized logits for sequences) takes ``steps`` plain gradient steps ``x += lr * sqrt(dim) * grad f(x)``
(Design-Bench scales the step size 0.01 by the square root of the input size); the proposals are the
final points, decoded (logits to their argmax).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from workbench.families.offline import OfflineData
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.offline.base import SurrogateSolver, ensemble, ignite
from workbench.solvers.offline.surrogate import SurrogateConfig
from workbench.validation import check_int, check_positive


@solvers.register("ga")
@dataclass(frozen=True, kw_only=True)
class GradientAscent(SurrogateSolver):
    """Gradient ascent on the surrogate from the ``k`` best visible designs (200 steps of
    ``0.01 * sqrt(dim)``, Design-Bench's settings)."""

    #: gradient steps per design
    steps: int = 200
    #: step size before scaling by ``sqrt(dim)`` of the features
    lr: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "steps", self.steps, 0)
        check_positive(self, "lr", self.lr)

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        fitted = self.fit(data, cell)
        return fitted.enc.decode(ascend(fitted.predict, fitted.starts(k), self.steps, self.lr))


def ascend(f: Callable[[Tensor], Tensor], x: Tensor, steps: int, lr: float) -> Tensor:
    """``steps`` plain gradient steps ``x += lr * sqrt(d) * grad f(x)`` on every row of ``x`` (``n x d``)."""
    step = lr * float(x.shape[-1]) ** 0.5
    x = x.detach()
    for _ in range(steps):
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(f(x).sum(), x)
        x = (x + step * grad).detach()
    return x


@solvers.register("ga-mean")
@dataclass(frozen=True, kw_only=True)
class GradientAscentMean(GradientAscent):
    """Gradient ascent on the mean prediction of an ensemble of 5 networks."""

    surrogate: SurrogateConfig = field(default_factory=ensemble)
    aggregation: str = "mean"


@solvers.register("ga-min")
@dataclass(frozen=True, kw_only=True)
class GradientAscentMin(GradientAscent):
    """Gradient ascent on the minimum prediction of an ensemble of 5 networks."""

    surrogate: SurrogateConfig = field(default_factory=ensemble)
    aggregation: str = "min"


@solvers.register("ignite-ga")
@dataclass(frozen=True, kw_only=True)
class IgniteGA(GradientAscent):
    """IGNITE around ``ga``: the surrogate trained under the sharpness constraint (eps 0.1, lambda_0 1e-3,
    dual lr 1e-3, rho 0.05)."""

    surrogate: SurrogateConfig = field(default_factory=ignite)


@solvers.register("ignite-ga-mean")
@dataclass(frozen=True, kw_only=True)
class IgniteGAMean(GradientAscentMean):
    """IGNITE around ``ga-mean``."""

    surrogate: SurrogateConfig = field(default_factory=lambda: ignite(5))


@solvers.register("ignite-ga-min")
@dataclass(frozen=True, kw_only=True)
class IgniteGAMin(GradientAscentMin):
    """IGNITE around ``ga-min``."""

    surrogate: SurrogateConfig = field(default_factory=lambda: ignite(5))
