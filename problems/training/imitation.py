"""Online imitation learning of an LQR expert: a CPU stand-in for the MuJoCo imitation experiments of SSO
(Lavington et al., ICML 2023, "Target-based Surrogates for Stochastic Optimization").

A seeded linear system ``x' = A x + B u + w`` (``system_seed``: ``A`` Gaussian, rescaled to spectral radius
``spectral_radius`` = 1.05, so the open loop is unstable and imitation matters; ``B`` Gaussian; ``Q = I``,
``R = I``; process noise ``w ~ N(0, noise_std² I)``) is controlled by a linear policy ``u = K x`` (an
``nn.Linear`` without bias, float64, initialized small: uniform in ``±0.1/√n`` from the cell's generator).
The expert is the infinite-horizon LQR controller ``u* = K* x``, ``K* = -(R + BᵀPB)⁻¹ BᵀPA`` with ``P`` the
discrete-time algebraic Riccati equation's solution.

Training is DAgger-style and fully on-policy (no mixing with the expert, no aggregation): each batch is one
rollout of horizon ``H`` of the **current** policy (initial state ``x₀ ~ N(0, I)`` and process noise drawn
from the cell's data generator); the states visited are the inputs, the expert's actions on them the
labels, the per-example loss ``½‖π(x) − u*(x)‖²`` (smoothness 1), and the batch costs the environment steps
it took (``env_steps``, a cost axis of this problem). An epoch is ``rollouts`` rollouts.

**Unstable policies** (a bad step can make ``A + BK`` unstable): a rollout *stops early* when the state's
norm exceeds ``state_bound`` (default 100, against ``‖x₀‖ ≈ √n``), as a MuJoCo episode ends when the agent
falls; states are never clipped. The state that crossed the bound is not part of the batch, and only the
actions actually taken count as environment steps (a batch then has fewer than ``H`` examples).

**Scores** (monitoring, not counted as environment steps): noise-free rollouts of the current policy from two
fixed sets of ``eval_rollouts`` initial states each (drawn from ``system_seed``), stopped at the same bound.

* ``train_loss`` — the imitation loss, averaged over the states visited in ``H`` steps from the first set
  (plus the regularizer ``l2/2 ‖K‖²``); the step's value, 0 at ``K = K*``;
* ``test_loss`` — the same from the second set (without the regularizer);
* ``cost_ratio`` — ``Σ J(π) / Σ J(π*)`` over the second set, where ``J`` is the quadratic cost of
  ``eval_horizon`` steps plus the terminal cost ``x_Tᵀ P x_T``. With that terminal cost the expert's cost is
  exactly ``x₀ᵀ P x₀`` and no policy does better, so the ratio is ``>= 1`` with equality at the expert. A
  rollout stopped at the bound ends there with the terminal cost ``xᵀPx`` of the state that crossed it (still
  a lower bound on what that policy would pay, so the ratio stays ``>= 1``) — finite for any finite policy,
  no cap: each stopped rollout adds at least ``state_bound²`` (``P >= Q = I``) against ``J* = x₀ᵀPx₀`` (about
  10-30 by default), so a policy that leaves the bound scores in the hundreds at least, a diverged one far
  more (1e6 and up: its last action is paid too).

``batch_size`` is ``H`` (a rollout's length, the most examples a batch holds); the ``batch_size`` the family
passes to :meth:`batches` is ignored. With no fixed training set the problem has no ``splits()``, so the
family refuses full-batch solvers on it. ``optimum`` is 0 (the expert is a linear policy) when ``l2 == 0``,
unknown otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.linalg
import torch
from torch import Tensor, nn

from workbench.errors import InvalidProblemError
from workbench.families.training import Batch, TrainingProblem
from workbench.families.training.problem import ENV_STEPS, check_training
from workbench.problem import catalog, validate_problem
from workbench.validation import check_int, check_number

OWNER = "ImitationLQR"


def _int(field: str, value: Any, minimum: int = 1) -> int:
    return check_int(OWNER, field, value, minimum, error=InvalidProblemError)


def _number(field: str, value: Any, **bounds: Any) -> float:
    return float(check_number(OWNER, field, value, error=InvalidProblemError, **bounds))


def _system(n: int, m: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``A`` (Gaussian, rescaled to spectral radius ``rho``) and ``B`` (Gaussian) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / math.sqrt(n)
    radius = float(np.max(np.abs(np.linalg.eigvals(A))))
    if radius < 1e-12:  # a nilpotent draw (probability zero): the identity instead
        A, radius = np.eye(n), 1.0
    A *= rho / radius
    B = rng.standard_normal((n, m))
    return A, B


def _controllable(A: np.ndarray, B: np.ndarray) -> bool:
    n = A.shape[0]
    blocks, M = [], B
    for _ in range(n):
        blocks.append(M)
        M = A @ M
    return int(np.linalg.matrix_rank(np.hstack(blocks))) == n


@catalog.register("imitation-lqr")
class ImitationLQR(TrainingProblem):
    """Online (DAgger-style, on-policy) imitation of the LQR expert of a seeded unstable linear system by a
    linear policy; each batch is a rollout of the current policy and costs its environment steps."""

    cost_axes = (ENV_STEPS,)
    smoothness = 1.0

    def __init__(self, *, state_dim: int = 6, action_dim: int = 2, horizon: int = 20, rollouts: int = 10,
                 noise_std: float = 0.1, system_seed: int = 0, spectral_radius: float = 1.05,
                 state_bound: float = 100.0, eval_rollouts: int = 10, eval_horizon: int = 50, l2: float = 0.0,
                 name: str | None = None) -> None:
        self.state_dim = _int("state_dim", state_dim)
        self.action_dim = _int("action_dim", action_dim)
        self.horizon = _int("horizon", horizon)
        self.rollouts = _int("rollouts", rollouts)
        self.noise_std = _number("noise_std", noise_std, low=0.0)
        self.system_seed = _int("system_seed", system_seed, 0)
        self.spectral_radius = _number("spectral_radius", spectral_radius, low=0.0, low_open=True)
        self.state_bound = _number("state_bound", state_bound, low=0.0, low_open=True)
        self.eval_rollouts = _int("eval_rollouts", eval_rollouts)
        self.eval_horizon = _int("eval_horizon", eval_horizon)
        self.l2 = _number("l2", l2, low=0.0)
        self.batch_size = self.horizon
        self.name = name or (catalog.name_of(type(self)) or type(self).__name__)
        self.optimum = 0.0 if self.l2 == 0 else None
        self.params = {"state_dim": state_dim, "action_dim": action_dim, "horizon": horizon, "rollouts": rollouts,
                       "noise_std": noise_std, "system_seed": system_seed, "spectral_radius": spectral_radius,
                       "state_bound": state_bound, "eval_rollouts": eval_rollouts, "eval_horizon": eval_horizon,
                       "l2": l2}
        validate_problem(self, f"problem {self.name!r}")
        check_training(self, f"problem {self.name!r}")
        self._make_system()

    # ------------------------------------------------------------------------------ the system and its expert
    def _make_system(self) -> None:
        n, m = self.state_dim, self.action_dim
        A, B = _system(n, m, self.spectral_radius, self.system_seed)
        if not _controllable(A, B):
            raise InvalidProblemError(f"{OWNER}.system_seed={self.system_seed} draws a system (A, B) that is not "
                                      "controllable; pick another system_seed")
        Q, R = np.eye(n), np.eye(m)
        try:
            P = scipy.linalg.solve_discrete_are(A, B, Q, R)
        except (np.linalg.LinAlgError, ValueError) as e:
            raise InvalidProblemError(f"{OWNER}.system_seed={self.system_seed}: the Riccati equation of its "
                                      f"system has no stabilizing solution ({e}); pick another system_seed") from None
        K = -np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
        closed = float(np.max(np.abs(np.linalg.eigvals(A + B @ K))))
        if not (np.isfinite(P).all() and closed < 1.0):
            raise InvalidProblemError(f"{OWNER}.system_seed={self.system_seed}: the Riccati solution does not "
                                      f"stabilize its system (closed-loop spectral radius {closed:.3g})")
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
        self.A, self.B, self.P, self.expert_gain = t(A), t(B), t((P + P.T) / 2), t(K)
        #: the closed-loop spectral radius of the expert
        self.expert_radius = closed
        rng = np.random.default_rng([self.system_seed, 1])  # fixed evaluation initial states
        self._eval_train = t(rng.standard_normal((self.eval_rollouts, n)))
        self._eval_test = t(rng.standard_normal((self.eval_rollouts, n)))

    def expert(self, X: Tensor) -> Tensor:
        """The expert's actions ``u*(x) = K* x`` on the rows of ``X``."""
        return X @ self.expert_gain.T

    # ------------------------------------------------------------------------------ rollouts
    def rollout(self, model: nn.Module, x0: Tensor, horizon: int, noise: Tensor | None = None, *,
                cost: bool = False) -> tuple[Tensor, Tensor | None]:
        """Roll out the policy ``model`` from the rows of ``x0`` (``k x n``) for ``horizon`` steps, each stopped
        when its state's norm exceeds ``state_bound``; ``noise`` (``k x horizon x n``) is the process noise.
        Returns the visited states (the states where an action was taken, ``N x n``: the environment steps)
        and, with ``cost``, each rollout's quadratic cost (``k``: the stage costs ``xᵀQx + uᵀRu`` of the steps
        taken plus the terminal cost ``xᵀPx`` of its last state, the one that crossed the bound if it did)."""
        k = x0.shape[0]
        x = x0
        alive = torch.ones(k, dtype=torch.bool)
        total = torch.zeros(k, dtype=torch.float64) if cost else None
        visited = []
        with torch.no_grad():
            for t in range(horizon):
                u = model(x)
                visited.append(x[alive])
                if total is not None:
                    total += torch.where(alive, (x * x).sum(1) + (u * u).sum(1), 0.0)
                nxt = x @ self.A.T + u @ self.B.T
                if noise is not None:
                    nxt = nxt + noise[:, t]
                x = torch.where(alive[:, None], nxt, x)  # a stopped rollout keeps its last state
                alive = alive & (x.norm(dim=1) <= self.state_bound)
                if not bool(alive.any()):
                    break
            if total is not None:
                total += ((x @ self.P) * x).sum(1)
        return torch.cat(visited), total

    # ------------------------------------------------------------------------------ model and loss
    def model(self, generator: torch.Generator) -> nn.Module:
        policy = nn.Linear(self.state_dim, self.action_dim, bias=False, dtype=torch.float64)
        bound = 0.1 / math.sqrt(self.state_dim)
        with torch.no_grad():
            policy.weight.copy_((torch.rand(policy.weight.shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound)
        return policy

    def loss(self, z: Tensor, y: Tensor) -> Tensor:
        return 0.5 * ((z - y) ** 2).sum(-1)

    # ------------------------------------------------------------------------------ epochs and scores
    def steps_per_epoch(self, batch_size: int) -> int:
        """``rollouts`` (``batch_size`` is ignored: a batch is one rollout)."""
        return self.rollouts

    def batches(self, model: nn.Module, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """``rollouts`` batches, each one noisy rollout of the current policy (``batch_size`` is ignored)."""
        n = self.state_dim
        for _ in range(self.rollouts):
            x0 = torch.randn((1, n), generator=generator, dtype=torch.float64)
            noise = torch.randn((1, self.horizon, n), generator=generator, dtype=torch.float64) * self.noise_std
            X, _ = self.rollout(model, x0, self.horizon, noise)
            yield Batch(X, self.expert(X), env_steps=int(X.shape[0]))

    def _imitation_loss(self, model: nn.Module, x0: Tensor) -> float:
        X, _ = self.rollout(model, x0, self.horizon)
        with torch.no_grad():
            return float(self.loss(self.targets(model, X), self.expert(X)).mean())

    def scores(self, model: nn.Module) -> dict[str, float]:
        with torch.no_grad():
            train = self._imitation_loss(model, self._eval_train) + float(self.regularizer(model))
            test = self._imitation_loss(model, self._eval_test)
            _, cost = self.rollout(model, self._eval_test, self.eval_horizon, cost=True)
            best = ((self._eval_test @ self.P) * self._eval_test).sum(1)
            ratio = float(cost.sum() / best.sum())
        return {"train_loss": train, "test_loss": test, "cost_ratio": ratio}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "cost_axes": list(self.cost_axes), "expert_radius": self.expert_radius}


__all__ = ["ImitationLQR"]
