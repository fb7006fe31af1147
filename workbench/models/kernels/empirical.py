"""Finite-width counterparts of :mod:`workbench.models.kernels.sgntk`: ensembles of MLPs in the NTK
parametrization (the networks of ``sign-circle-regression``), their empirical tangent kernels, their
surrogate-gradient training, and the Gaussian process the infinite-width theory predicts for them.

An :class:`Ensemble` holds ``E`` networks at once (weights ``E x n_out x n_in``), so that hundreds of them
train in one batched pass. Its empirical tangent kernel between ``x`` (true derivatives ``d1``) and ``y``
(derivatives ``d2``: the surrogate's for the SG-NTK, the true ones again for the NTK) is computed layer by
layer, without materializing Jacobians: for a layer ``h = (σ_w/√n) W a + σ_b b`` with backward signal
``δ = ∂f/∂h``, its parameters contribute ``⟨δ(x), δ̃(y)⟩ (σ_w²/n ⟨a(x), a(y)⟩ + σ_b²)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.families.training.surrogate_gradients import SurrogateGradient, step
from workbench.models.kernels.sgntk import Architecture, sgntk_and_nngp
from workbench.validation import check_int, check_positive

Act = Callable[[Tensor], Tensor]


def activation(m: float) -> Act:
    """``erf_m`` (``m = inf``: sign, ``+1`` at 0)."""
    if math.isinf(m):
        return lambda h: torch.where(h >= 0, 1.0, -1.0).to(h.dtype)
    return lambda h: torch.erf(m * h)


def erf_derivative(k: float, scale: float = 1.0) -> Act:
    """``scale · erf_k'(h) = scale · (2k/√π) exp(−k² h²)``."""
    return lambda h: scale * (2.0 * k / math.sqrt(math.pi)) * torch.exp(-((k * h) ** 2))


@dataclass
class Ensemble:
    """``E`` MLPs ``n₀ -> width^depth -> 1`` in the NTK parametrization (weights and biases standard
    normal); the readout's scales are multiplied by ``readout_scale``."""

    weights: list[Tensor]  # each E x n_out x n_in
    biases: list[Tensor]  # each E x n_out
    sigma_w: float
    sigma_b: float
    readout_scale: float = 1.0

    @classmethod
    def draw(cls, size: int, widths: list[int], *, sigma_w: float, sigma_b: float, readout_scale: float = 1.0,
             generator: torch.Generator) -> Ensemble:
        W = [torch.randn(size, b, a, generator=generator, dtype=torch.float64) for a, b in zip(widths[:-1], widths[1:])]
        B = [torch.randn(size, b, generator=generator, dtype=torch.float64) for b in widths[1:]]
        return cls(W, B, sigma_w, sigma_b, readout_scale)

    @property
    def size(self) -> int:
        return int(self.weights[0].shape[0])

    def _scales(self, layer: int) -> tuple[float, float]:
        kappa = self.readout_scale if layer == len(self.weights) - 1 else 1.0
        n_in = self.weights[layer].shape[-1]
        return kappa * self.sigma_w / math.sqrt(n_in), kappa * self.sigma_b

    def forward(self, X: Tensor, act: Act) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """Outputs ``E x N`` on ``X`` (``N x n₀``), with every layer's input (``E x N x n_in``) and hidden
        pre-activation (``E x N x width``)."""
        a = X.expand(self.size, *X.shape)
        inputs, pre = [], []
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            ws, bs = self._scales(i)
            inputs.append(a)
            h = ws * a @ W.transpose(-1, -2) + bs * b[:, None, :]
            if i < len(self.weights) - 1:
                pre.append(h)
                a = act(h)
        return h[..., 0], inputs, pre

    def _deltas(self, pre: list[Tensor], derivative: Act) -> list[Tensor]:
        """``∂f/∂h`` of every layer, output first reversed to input order (``E x N x n_out``)."""
        E, N = pre[0].shape[:2] if pre else (self.size, 0)
        delta = torch.ones(E, N, 1, dtype=torch.float64)
        out = [delta]
        for i in range(len(self.weights) - 1, 0, -1):
            ws, _ = self._scales(i)
            delta = (delta @ self.weights[i]) * ws * derivative(pre[i - 1])
            out.append(delta)
        return out[::-1]

    def tangent_kernel(self, X1: Tensor, X2: Tensor, act: Act, d1: Act, d2: Act) -> Tensor:
        """``E x N1 x N2``: ``J f(X1) · J̃ f(X2)ᵀ`` with derivatives ``d1`` on ``X1``'s side, ``d2`` on
        ``X2``'s."""
        _, in1, pre1 = self.forward(X1, act)
        _, in2, pre2 = self.forward(X2, act)
        deltas1, deltas2 = self._deltas(pre1, d1), self._deltas(pre2, d2)
        K = torch.zeros(self.size, len(X1), len(X2), dtype=torch.float64)
        for i in range(len(self.weights)):
            ws, bs = self._scales(i)
            K = K + (deltas1[i] @ deltas2[i].transpose(-1, -2)) * (ws**2 * in1[i] @ in2[i].transpose(-1, -2) + bs**2)
        return K

    def train_surrogate_gd(self, X: Tensor, Y: Tensor, *, forward: str, m: float, surrogate: SurrogateGradient, lr: float,
                           steps: int) -> None:
        """Full-batch gradient descent on ``½ mean (f(X) − Y)²`` of every network at once, the hidden
        activations' derivative replaced by ``surrogate`` (forward ``sign`` or ``erf`` with ``m``)."""
        params = [*self.weights, *self.biases]
        for p in params:
            p.requires_grad_(True)

        def act(h: Tensor) -> Tensor:
            return step(h, surrogate, forward, 0.0, m)

        for _ in range(steps):
            f, _, _ = self.forward(X, act)
            loss = 0.5 * ((f - Y.reshape(1, -1)) ** 2).mean(-1).sum()  # networks are independent
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= lr * g
        for p in params:
            p.requires_grad_(False)


def trained_gp(X: Tensor, Y: Tensor, T: Tensor, arch: Architecture, *, lr: float | None = None,
               steps: int | None = None) -> tuple[Tensor, Tensor]:
    """The distribution of the infinitely wide network's function at ``T`` after surrogate-gradient
    descent on ``½ mean (f(X) − Y)²``: Gaussian with mean ``A Y`` and covariance
    ``Σ(T,T) − A Σ(X,T) − Σ(T,X) Aᵀ + A Σ(X,X) Aᵀ``, where ``A = I(T,X) I(X,X)⁻¹ (Id − (Id − η I(X,X)/N)^s)``
    after ``s`` steps of rate ``η`` (``A = I(T,X) I(X,X)⁻¹`` when ``steps`` is None: trained to
    convergence). ``Σ`` is the NNGP, ``I`` the SG-NTK. Returns ``(mean, covariance)``."""
    I_XX, S_XX = sgntk_and_nngp(X, X, arch)
    I_TX, S_TX = sgntk_and_nngp(T, X, arch)
    S_TT = sgntk_and_nngp(T, T, arch)[1]
    A = torch.linalg.solve(I_XX.T, I_TX.T).T
    if steps is not None:
        check_int("trained_gp", "steps", steps, 0)
        check_positive("trained_gp", "lr", lr)
        M = torch.eye(len(X), dtype=torch.float64) - lr * I_XX / len(X)
        A = A @ (torch.eye(len(X), dtype=torch.float64) - torch.linalg.matrix_power(M, steps))
    mean = A @ Y.reshape(-1)
    cov = S_TT - A @ S_TX.T - S_TX @ A.T + A @ S_XX @ A.T
    return mean, cov


__all__ = ["Ensemble", "activation", "erf_derivative", "trained_gp"]
