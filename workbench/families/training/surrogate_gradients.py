"""Surrogate gradients: step-like activations whose backward pass uses a smooth surrogate derivative.

A sign, Heaviside or spike activation has zero derivative almost everywhere. Surrogate-gradient learning
keeps the exact forward and replaces its derivative ``σ'(x)`` in the backward pass by a declared function
``ψ(x)``. A :class:`SurrogateGradient` is that declaration: one frozen, keyword-only dataclass per kind,
validated when declared, with :meth:`SurrogateGradient.derivative` giving ``ψ(x)``.
:func:`surrogate_gradient` makes one from a kind name and a slope, which is how a problem declares it as a
(tunable) hyperparameter.

The kinds and their derivatives (``x`` is the activation's input, relative to its jump):

=================  =========================================================================  ==============
kind               ``ψ(x)``                                                                   slope (default)
=================  =========================================================================  ==============
``ste``            ``1``                                                                      none
``clipped-ste``    ``1`` where ``|x| <= t`` (1), else ``0`` (the hardtanh straight-through)   none
``fast-sigmoid``   ``1 / (1 + k|x|)^2`` (SuperSpike; ``snntorch.surrogate.fast_sigmoid``)      ``k`` (25)
``sigmoid``        ``k s(kx) (1 - s(kx))``, ``s`` the logistic (``snntorch...sigmoid``)      ``k`` (25)
``arctan``         ``(α/2) / (1 + (π α x / 2)^2)`` (``snntorch.surrogate.atan``)               ``α`` (2)
``erf``            ``(2k/√π) exp(-k² x²)``, the derivative of ``erf(kx)`` (the SG-NTK paper)  ``k`` (1)
``reste``          ReSTE: ``(1/o)|x|^{1/o - 1}`` where ``|x| <= t`` (1.5), else 0            ``o`` (3)
=================  =========================================================================  ==============

The formulas are the ones the literature writes for each name, so their areas differ: ``sigmoid`` and
``arctan`` integrate to 1 (the height of a Heaviside step), ``erf``, ``clipped-ste`` and ``reste`` to 2 (a
sign's; ReSTE's to ``2 t^{1/o}``), ``fast-sigmoid`` to ``2/k``. ``scale`` multiplies any of them. The
forward steps are ``+1`` (sign) and ``1`` (Heaviside) at exactly 0, where ``torch.sign`` gives 0 and
snntorch's Heaviside 0: a set of measure zero, which only matters for inputs that are exactly 0.

ReSTE (Wu et al., ICCV 2023) is the derivative of the power function ``sign(x)|x|^{1/o}`` (flattened near
0 as the reference code does); its ``o`` grows over training on a quarter-cosine schedule from ``o_start``
to ``o_end`` (at ``o = 1`` it is the clipped STE with ReSTE's threshold), so it reads the fraction of
training done, which the training family passes to the model before each epoch
(:meth:`~workbench.families.training.problem.TrainingProblem.schedule`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from workbench.errors import InvalidConfigError
from workbench.validation import check_choice, check_number, check_positive

FORWARDS: tuple[str, ...] = ("sign", "heaviside", "erf")


@dataclass(frozen=True, kw_only=True)
class SurrogateGradient(ABC):
    """A backward surrogate ``ψ(x)`` for a step-like activation."""

    kind: ClassVar[str]
    #: multiplies ``ψ``
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self, "scale", self.scale)

    @abstractmethod
    def shape(self, x: Tensor, progress: float) -> Tensor:
        """``ψ(x) / scale``; ``progress`` is the fraction of training done (in ``[0, 1]``)."""

    def derivative(self, x: Tensor, progress: float = 0.0) -> Tensor:
        """``ψ(x)``, elementwise."""
        return self.scale * self.shape(x, progress)

    @property
    def slope(self) -> float | None:
        """The kind's slope parameter (None for the straight-through kinds)."""
        return None

    def describe(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items()}
        return {"kind": self.kind, **fields}


@dataclass(frozen=True, kw_only=True)
class STE(SurrogateGradient):
    """Straight-through: ``ψ(x) = 1``."""

    kind: ClassVar[str] = "ste"

    def shape(self, x: Tensor, progress: float) -> Tensor:
        return torch.ones_like(x)


@dataclass(frozen=True, kw_only=True)
class ClippedSTE(SurrogateGradient):
    """Clipped straight-through: ``ψ(x) = 1`` where ``|x| <= t``, else 0 (hardtanh's derivative at
    ``t = 1``)."""

    kind: ClassVar[str] = "clipped-ste"
    t: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "t", self.t)

    def shape(self, x: Tensor, progress: float) -> Tensor:
        return (x.abs() <= self.t).to(x.dtype)


@dataclass(frozen=True, kw_only=True)
class _Sloped(SurrogateGradient):
    k: float = 25.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "k", self.k)

    @property
    def slope(self) -> float:
        return float(self.k)


@dataclass(frozen=True, kw_only=True)
class FastSigmoid(_Sloped):
    """SuperSpike's fast sigmoid: ``ψ(x) = 1 / (1 + k|x|)^2``."""

    kind: ClassVar[str] = "fast-sigmoid"

    def shape(self, x: Tensor, progress: float) -> Tensor:
        return 1.0 / (1.0 + self.k * x.abs()) ** 2


@dataclass(frozen=True, kw_only=True)
class Sigmoid(_Sloped):
    """The logistic's derivative: ``ψ(x) = k s(kx) (1 - s(kx))``."""

    kind: ClassVar[str] = "sigmoid"

    def shape(self, x: Tensor, progress: float) -> Tensor:
        s = torch.sigmoid(self.k * x)
        return self.k * s * (1.0 - s)


@dataclass(frozen=True, kw_only=True)
class Arctan(SurrogateGradient):
    """The arctangent's: ``ψ(x) = (α/2) / (1 + (π α x / 2)^2)``."""

    kind: ClassVar[str] = "arctan"
    alpha: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "alpha", self.alpha)

    @property
    def slope(self) -> float:
        return float(self.alpha)

    def shape(self, x: Tensor, progress: float) -> Tensor:
        return (self.alpha / 2.0) / (1.0 + (math.pi / 2.0 * self.alpha * x) ** 2)


@dataclass(frozen=True, kw_only=True)
class Erf(_Sloped):
    """The derivative of ``erf(kx)``: ``ψ(x) = (2k/√π) exp(-k² x²)``; the surrogate of the SG-NTK paper,
    whose kernels :mod:`workbench.models.kernels.sgntk` computes in closed form."""

    kind: ClassVar[str] = "erf"
    k: float = 1.0

    def shape(self, x: Tensor, progress: float) -> Tensor:
        return (2.0 * self.k / math.sqrt(math.pi)) * torch.exp(-((self.k * x) ** 2))


@dataclass(frozen=True, kw_only=True)
class ReSTE(SurrogateGradient):
    """ReSTE (Wu et al., ICCV 2023): the derivative of ``sign(x)|x|^{1/o}``, ``(1/o)|x|^{1/o - 1}``, where
    ``interval < |x| <= t``; near 0, where that grows without bound, the secant slope
    ``interval^{1/o - 1}`` of the power function over ``[0, interval]``; 0 where ``|x| > t``. Its power
    rises over training on a quarter cosine, ``o(p) = o_start + (o_end - o_start)(1 - cos(π p / 2))`` at the
    fraction ``p`` of training done. At ``o = 1`` it is the clipped STE with threshold ``t``. Defaults are
    the reference code's (``o`` from 1 to 3, ``t = 1.5``, ``interval = 0.1``)."""

    kind: ClassVar[str] = "reste"
    o_start: float = 1.0
    o_end: float = 3.0
    t: float = 1.5
    interval: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(self, "o_start", self.o_start, low=1.0)
        check_number(self, "o_end", self.o_end, low=self.o_start)
        check_positive(self, "interval", self.interval)
        check_number(self, "t", self.t, low=self.interval, low_open=True)

    @property
    def slope(self) -> float:
        return float(self.o_end)

    def power(self, progress: float) -> float:
        """``o`` after the fraction ``progress`` of training."""
        p = min(max(float(progress), 0.0), 1.0)
        return self.o_start + (self.o_end - self.o_start) * (1.0 - math.cos(math.pi * p / 2.0))

    def shape(self, x: Tensor, progress: float) -> Tensor:
        o = self.power(progress)
        a = x.abs()
        power = (1.0 / o) * a.clamp_min(self.interval) ** (1.0 / o - 1.0)
        near = torch.full_like(x, self.interval ** (1.0 / o - 1.0))
        return torch.where(a <= self.interval, near, torch.where(a <= self.t, power, torch.zeros_like(x)))


KINDS: dict[str, type[SurrogateGradient]] = {c.kind: c for c in (STE, ClippedSTE, FastSigmoid, Sigmoid, Arctan, Erf, ReSTE)}
#: the field each kind's slope sets
_SLOPE_FIELD = {"fast-sigmoid": "k", "sigmoid": "k", "erf": "k", "arctan": "alpha", "reste": "o_end"}


def surrogate_gradient(kind: str, slope: float | None = None, *, owner: object = "surrogate_gradient",
              error: type[Exception] = InvalidConfigError) -> SurrogateGradient:
    """The surrogate of ``kind`` with its slope set to ``slope`` (its default when None): ``k`` of
    ``fast-sigmoid``, ``sigmoid`` and ``erf``, ``α`` of ``arctan``, ``o_end`` of ``reste``. The
    straight-through kinds take no slope. Errors name ``owner.surrogate`` / ``owner.slope``."""
    check_choice(owner, "surrogate", kind, KINDS, error=error)
    if slope is None:
        return KINDS[kind]()
    if kind not in _SLOPE_FIELD:
        raise error(f"{owner if isinstance(owner, str) else type(owner).__name__}.slope must be None for "
                    f"surrogate {kind!r} (it has no slope), but got slope={slope!r}")
    low = 1.0 if kind == "reste" else 0.0
    check_number(owner, "slope", slope, low=low, low_open=kind != "reste", error=error)
    return KINDS[kind](**{_SLOPE_FIELD[kind]: float(slope)})


class _Step(torch.autograd.Function):
    """Forward: the exact activation; backward: the incoming gradient times ``ψ(x)``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, forward: str, m: float, surrogate: SurrogateGradient, progress: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate, ctx.progress = surrogate, progress
        if forward == "sign":
            return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
        if forward == "erf":
            return torch.erf(m * x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None, None]:
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x, ctx.progress), None, None, None, None


def step(x: Tensor, surrogate: SurrogateGradient, forward: str = "sign", progress: float = 0.0, m: float = 1.0) -> Tensor:
    """``sign(x)`` (``+1`` at 0), ``H(x)`` (1 at 0) or ``erf(m x)`` with ``surrogate``'s derivative in the
    backward pass."""
    return _Step.apply(x, forward, m, surrogate, progress)


class SurrogateStep(nn.Module):
    """An activation (``forward``: ``sign``, ``heaviside``, or the smooth ``erf`` with steepness ``m``, the
    SG-NTK paper's ``erf_m``) whose backward pass uses ``surrogate``; ``progress`` (the fraction of training
    done) is set by the problem's
    :meth:`~workbench.families.training.problem.TrainingProblem.schedule` before each epoch."""

    def __init__(self, surrogate: SurrogateGradient, forward: str = "sign", m: float = 1.0) -> None:
        super().__init__()
        if not isinstance(surrogate, SurrogateGradient):
            raise InvalidConfigError(f"SurrogateStep.surrogate must be a SurrogateGradient, but got {surrogate!r}")
        self.surrogate = surrogate
        self.forward_kind = check_choice(self, "forward", forward, FORWARDS)
        self.m = float(check_positive(self, "m", m))
        self.progress = 0.0

    def forward(self, x: Tensor) -> Tensor:
        return step(x, self.surrogate, self.forward_kind, self.progress, self.m)

    def extra_repr(self) -> str:
        return f"{self.forward_kind}{f'(m={self.m:g})' if self.forward_kind == 'erf' else ''}, {self.surrogate}"


def scheduled(model: nn.Module) -> bool:
    """Whether a surrogate in ``model`` changes over training (a ReSTE whose power rises)."""
    return any(isinstance(m, SurrogateStep) and isinstance(m.surrogate, ReSTE) and m.surrogate.o_end > m.surrogate.o_start
               for m in model.modules())


def set_progress(model: nn.Module, progress: float) -> None:
    """Tell every :class:`SurrogateStep` in ``model`` the fraction of training done."""
    for m in model.modules():
        if isinstance(m, SurrogateStep):
            m.progress = float(progress)


__all__ = ["FORWARDS", "KINDS", "Arctan", "ClippedSTE", "Erf", "FastSigmoid", "ReSTE", "STE", "Sigmoid", "SurrogateGradient",
           "SurrogateStep", "scheduled", "set_progress", "step", "surrogate_gradient"]
