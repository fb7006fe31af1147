"""GPyTorch kernels of infinitely wide ``erf_m`` and sign networks (closed forms in
:mod:`workbench.models.kernels.sgntk`): :class:`NNGPKernel`, :class:`ErfNTKKernel` and :class:`SGNTKKernel`.

Each has ``depth`` hidden layers and a fixed steepness ``m`` (``math.inf``: sign); the weight and bias
variances ``σ_w²`` and ``σ_b²`` are GPyTorch parameters (positive), fitted by marginal likelihood like any
GP hyperparameter. The NNGP and the NTK are symmetric positive semi-definite covariance functions (the NTK
only for finite ``m``). The SG-NTK ``I(x1, x2)`` is not symmetric in general: it is the kernel of the
trained network's mean (see :class:`workbench.models.sgntk.SGNTKModel`), not a prior covariance.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from gpytorch.constraints import Positive
from gpytorch.kernels import Kernel
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.kernels.sgntk import derf_derf, tangent_recursion
from workbench.validation import check_int, check_positive


class _InfiniteWidth(Kernel):
    has_lengthscale = False

    def __init__(self, *, depth: int = 2, m: float = math.inf, weight_var: float = 1.0, bias_var: float = 0.01,
                 **kwargs: Any) -> None:
        check_int(type(self).__name__, "depth", depth, 1)
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0:
            raise InvalidConfigError(f"{type(self).__name__}.m must be a number > 0 (math.inf: sign), but got m={m!r}")
        check_positive(type(self).__name__, "weight_var", weight_var)
        if isinstance(bias_var, bool) or not isinstance(bias_var, (int, float)) or not bias_var >= 0:
            raise InvalidConfigError(f"{type(self).__name__}.bias_var must be a number >= 0, but got bias_var={bias_var!r}")
        super().__init__(**kwargs)
        if len(self.batch_shape):
            raise InvalidConfigError(f"{type(self).__name__} has one set of hyperparameters (no batch_shape)")
        self.depth, self.m = depth, float(m)
        self.register_parameter("raw_weight_var", torch.nn.Parameter(torch.zeros((), dtype=torch.float64)))
        self.register_parameter("raw_bias_var", torch.nn.Parameter(torch.zeros((), dtype=torch.float64)))
        self.register_constraint("raw_weight_var", Positive())
        self.register_constraint("raw_bias_var", Positive())
        self.weight_var = weight_var
        self.bias_var = max(bias_var, 1e-12)

    @property
    def weight_var(self) -> Tensor:
        return self.raw_weight_var_constraint.transform(self.raw_weight_var)

    @weight_var.setter
    def weight_var(self, value: float | Tensor) -> None:
        value = torch.as_tensor(value, dtype=self.raw_weight_var.dtype).expand_as(self.raw_weight_var)
        self.initialize(raw_weight_var=self.raw_weight_var_constraint.inverse_transform(value))

    @property
    def bias_var(self) -> Tensor:
        return self.raw_bias_var_constraint.transform(self.raw_bias_var)

    @bias_var.setter
    def bias_var(self, value: float | Tensor) -> None:
        value = torch.as_tensor(value, dtype=self.raw_bias_var.dtype).expand_as(self.raw_bias_var)
        self.initialize(raw_bias_var=self.raw_bias_var_constraint.inverse_transform(value))

    def _kernels(self, x1: Tensor, x2: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, last_dim_is_batch: bool = False,
                **params: Any) -> Tensor:
        if last_dim_is_batch:
            raise NotImplementedError(f"{type(self).__name__} does not support last_dim_is_batch")
        K = self._kernels(x1, x2)
        return torch.diagonal(K, dim1=-2, dim2=-1) if diag else K


class NNGPKernel(_InfiniteWidth):
    """The Gaussian process of a randomly initialized, infinitely wide ``erf_m`` network (sign at
    ``m = inf``)."""

    def _kernels(self, x1: Tensor, x2: Tensor) -> Tensor:
        return tangent_recursion(x1, x2, depth=self.depth, w2=self.weight_var, b2=self.bias_var, m=self.m,
                                 derivative=None)[0]


class ErfNTKKernel(_InfiniteWidth):
    """The standard neural tangent kernel of an ``erf_m`` network (finite ``m``; its diagonal grows without
    bound as ``m`` does)."""

    def __init__(self, *, m: float = 2.0, **kwargs: Any) -> None:
        if isinstance(m, (int, float)) and math.isinf(m):
            raise InvalidConfigError("ErfNTKKernel.m must be finite: the NTK of a sign network is infinite where "
                                     "two inputs coincide (use SGNTKKernel)")
        super().__init__(m=m, **kwargs)

    def _kernels(self, x1: Tensor, x2: Tensor) -> Tensor:
        m = self.m
        return tangent_recursion(x1, x2, depth=self.depth, w2=self.weight_var, b2=self.bias_var, m=m,
                                 derivative=lambda a, b, c: derf_derf(a, b, c, m, m))[1]


class SGNTKKernel(_InfiniteWidth):
    """The surrogate-gradient NTK ``I(x1, x2)`` of an ``erf_m`` network trained with the ``erf_k'``
    surrogate (the true derivative on ``x1``'s side, the surrogate on ``x2``'s)."""

    def __init__(self, *, k: float = 1.0, **kwargs: Any) -> None:
        check_positive("SGNTKKernel", "k", k)
        super().__init__(**kwargs)
        self.k = float(k)

    def _kernels(self, x1: Tensor, x2: Tensor) -> Tensor:
        m, k = self.m, self.k
        return tangent_recursion(x1, x2, depth=self.depth, w2=self.weight_var, b2=self.bias_var, m=m,
                                 derivative=lambda a, b, c: derf_derf(a, b, c, m, k))[1]


__all__ = ["ErfNTKKernel", "NNGPKernel", "SGNTKKernel"]
