"""``coms``: conservative objective models (Trabucco, Kumar, Geng, Levine; ICML 2021), the published
``coms_cleaned`` algorithm of the design-baselines code.

The surrogate ``f`` is trained on the mean squared error of standardized scores plus a conservatism term: for
each minibatch, negatives ``mu`` are made by ``particle_steps`` = 50 plain gradient-ascent steps on the current
``f`` from the minibatch's own designs (no gradient through the steps), and the loss adds
``alpha * (mean f(mu) - mean f(x))``, pushing down what gradient ascent would find. ``alpha = exp(log alpha)``
follows a dual step (Adam, ``alpha_lr`` = 0.01, from ``alpha`` = 0.1) on ``alpha * (tau - overestimation)``:
it grows while ``f`` overestimates its ascended points by more than ``tau``. The proposals are ``solver_steps`` =
50 gradient-ascent steps on the trained ``f`` from the ``k`` best visible designs. Every step size is
``particle_lr * sqrt(features)``.

Defaults by space, as the reference's scripts set them: on spaces of letters and choices (TFBind8) the raw
logits (no feature standardization), ``particle_lr`` = 2.0 and ``tau`` = 2.0 (the code's final TFBind8 setting;
the commit the paper links swept ``tau`` over 0.4–1.0 at ``particle_lr`` 0.05); elsewhere standardized
features, ``particle_lr`` = 0.05 and ``tau`` = 0.5. The reference has no letter task but TFBind8, so on other
sequence tasks (Ehrlich functions) the letter defaults are an extension of its TFBind8 setting.

Deviations: the network is 2 x 256 ReLU units in PyTorch's default initialization (the reference: 2 x 2048,
Glorot), capped at 3,000 Adam steps (the reference: 50 epochs, about 12,700 steps on TFBind8); no validation
split (the reference's only logs); the entropy and input-noise terms are left out (zero in every reference
script). Cost: each training step takes 50 gradient steps on the minibatch, and a pass grows with the first
layer: per design 24 x 256 + 256 x 256 multiply-adds on TFBind8's 24 features, 4.4 times that on Ehrlich-32's
992 and 15 times on Ehrlich-128's 3,968 (docs/offline.md has the measured seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.offline import OfflineData, generator
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.offline.base import Fitted, SurrogateSolver, encoded, letters_only
from workbench.solvers.offline.ga import ascend
from workbench.solvers.offline.surrogate import MLPStack, SurrogateConfig, fit_surrogate
from workbench.validation import check_int, check_positive


class Conservatism:
    """COMs' penalty for :func:`fit_surrogate`, with its own dual variable per ensemble member."""

    def __init__(self, members: int, alpha: float, alpha_lr: float, tau: float, steps: int, lr: float,
                 device: torch.device) -> None:
        self.log_alpha = torch.full((members,), math.log(alpha), device=device, requires_grad=True)
        self.dual = torch.optim.Adam([self.log_alpha], lr=alpha_lr)
        self.tau, self.steps, self.lr = float(tau), int(steps), float(lr)
        #: the mean overestimation of the last minibatch, per member
        self.overestimation = torch.zeros(members, device=device)

    @property
    def alpha(self) -> Tensor:
        return self.log_alpha.detach().exp()

    def __call__(self, net: MLPStack, xb: Tensor, predictions: Tensor) -> Tensor:
        fixed = [p.detach() for p in net.params]
        negatives = ascend(lambda x: net(x, fixed), xb, self.steps, self.lr)
        gap = (net(negatives) - predictions).mean(1)  # S: mean f(mu) - mean f(x), differentiable in the weights
        alpha = self.log_alpha.exp()
        self.dual.zero_grad()
        (alpha * (self.tau - gap.detach())).sum().backward()
        self.dual.step()
        self.overestimation = gap.detach()
        return alpha.detach() * gap


def _coms_network() -> SurrogateConfig:
    return SurrogateConfig(activation="relu", epochs=50, max_steps=3000)


@solvers.register("coms")
@dataclass(frozen=True, kw_only=True)
class COMs(SurrogateSolver):
    """Conservative objective models: gradient ascent on a surrogate trained to underestimate what gradient
    ascent finds (see the module docstring for the algorithm and its defaults)."""

    surrogate: SurrogateConfig = field(default_factory=_coms_network)
    #: the initial Lagrange multiplier of the conservatism term
    alpha: float = 0.1
    #: Adam's learning rate on ``log alpha``
    alpha_lr: float = 0.01
    #: the overestimation limit (None: 2.0 on spaces of letters and choices, 0.5 elsewhere)
    tau: float | None = None
    #: step size of the negatives and of the final ascent, times ``sqrt(features)`` (None: 2.0 / 0.05)
    particle_lr: float | None = None
    #: ascent steps of the negatives in training
    particle_steps: int = 50
    #: ascent steps of the proposals
    solver_steps: int = 50
    #: standardize the features (None: raw logits on spaces of letters and choices, standardized elsewhere)
    standardize: bool | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.surrogate.sharpness is not None:
            raise InvalidConfigError("COMs.surrogate.sharpness must be None: COMs trains under its own penalty")
        check_positive(self, "alpha", self.alpha)
        check_positive(self, "alpha_lr", self.alpha_lr)
        check_positive(self, "tau", self.tau, optional=True)
        check_positive(self, "particle_lr", self.particle_lr, optional=True)
        check_int(self, "particle_steps", self.particle_steps, 1)
        check_int(self, "solver_steps", self.solver_steps, 0)
        if self.standardize is not None and not isinstance(self.standardize, bool):
            raise InvalidConfigError(f"COMs.standardize must be True, False or None, but got {self.standardize!r}")

    def settings(self, data: OfflineData) -> tuple[float, float, bool]:
        """``(tau, particle_lr, standardize)`` for the space of ``data`` (the defaults by space filled in)."""
        letters = letters_only(data.space)
        tau = self.tau if self.tau is not None else (2.0 if letters else 0.5)
        lr = self.particle_lr if self.particle_lr is not None else (2.0 if letters else 0.05)
        standardize = self.standardize if self.standardize is not None else not letters
        return tau, lr, standardize

    def fit(self, data: OfflineData, cell: CellContext) -> Fitted:
        tau, lr, standardize = self.settings(data)
        enc, Z, y = encoded(data, cell, standardize=standardize)
        penalty = Conservatism(self.surrogate.members, self.alpha, self.alpha_lr, tau, self.particle_steps, lr, Z.device)
        net = fit_surrogate(self.surrogate, Z, y, generator=generator(cell, salt=1), penalty=penalty)
        return Fitted(enc, Z, y, net, self.aggregation)

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        fitted = self.fit(data, cell)
        _, lr, _ = self.settings(data)
        return fitted.enc.decode(ascend(fitted.predict, fitted.starts(k), self.solver_steps, lr))
