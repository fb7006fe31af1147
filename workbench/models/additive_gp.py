"""An exact GP with an additive kernel over disjoint groups of inputs: the model of Add-GP-UCB (Kandasamy,
Schneider & Póczos, ICML 2015).

``f(x) = sum_j f_j(x_j)``, each ``f_j`` an independent GP on the inputs of group ``j`` with the squared
exponential kernel ``s exp(-|x_j - x'_j|^2 / (2 h^2))``; the bandwidth ``h`` and the scale ``s`` are shared by
the groups (as in the paper's code), the noise variance is fixed. Because the groups are disjoint and
independent a priori, the posterior of each ``f_j`` given the sum's observations is available in closed form
(:meth:`AdditiveGP.group_mean_var`), which is what makes the acquisition separable.

Learning (every ``relearn_every`` fits, and at the first): the inputs are split into groups of
``group_size`` by a random permutation; ``h`` and ``s`` maximize the marginal likelihood inside the paper
code's ranges (``h`` in [1e-5, 5] on the unit cube, ``s``, a variance, in [0.03, 30] on the standardized
outputs); then ``decompositions`` random permutations are scored by the marginal likelihood at those values,
the best is kept and ``h``, ``s`` are fitted again for it (the code's "partialLearn" strategy). Between
learnings the model is refitted to the new data with the learned values.

Where this differs from the paper's code (MATLAB, ``add-gp-bandits``): ``h`` and ``s`` are found by a log-grid
and L-BFGS-B instead of DiRect; the first split is a random permutation (the code starts from a random
rotation); the marginal likelihood is computed with the centred outputs (the code solves with the
uncentred ones); outputs are standardized (unit variance), so the noise variance 0.01 and the scale's range
are relative to the outputs' variance (the code multiplies both by the initial design's standard deviation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import torch
from botorch.models.model import Model
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.base import FitError, SingleOutputModel, Surrogate
from workbench.validation import check_int, check_number

#: added to every posterior variance (keeps joint covariances of nearby points positive definite)
JITTER = 1e-9


def groups_of(order: Tensor, size: int) -> list[Tensor]:
    """Consecutive groups of ``size`` inputs (the last one shorter) taken in ``order``."""
    return [order[i : i + size] for i in range(0, order.numel(), size)]


def assignment(groups: list[Tensor], d: int, like: Tensor) -> Tensor:
    """``d x M`` matrix with a one where input ``i`` belongs to group ``j``."""
    A = torch.zeros(d, len(groups), dtype=like.dtype, device=like.device)
    for j, g in enumerate(groups):
        A[g.to(like.device), j] = 1.0
    return A


def group_distances(A: Tensor, B: Tensor, assign: Tensor) -> Tensor:
    """Squared distances within each group: ``(..., n, d), (..., m, d) -> (..., n, m, M)``."""
    diff = A.unsqueeze(-2) - B.unsqueeze(-3)
    return (diff * diff) @ assign


class AdditiveGP(SingleOutputModel):
    """The fitted additive GP: data, groups, shared bandwidth and scale, and the Cholesky factor."""

    def __init__(self, X: Tensor, y: Tensor, assign: Tensor, bandwidth: float, scale: float, noise: float) -> None:
        super().__init__()
        self.X, self.y, self.assign = X, y.reshape(-1), assign
        self.bandwidth, self.scale, self.noise = float(bandwidth), float(scale), float(noise)
        K = self._kernel_parts(group_distances(X, X, assign)).sum(-1)
        K.diagonal().add_(self.noise)
        L, info = torch.linalg.cholesky_ex(K)
        if int(info) != 0:
            raise FitError("the additive GP's covariance matrix is not positive definite")
        self.L = L
        self.alpha = torch.cholesky_solve(self.y.reshape(-1, 1), L).squeeze(-1)

    @property
    def groups(self) -> int:
        return self.assign.shape[1]

    def _kernel_parts(self, r2: Tensor) -> Tensor:
        return self.scale * torch.exp(-0.5 * r2 / self.bandwidth**2)

    def group_mean_var(self, Z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance of every group's function at each row of ``Z``: ``(m, d) -> (m, M), (m, M)``."""
        Kp = self._kernel_parts(group_distances(Z, self.X, self.assign))  # (m, n, M)
        mean = torch.einsum("tnj,n->tj", Kp, self.alpha)
        V = torch.linalg.solve_triangular(self.L, Kp.permute(2, 1, 0), upper=False)  # (M, n, m)
        var = (self.scale - (V * V).sum(-2)).T.clamp_min(0.0) + JITTER
        return mean, var

    def mean_var(self, Z: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and variance of the sum at each row of ``Z`` (``(..., d) -> (...), (...)``)."""
        shape = Z.shape[:-1]
        Z = Z.reshape(-1, Z.shape[-1])
        Kxz = self._kernel_parts(group_distances(Z, self.X, self.assign)).sum(-1)
        mean = Kxz @ self.alpha
        V = torch.linalg.solve_triangular(self.L, Kxz.T, upper=False)
        var = (self.groups * self.scale - (V * V).sum(0)).clamp_min(0.0) + JITTER
        return mean.reshape(shape), var.reshape(shape)

    def conditioned(self, Z: Tensor) -> AdditiveGP:
        """The model with ``Z`` added as observed at its posterior mean (the same hyperparameters): what a
        batch hallucinates for its pending points, which lowers their variance and keeps the mean."""
        mean, _ = self.mean_var(Z)
        return AdditiveGP(torch.cat([self.X, Z]), torch.cat([self.y, mean]), self.assign, self.bandwidth,
                          self.scale, self.noise)

    def posterior(self, X: Tensor, output_indices: list[int] | None = None, observation_noise: Any = False,
                  posterior_transform: Any = None, **kwargs: Any) -> GPyTorchPosterior:
        Kxz = self._kernel_parts(group_distances(X, self.X, self.assign)).sum(-1)  # (..., q, n)
        mean = Kxz @ self.alpha
        V = torch.linalg.solve_triangular(self.L, Kxz.transpose(-1, -2), upper=False)
        prior = self._kernel_parts(group_distances(X, X, self.assign)).sum(-1)
        cov = prior - V.transpose(-1, -2) @ V
        extra = JITTER + (self.noise if observation_noise is True else 0.0)
        cov = cov + extra * torch.eye(X.shape[-2], dtype=X.dtype, device=X.device)
        posterior = GPyTorchPosterior(MultivariateNormal(mean, cov))
        return posterior_transform(posterior) if posterior_transform is not None else posterior


@dataclass(frozen=True, kw_only=True)
class AdditiveGPSurrogate(Surrogate):
    """Exact GP with an additive squared-exponential kernel over random groups of inputs (see the module)."""

    kind = "additive-gp"
    is_gp = True

    #: inputs per group (the last group takes the rest); 1 makes the model fully additive
    group_size: int = 4
    #: noise variance in units of the outputs' variance (the paper's code: 0.01)
    noise: float = 1e-2
    #: random splits scored by the marginal likelihood at each learning ("partialLearn": 5)
    decompositions: int = 5
    #: fits between two learnings of the split, the bandwidth and the scale (the paper's code: 25)
    relearn_every: int = 25
    #: ranges of the bandwidth (unit cube) and of the scale (a variance, standardized outputs), the code's
    bandwidth_range: tuple[float, float] = (1e-5, 5.0)
    scale_range: tuple[float, float] = (0.03, 30.0)

    def __post_init__(self) -> None:
        check_int(self, "group_size", self.group_size, 1)
        check_number(self, "noise", self.noise, low=0, low_open=True)
        check_int(self, "decompositions", self.decompositions, 1)
        check_int(self, "relearn_every", self.relearn_every, 1)
        for name in ("bandwidth_range", "scale_range"):
            r = getattr(self, name)
            if not (isinstance(r, tuple) and len(r) == 2 and all(isinstance(v, (int, float)) for v in r)
                    and 0 < r[0] < r[1] < math.inf):
                raise InvalidConfigError(f"AdditiveGPSurrogate.{name} must be a pair 0 < low < high, but got "
                                         f"{name}={r!r}")

    # --- the marginal likelihood -------------------------------------------------------------------------
    def _nll(self, log_h: Tensor, log_s: Tensor, r2: Tensor, y: Tensor) -> Tensor:
        """Negative log marginal likelihood (constants dropped) for a batch of ``(log h, log s)``; ``r2`` is
        ``(n, n, M)``."""
        h2, s = torch.exp(2 * log_h), torch.exp(log_s)
        K = (s[..., None, None] * torch.exp(-0.5 * r2 / h2[..., None, None, None]).sum(-1))
        K = K + self.noise * torch.eye(y.numel(), dtype=y.dtype, device=y.device)
        L, info = torch.linalg.cholesky_ex(K)
        u = torch.linalg.solve_triangular(L, y.reshape(-1, 1).expand(*L.shape[:-1], 1), upper=False)
        value = 0.5 * (u * u).sum((-1, -2)) + L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return torch.where(info == 0, value, torch.full_like(value, math.inf))

    def _fit_hyperparameters(self, r2: Tensor, y: Tensor) -> tuple[float, float, float]:
        """``(h, s, nll)`` maximizing the marginal likelihood in the ranges: the best of a 16 x 16 log-grid,
        polished by L-BFGS-B."""
        lo = torch.tensor([math.log(self.bandwidth_range[0]), math.log(self.scale_range[0])], dtype=torch.float64)
        hi = torch.tensor([math.log(self.bandwidth_range[1]), math.log(self.scale_range[1])], dtype=torch.float64)
        grid_h, grid_s = torch.meshgrid(torch.linspace(float(lo[0]), float(hi[0]), 16, dtype=y.dtype),
                                        torch.linspace(float(lo[1]), float(hi[1]), 16, dtype=y.dtype), indexing="ij")
        with torch.no_grad():
            values = torch.cat([self._nll(h.to(y.device), s.to(y.device), r2, y)
                                for h, s in zip(grid_h.reshape(-1).split(16), grid_s.reshape(-1).split(16))])
        if not bool(torch.isfinite(values).any()):
            raise FitError("the additive GP's marginal likelihood is not finite anywhere on its grid")
        best = int(values.argmin())
        start = np.array([float(grid_h.reshape(-1)[best]), float(grid_s.reshape(-1)[best])])

        def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
            t = torch.tensor(v, dtype=y.dtype, device=y.device, requires_grad=True)
            with torch.enable_grad():
                value = self._nll(t[0], t[1], r2, y)
                if not bool(torch.isfinite(value)):
                    return float("inf"), np.zeros(2)
                (grad,) = torch.autograd.grad(value, t)
            return float(value.detach()), grad.cpu().numpy()

        try:
            res = scipy.optimize.minimize(value_and_grad, start, jac=True, method="L-BFGS-B",
                                          bounds=list(zip(lo.tolist(), hi.tolist())), options={"maxiter": 100})
            if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun <= float(values[best]):
                start = res.x
        except (RuntimeError, ValueError):  # the grid's best stands
            pass
        nll = float(self._nll(torch.tensor(start[0]).to(y), torch.tensor(start[1]).to(y), r2, y))
        return math.exp(start[0]), math.exp(start[1]), nll

    def learn(self, X: Tensor, y: Tensor, generator: torch.Generator) -> dict[str, Any]:
        """The split into groups, the bandwidth and the scale for data ``X``, ``y`` (see the module)."""
        d = X.shape[-1]
        diff = X.unsqueeze(1) - X.unsqueeze(0)
        sq = diff * diff  # (n, n, d)

        def split() -> Tensor:
            return torch.randperm(d, generator=generator)

        order = split()
        A = assignment(groups_of(order, self.group_size), d, X)
        h, s, nll = self._fit_hyperparameters(sq @ A, y)
        if 1 < self.group_size < d:  # the split matters: score random ones at (h, s), keep the best
            with torch.no_grad():
                for _ in range(self.decompositions):
                    other = split()
                    B = assignment(groups_of(other, self.group_size), d, X)
                    value = float(self._nll(torch.tensor(math.log(h)).to(y), torch.tensor(math.log(s)).to(y),
                                            sq @ B, y))
                    if value < nll:
                        order, A, nll = other, B, value
            h, s, nll = self._fit_hyperparameters(sq @ A, y)
        return {"order": order, "bandwidth": h, "scale": s, "n": X.shape[0], "d": d}

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        X, y = X.double(), Y.double().reshape(-1)
        learned = state.get("additive_gp")
        if learned is None or learned["d"] != X.shape[-1] or X.shape[0] - learned["n"] >= self.relearn_every:
            learned = state["additive_gp"] = self.learn(X, y, generator)
        A = assignment(groups_of(learned["order"], self.group_size), X.shape[-1], X)
        return AdditiveGP(X, y, A, learned["bandwidth"], learned["scale"], self.noise)


__all__ = ["AdditiveGP", "AdditiveGPSurrogate"]
