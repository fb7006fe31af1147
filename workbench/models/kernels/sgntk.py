"""Infinite-width kernels of ``erf_m`` and sign networks: the NNGP, the NTK, and the surrogate-gradient NTK.

The network (Eilers, Memmesheimer & Goedeke, "A generalized neural tangent kernel for surrogate gradient
learning", NeurIPS 2024) is an MLP in the NTK parametrization with ``depth`` hidden layers of activation
``erf_m(x) = erf(m x)`` (``m = inf``: ``sign``), every weight and bias standard normal, each layer
``h = (σ_w/√n_in) W a + σ_b b``, and a linear readout (its ``σ_w``, ``σ_b`` scaled by ``readout_scale`` κ).
Trained by surrogate-gradient descent, the backward pass uses ``erf_k'`` in place of ``erf_m'``.

With ``Σ¹(x, y) = σ_w² ⟨x, y⟩ / n₀ + σ_b²`` and, for ``l = 1..depth``, ``(u, v) ~ N(0, Σˡ)`` restricted to
``(x, y)``:

* NNGP: ``Σˡ⁺¹ = σ_w² E[φ(u) φ(v)] + σ_b²``, with
  ``E[erf_m(u) erf_m(v)] = (2/π) arcsin(Σ_xy / √((a + Σ_xx)(a + Σ_yy)))``, ``a = 1/(2m²)`` (0 for sign);
* NTK: ``Θ¹ = Σ¹``, ``Θˡ⁺¹ = Θˡ · σ_w² E[φ'(u) φ'(v)] + Σˡ⁺¹``;
* SG-NTK: ``I¹ = Σ¹``, ``Iˡ⁺¹ = Iˡ · σ_w² E[φ'(u) ψ(v)] + Σˡ⁺¹``, the true derivative on ``x``'s side and
  the surrogate on ``y``'s (the kernel is not symmetric in general: ``I(x, y) = J f(x) · J̃ f(y)ᵀ``),

with ``E[erf_m'(u) erf_k'(v)] = (2/π) [(a_m + Σ_xx)(a_k + Σ_yy) − Σ_xy²]^{-1/2}``. As ``m -> inf`` the NNGP
and the SG-NTK tend to finite limits (the sign network's), while the NTK's diagonal grows without bound
(``E[erf_m'(u)²] ~ (2/π) m / √Σ_xx``): gradient descent through a jump is ill-posed at infinite width, and
surrogate-gradient learning is not. The readout multiplies every kernel by ``κ²``.

All computations are float64 and vectorized over leading batch dimensions: ``x1`` is ``... x n x d``,
``x2`` is ``... x p x d``, kernels are ``... x n x p``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.validation import check_int, check_number, check_positive

_TWO_OVER_PI = 2.0 / math.pi


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """The network whose infinite-width limits are computed: ``depth`` hidden layers of ``erf_m``
    (``m = inf``: sign), weight and bias scales, the readout's scale κ, and the surrogate ``erf_k'``
    (``k``; ``surrogate_scale`` multiplies it as :class:`~workbench.families.training.surrogate_gradients.Erf`'s
    ``scale`` does)."""

    depth: int = 2
    sigma_w: float = 1.0
    sigma_b: float = 0.1
    m: float = math.inf
    k: float = 1.0
    surrogate_scale: float = 1.0
    readout_scale: float = 1.0

    def __post_init__(self) -> None:
        check_int(self, "depth", self.depth, 1)
        check_positive(self, "sigma_w", self.sigma_w)
        check_number(self, "sigma_b", self.sigma_b, low=0.0)
        if not (isinstance(self.m, (int, float)) and not isinstance(self.m, bool) and self.m > 0
                and not math.isnan(self.m)):
            raise InvalidConfigError(f"Architecture.m must be a number > 0 (math.inf: sign), but got m={self.m!r}")
        check_positive(self, "k", self.k)
        check_positive(self, "surrogate_scale", self.surrogate_scale)
        check_positive(self, "readout_scale", self.readout_scale)


def _offset(m: float) -> float:
    """``1/(2m²)``: 0 for the sign limit."""
    return 0.0 if math.isinf(m) else 1.0 / (2.0 * m * m)


def erf_erf(s11: Tensor, s22: Tensor, s12: Tensor, m: float) -> Tensor:
    """``E[erf_m(u) erf_m(v)]`` for ``(u, v) ~ N(0, [[s11, s12], [s12, s22]])`` (``m = inf``: sign), as
    ``(2/π) atan2(s12, √det)`` with ``det = (a + s11)(a + s22) − s12²``: the same as the arcsine. ``det`` is
    floored at ``1e-12 (a + s11)(a + s22)`` (a correlation of ``1 − 5e-13``; the value moves by at most
    ``1e-6`` of the kernel's scale): at two inputs that (nearly) coincide the arcsine's gradient is
    unbounded, which breaks the marginal-likelihood fit of BO's hyperparameters."""
    a = _offset(m)
    scale = (a + s11) * (a + s22)
    det = scale - s12 * s12
    return _TWO_OVER_PI * torch.atan2(s12, torch.sqrt(torch.maximum(det, 1e-12 * scale)))


def derf_derf(s11: Tensor, s22: Tensor, s12: Tensor, m1: float, m2: float) -> Tensor:
    """``E[erf_{m1}'(u) erf_{m2}'(v)]``; ``m1 = inf`` is the sign's ``2δ`` (finite while ``m2`` is);
    infinite where both are and ``u = v`` almost surely."""
    det = (_offset(m1) + s11) * (_offset(m2) + s22) - s12 * s12
    return _TWO_OVER_PI / torch.sqrt(det.clamp_min(0.0))


def tangent_recursion(x1: Tensor, x2: Tensor, *, depth: int, w2: Tensor | float, b2: Tensor | float, m: float,
                      derivative: Callable[[Tensor, Tensor, Tensor], Tensor] | None) -> tuple[Tensor, Tensor]:
    """The output's NNGP ``Σ`` and, with ``derivative`` (the expected product of the two sides'
    derivatives, from ``(Σ_xx, Σ_yy, Σ_xy)``), the tangent kernel ``Kˡ⁺¹ = Kˡ · σ_w² derivative(Σˡ) +
    Σˡ⁺¹`` (else ``Σ`` twice). ``w2`` and ``b2`` (``σ_w²``, ``σ_b²``) may be tensors with gradients; the
    readout's κ² is the caller's."""
    n0 = x1.shape[-1]
    s11 = w2 * (x1 * x1).sum(-1) / n0 + b2
    s22 = w2 * (x2 * x2).sum(-1) / n0 + b2
    s12 = w2 * (x1 @ x2.transpose(-1, -2)) / n0 + b2
    tangent = s12
    for _ in range(depth):
        d11, d22 = s11[..., :, None], s22[..., None, :]
        dot = derivative(d11, d22, s12) if derivative is not None else None
        s11, s22, s12 = (w2 * erf_erf(s11, s11, s11, m) + b2, w2 * erf_erf(s22, s22, s22, m) + b2,
                         w2 * erf_erf(d11, d22, s12, m) + b2)
        tangent = tangent * w2 * dot + s12 if dot is not None else s12
    return s12, tangent


def _recursion(x1: Tensor, x2: Tensor, arch: Architecture,
               derivative: Callable[[Tensor, Tensor, Tensor], Tensor] | None) -> tuple[Tensor, Tensor]:
    s, t = tangent_recursion(x1, x2, depth=arch.depth, w2=arch.sigma_w**2, b2=arch.sigma_b**2, m=arch.m,
                             derivative=derivative)
    kappa2 = arch.readout_scale**2
    return kappa2 * s, kappa2 * t


def nngp(x1: Tensor, x2: Tensor, arch: Architecture) -> Tensor:
    """The network's Gaussian process at initialization (NNGP): ``... x n x p``."""
    return _recursion(x1, x2, arch, None)[0]


def ntk(x1: Tensor, x2: Tensor, arch: Architecture) -> Tensor:
    """The standard NTK of ``erf_m`` (``m = inf`` gives infinite entries where two inputs coincide)."""
    return _recursion(x1, x2, arch, lambda a, b, c: derf_derf(a, b, c, arch.m, arch.m))[1]


def sgntk(x1: Tensor, x2: Tensor, arch: Architecture) -> Tensor:
    """The surrogate-gradient NTK ``I(x1, x2)``: the true derivative on ``x1``'s side, ``erf_k'`` (times
    ``surrogate_scale``) on ``x2``'s."""
    scale = arch.surrogate_scale
    return _recursion(x1, x2, arch, lambda a, b, c: scale * derf_derf(a, b, c, arch.m, arch.k))[1]


def sgntk_and_nngp(x1: Tensor, x2: Tensor, arch: Architecture) -> tuple[Tensor, Tensor]:
    """``(I(x1, x2), Σ(x1, x2))`` in one pass."""
    scale = arch.surrogate_scale
    s, i = _recursion(x1, x2, arch, lambda a, b, c: scale * derf_derf(a, b, c, arch.m, arch.k))
    return i, s


__all__ = ["Architecture", "derf_derf", "erf_erf", "nngp", "ntk", "sgntk", "sgntk_and_nngp", "tangent_recursion"]
