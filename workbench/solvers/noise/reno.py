"""ReNO: reward-based noise optimization (Eyring et al., NeurIPS 2024), and a start from best-of-N's top k.

Gradient ascent on the weighted reward ``R(ε) = Σ wᵢ rᵢ(G(ε, c))`` in the generator's noise, with the norm
regularizer that keeps ‖ε‖ where a standard Gaussian in ``d`` dimensions puts it — the negative log-density
of the χ_d distribution of ‖ε‖::

    loss(ε) = -R(ε) + λ (½‖ε‖² - (d - 1) log‖ε‖)            (λ = 0.01)

Each iteration scores the image of the current ε (one generator call, one reward call with its gradient),
clips the loss gradient's L2 norm to 0.1, and takes a step of SGD with Nesterov momentum 0.9 at learning rate
5. Every iterate is a candidate, the initial noise included; the solver's answer is the iterate of highest
observed reward (the family's pick), not the last. These are the reference code's defaults, each an option.

Where this differs from the reference, and why:

* Every scored image is differentiated, the last one too (the reference skips the last backward pass): 50
  reward calls are 50 images and 50 gradients, of which the last is unused unless the budget is raised
  later — then the cell goes on exactly as a fresh run at the larger budget would.
* ``reference_dim`` (off by default) scales the learning rate by ``√(d / reference_dim)``: with the gradient
  clipped to 0.1 and momentum 0.9, a step moves ε by at most ``lr`` in L2 (the momentum buffer stays within
  0.1 / (1 - 0.9) = 1), so the paper's lr 5 is a step of up to 4 % of ‖ε‖ ≈ √16384 at SD-Turbo's 4 x 64 x 64
  latents, and more than ‖ε‖ ≈ 4 in a 16-dimensional latent. ``reference_dim=16384`` keeps the paper's
  relative step at any ``d``.
* The regularizer is computed in float64 on the float32 noise (the reference: fp32 on fp16 latents).
* ``init_samples`` / ``top_k`` (a hybrid the paper does not have): first score ``init_samples`` noises of the
  cell's stream as best-of-N does (with their gradients), then run ReNO from the ``top_k`` best — their first
  step from the gradients already paid for, so no image is scored twice — all k chains in one batch per
  iteration, each with its own momentum, until the budget ends.
* A chain whose image fails (a reward or gradient that is not finite, a generator that raises) goes back to
  its best iterate with its momentum cleared, or, with no finite iterate yet, starts again from the next
  noise of the stream (the reference would stop with an error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.noise.oracle import Oracle, RewardError
from workbench.families.noise.solver import NoiseRun, NoiseSolver
from workbench.problem import Problem
from workbench.solver import CellContext, solvers


def regularizer(eps: Tensor) -> tuple[Tensor, Tensor]:
    """``½‖ε‖² - (d - 1) log‖ε‖`` per sample of ``n x *shape`` noises, and its gradient in ε (float64)."""
    flat = eps.detach().reshape(eps.shape[0], -1).to(torch.float64)
    d = flat.shape[1]
    norm = torch.linalg.vector_norm(flat, dim=1)
    value = 0.5 * norm**2 - (d - 1) * torch.log(norm)
    grad = flat * (1 - (d - 1) / norm**2).unsqueeze(1)
    return value, grad.reshape(eps.shape)


def clip_norm(grad: Tensor, max_norm: float) -> Tensor:
    """Each sample's gradient scaled to an L2 norm of at most ``max_norm`` (``clip_grad_norm_`` per sample)."""
    flat = grad.reshape(grad.shape[0], -1)
    norm = torch.linalg.vector_norm(flat, dim=1, keepdim=True)
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    return (flat * scale).reshape(grad.shape)


def _positive(owner: str, field: str, value: object, *, zero: bool = False) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value >= 0 if zero else value > 0))
    if not ok:
        raise InvalidConfigError(f"{owner}.{field} must be a finite number {'>= 0' if zero else '> 0'}, but got {value!r}")


@solvers.register("reno")
@dataclass(frozen=True, kw_only=True)
class ReNO(NoiseSolver):
    """Reward-based noise optimization: clipped Nesterov SGD on ``-R(ε)`` plus the χ_d norm regularizer."""

    #: learning rate (the reference's 5)
    lr: float = 5.0
    #: momentum (0.9), Nesterov's form unless ``nesterov=False``
    momentum: float = 0.9
    nesterov: bool = True
    #: the loss gradient's L2 norm is clipped to this, per noise (0.1)
    clip: float | None = 0.1
    #: weight λ of the norm regularizer (0.01); 0 switches it off
    reg_weight: float = 0.01
    #: scale lr by √(d / reference_dim) (None: lr as given; 16384 keeps SD-Turbo's relative step)
    reference_dim: int | None = None
    #: noises scored before the gradient phase, best-of-N style (0: start from the cell's first noise)
    init_samples: int = 0
    #: chains of the gradient phase, started from the best ``top_k`` of the initial noises
    top_k: int = 1
    #: reward weights this solver optimizes and selects by, replacing the problem's for the rewards named
    #: (the paper's weights are a method setting; the records keep the problem's weighted reward)
    weights: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _positive(owner, "lr", self.lr)
        _positive(owner, "reg_weight", self.reg_weight, zero=True)
        if self.clip is not None:
            _positive(owner, "clip", self.clip)
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float)) or not 0 <= self.momentum < 1:
            raise InvalidConfigError(f"{owner}.momentum must be in [0, 1), but got {self.momentum!r}")
        for field, value, low in (("init_samples", self.init_samples, 0), ("top_k", self.top_k, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidConfigError(f"{owner}.{field} must be an int >= {low}, but got {value!r}")
        if self.init_samples and self.top_k > self.init_samples:
            raise InvalidConfigError(f"{owner}.top_k must be <= init_samples, but got top_k={self.top_k} "
                                     f"with init_samples={self.init_samples}")
        if self.init_samples == 0 and self.top_k != 1:
            raise InvalidConfigError(f"{owner}.top_k must be 1 without initial samples, but got {self.top_k}")
        for name, w in (self.weights or {}).items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not (math.isfinite(w) and w >= 0):
                raise InvalidConfigError(f"{owner}.weights[{name!r}] must be a finite number >= 0, but got {w!r}")
        if self.reference_dim is not None and (isinstance(self.reference_dim, bool)
                                               or not isinstance(self.reference_dim, int) or self.reference_dim < 1):
            raise InvalidConfigError(f"{owner}.reference_dim must be an int >= 1 or None, but got {self.reference_dim!r}")

    def start(self, oracle: Oracle, cell: CellContext) -> NoiseRun:
        return _ReNORun(self, oracle)

    def missing(self, problem: Problem) -> list[str]:
        out = super().missing(problem)
        if self.weights:
            names = {r.name: r.weight for r in getattr(problem, "rewards", ())}
            unknown = sorted(set(self.weights) - set(names))
            if unknown:
                out.append(f"rewards named {unknown} (its rewards: {sorted(names)}; {self.label!r} weighs them)")
            elif not any(self.weights.get(n, w) > 0 for n, w in names.items()):
                out.append(f"a reward of positive weight under {self.label!r}'s weights {dict(self.weights)}")
        return out


@solvers.register("reno-bon")
@dataclass(frozen=True, kw_only=True)
class ReNOFromBest(ReNO):
    """ReNO started from the best of ``init_samples`` noises (best-of-N's top ``top_k``)."""

    init_samples: int = 10
    top_k: int = 1


class _ReNORun(NoiseRun):
    def __init__(self, solver: ReNO, oracle: Oracle) -> None:
        self.s, self.oracle = solver, oracle
        scale = math.sqrt(oracle.dim / solver.reference_dim) if solver.reference_dim else 1.0
        self.lr = solver.lr * scale
        self.drawn = 0  # the next noise of the cell's stream
        self.pool: list[tuple[float, int]] = []  # (observed, stream index) of the initial noises
        self.grads: dict[int, Tensor] = {}  # their reward gradients, by stream index
        self.eps: Tensor | None = None  # k x *shape: the chains' current noises
        self.buf: Tensor | None = None  # their momentum
        self.best_eps: Tensor | None = None  # each chain's best iterate, and its observed reward (CPU)
        self.best_value: Tensor | None = None
        self.iteration = 0

    def step(self) -> None:
        if self.eps is None and self.drawn < self.s.init_samples:
            self._sample()
            return
        if self.eps is None:
            self._begin()
        self._iterate()

    def _sample(self) -> None:
        """Score (and differentiate: the chains' first step needs it) the next initial noises."""
        n = self.s.init_samples - self.drawn
        left = self.oracle.left()
        n = n if left is None else max(1, min(n, left))
        first, self.drawn = self.drawn, self.drawn + n  # a batch that fails is not drawn again
        try:
            values, grads = self.oracle.value_and_grad(self.oracle.sample(n, first), self.s.weights)
        except RewardError:
            self.pool += [(math.nan, first + i) for i in range(n)]
            raise
        for i, v in enumerate(values.tolist()):
            self.pool.append((float(v), first + i))
            if math.isfinite(v):
                self.grads[first + i] = grads[i]

    def _begin(self) -> None:
        """The chains' starting noises: the best ``top_k`` initial ones (their first step taken with the
        gradients already paid for, so no image is scored twice), or fresh noises of the stream."""
        ranked = sorted((p for p in self.pool if math.isfinite(p[0])), key=lambda p: -p[0])[: self.s.top_k]
        k = self.s.top_k
        picked = [i for _, i in ranked]
        fresh = list(range(self.drawn, self.drawn + k - len(picked)))
        self.drawn += len(fresh)
        self.eps = torch.cat([self.oracle.sample(1, i) for i in picked + fresh]).float()
        self.buf = torch.zeros_like(self.eps)
        self.best_eps = self.eps.clone()
        self.best_value = torch.tensor([v for v, _ in ranked] + [-math.inf] * len(fresh), dtype=torch.float64)
        if picked:
            self._update(list(range(len(picked))), torch.stack([self.grads[i] for i in picked]))
        self.grads.clear()

    def _iterate(self) -> None:
        assert self.eps is not None
        k = self.eps.shape[0]
        left = self.oracle.left()
        n = k if left is None else max(1, min(k, left))
        chains = list(range(n))
        try:
            values, grad = self.oracle.value_and_grad(self.eps[:n], self.s.weights)
        except RewardError:
            self._restart(chains)
            raise
        values = values.to("cpu", torch.float64)
        self.iteration += 1
        self._keep(values, n)
        good = [i for i in chains if math.isfinite(float(values[i]))]
        if good:
            self._update(good, grad[good])
        self._restart([i for i in chains if i not in good])

    def _update(self, chains: list[int], reward_grad: Tensor) -> None:
        """One clipped (Nesterov) SGD step of ``chains`` on ``-R + λ reg``, given ``∇R`` at their noises."""
        assert self.eps is not None and self.buf is not None
        eps = self.eps[chains].to(torch.float64)
        g = -reward_grad.to(eps)  # the loss is -R
        if self.s.reg_weight:
            g = g + self.s.reg_weight * regularizer(eps)[1]
        if self.s.clip is not None:
            g = clip_norm(g, self.s.clip)
        m = self.s.momentum
        buf = m * self.buf[chains].to(torch.float64) + g
        direction = g + m * buf if self.s.nesterov else buf
        moved = eps - self.lr * direction
        if self.oracle.box is not None:  # projected onto the problem's noise domain
            moved = moved.clamp(-self.oracle.box, self.oracle.box)
        self.eps[chains] = moved.to(self.eps.dtype)
        self.buf[chains] = buf.to(self.buf.dtype)

    def _restart(self, chains: list[int]) -> None:
        """Chains whose image failed: back to their best iterate, momentum cleared; one with no finite best
        yet starts again from the next noise of the stream."""
        assert self.eps is not None and self.buf is not None and self.best_eps is not None
        assert self.best_value is not None
        for i in chains:
            if math.isfinite(float(self.best_value[i])):
                self.eps[i] = self.best_eps[i]
            else:
                self.eps[i] = self.oracle.sample(1, self.drawn)[0].to(self.eps.dtype)
                self.best_eps[i] = self.eps[i]
                self.drawn += 1
            self.buf[i] = 0

    def _keep(self, values: Tensor, n: int) -> None:
        """Each of the first ``n`` chains' best iterate (strictly better observed rewards replace it)."""
        assert self.eps is not None and self.best_eps is not None and self.best_value is not None
        for i in range(n):
            v = float(values[i])
            if math.isfinite(v) and v > float(self.best_value[i]):
                self.best_value[i] = v
                self.best_eps[i] = self.eps[i]

    def best(self) -> Tensor | None:
        """The best iterate over the chains (by observed reward), ``*shape``."""
        if self.best_eps is None or self.best_value is None:
            return None
        return self.best_eps[int(torch.argmax(self.best_value))]

    def state_dict(self) -> dict[str, Any]:
        return {"drawn": self.drawn, "pool": list(self.pool), "grads": dict(self.grads), "eps": self.eps,
                "buf": self.buf, "best_eps": self.best_eps, "best_value": self.best_value,
                "iteration": self.iteration}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        device = self.oracle.device
        self.drawn, self.pool, self.iteration = int(state["drawn"]), list(state["pool"]), int(state["iteration"])
        self.grads = {int(i): g.to(device) for i, g in state.get("grads", {}).items()}
        self.eps, self.buf, self.best_eps = (None if state[k] is None else state[k].to(device)
                                             for k in ("eps", "buf", "best_eps"))
        value = state["best_value"]
        self.best_value = None if value is None else value.to("cpu", torch.float64)  # compared with CPU values


__all__ = ["ReNO", "ReNOFromBest", "clip_norm", "regularizer"]
