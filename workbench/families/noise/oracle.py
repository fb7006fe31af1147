"""The counted oracle: everything a noise-search solver learns of a problem, it learns here, and pays for.

A solver sees the objective ``R(ε)`` as observed (with the problem's reward noise, if any) and its gradient
in ε, never the generator, the held-out rewards or the clean values. Every image scored is a row of the
oracle's ledger (its noise, the observed value, the clean reward and its parts, the image): the family
records the ledger after each step, so every reward call a solver makes is a recorded step, and a budget in
reward calls is the same for every solver. A call that would pass the budget's cap raises
:class:`BudgetSpent` before anything is generated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

from workbench.errors import SolverError, WorkbenchError
from workbench.families.noise.problem import GENERATOR, GRADIENT, REWARD, NoiseProblem, Reward, combine, weighted


class BudgetSpent(Exception):
    """A call would pass the budget: the step stops there, and is not recorded."""


class RewardError(WorkbenchError, ArithmeticError):
    """The generator or a reward returned a value that is not finite (or raised)."""


@dataclass
class Counter:
    """What a cell has spent on the family's axes; ``caps`` stop a call that would pass a budget."""

    generator_calls: int = 0
    reward_calls: int = 0
    reward_gradients: int = 0
    caps: dict[str, float] = field(default_factory=dict)

    def charge(self, **spend: int) -> None:
        """Add ``spend`` (axis -> count); nothing is added when any axis would pass its cap."""
        for axis, n in spend.items():
            cap = self.caps.get(axis)
            if cap is not None and getattr(self, axis) + n > cap + 1e-9:
                raise BudgetSpent(axis)
        for axis, n in spend.items():
            setattr(self, axis, getattr(self, axis) + n)

    def snapshot(self) -> dict[str, int]:
        return {GENERATOR: self.generator_calls, REWARD: self.reward_calls, GRADIENT: self.reward_gradients}

    def load(self, spent: Mapping[str, float]) -> None:
        self.generator_calls = int(spent.get(GENERATOR, 0))
        self.reward_calls = int(spent.get(REWARD, 0))
        self.reward_gradients = int(spent.get(GRADIENT, 0))


@dataclass(frozen=True)
class Scored:
    """One image the oracle scored: its noise (``*shape``), what the solver was told (``observed``), the clean
    weighted reward and its parts, the image (``C x H x W``, CPU; None when generating failed), whether a
    gradient was taken, and why the call failed (None when it did not)."""

    eps: Tensor
    observed: float
    clean: float
    parts: Mapping[str, float]
    image: Tensor | None
    gradient: bool
    reason: str | None = None


class Oracle:
    """``value(ε)`` and ``value_and_grad(ε)`` of the observed weighted reward, counted; ``left()`` reward calls
    before the budget's cap. ``seed`` drives the reward noise (the k-th call's noise depends on ``(seed, k)``,
    so a resumed cell observes what it would have)."""

    def __init__(self, problem: NoiseProblem, counter: Counter, seed: int, device: torch.device) -> None:
        self._problem, self.counter, self._seed, self.device = problem, counter, int(seed), device
        self.shape = tuple(problem.shape)
        #: the noise domain |εᵢ| <= box (None: unbounded); noises are clamped into it before they are scored
        self.box: float | None = None if problem.box is None else float(problem.box)
        self.ledger: list[Scored] = []

    @property
    def dim(self) -> int:
        return self._problem.dim

    def left(self) -> int | None:
        """Images left under the budget's cap on reward or generator calls (None: the budget counts something
        else)."""
        left = [int(cap + 1e-9) - getattr(self.counter, axis) for axis, cap in self.counter.caps.items()
                if axis in (REWARD, GENERATOR)]  # each image costs one of both
        return max(min(left), 0) if left else None

    def sample(self, n: int, start: int) -> Tensor:
        """Noises ``start .. start + n - 1`` of the cell's seeded stream (``n x *shape``, on the device; clamped
        into the problem's box): the same draws for every solver of a cell (uncounted: drawing noise is free)."""
        eps = self._problem.sample(n, self._seed, start).to(self.device)
        return eps if self.box is None else eps.clamp(-self.box, self.box)

    def value(self, eps: Tensor, weights: Mapping[str, float] | None = None) -> Tensor:
        """Observed rewards ``n`` of noises ``n x *shape`` (no gradient); NaN where the reward was not finite.
        A generator or reward that raises fails the whole call (:class:`RewardError`), its images recorded as
        failed steps. ``weights`` replaces the problem's weights of the rewards it names, in what the solver
        observes (the records keep the problem's weighted reward)."""
        with torch.no_grad():
            return self._score(eps, grad=False, weights=weights)[0]

    def value_and_grad(self, eps: Tensor, weights: Mapping[str, float] | None = None) -> tuple[Tensor, Tensor]:
        """Observed rewards ``n`` and the gradient of the (clean) weighted reward in each noise ``n x *shape``:
        each image's reward depends on its own noise only, so one backward pass gives every sample's. Where
        the reward or its gradient is not finite, the value is NaN and the gradient 0. ``weights``: as in
        :meth:`value`, for the value and the gradient."""
        return self._score(eps, grad=True, weights=weights)

    def _objective(self, weights: Mapping[str, float] | None) -> tuple[Reward, ...]:
        rewards = self._problem.rewards
        if not weights:
            return rewards
        unknown = set(weights) - {r.name for r in rewards}
        if unknown:
            raise SolverError(f"weights name rewards {sorted(unknown)} the problem does not have "
                              f"(its rewards: {[r.name for r in rewards]})")
        return tuple(replace(r, weight=float(weights.get(r.name, r.weight))) for r in rewards)

    def _score(self, eps: Tensor, *, grad: bool, weights: Mapping[str, float] | None = None) -> tuple[Tensor, Tensor]:
        n = int(eps.shape[0])
        if tuple(eps.shape[1:]) != self.shape:
            raise SolverError(f"noise of shape {tuple(eps.shape[1:])} given to an oracle of shape {self.shape}")
        objective = self._objective(weights)
        self.counter.charge(**{REWARD: n, GENERATOR: n, GRADIENT: n if grad else 0})  # past a cap: spends nothing
        first = self.counter.reward_calls - n
        eps = eps.detach().clone()  # the ledger keeps these: a solver may update its noises in place
        if self.box is not None:
            eps = eps.clamp(-self.box, self.box)
        x = eps.to(self.device, torch.float32).requires_grad_(grad)
        try:
            with torch.set_grad_enabled(grad):
                images = self._problem.generate(x)
                total, parts = weighted(self._problem.rewards, images, self._problem)
                seen = total if objective is self._problem.rewards else combine(objective, parts, images)
                ok = torch.isfinite(total.detach()) & torch.isfinite(seen.detach())
                g = torch.zeros_like(x)
                if grad and bool(ok.any()):
                    g = torch.autograd.grad(seen[ok].sum(), x)[0]
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
            for i in range(n):
                self.ledger.append(Scored(eps[i].detach().cpu(), float("nan"), float("nan"), {}, None, grad, reason))
            raise RewardError(reason) from e
        g = g.detach()
        if grad:
            ok &= torch.isfinite(g.reshape(n, -1)).all(dim=1)
            g = torch.where(ok.reshape(n, *([1] * len(self.shape))), g, torch.zeros_like(g))
        clean = torch.where(ok, total.detach(), torch.full_like(total.detach(), float("nan"))).to(torch.float64).cpu()
        seen = torch.where(ok, seen.detach(), torch.full_like(seen.detach(), float("nan"))).to(torch.float64).cpu()
        observed = seen + self.noise(first, n)
        imgs = images.detach().float().cpu()
        for i in range(n):
            reason = None
            if not bool(ok[i]):
                bad = float(total[i].detach())
                reason = f"the reward returned {bad}" if not math.isfinite(bad) else "the reward's gradient is not finite"
            self.ledger.append(Scored(eps[i].detach().cpu(), float(observed[i]), float(clean[i]),
                                      {k: float(v[i].detach()) for k, v in parts.items()}, imgs[i], grad, reason))
        return observed.to(self.device), g

    def noise(self, first: int, n: int) -> Tensor:
        """The reward noise of calls ``first .. first + n - 1`` (zeros for a problem without reward noise)."""
        std = float(self._problem.noise_std)
        if std == 0:
            return torch.zeros(n, dtype=torch.float64)
        out = torch.empty(n, dtype=torch.float64)
        for i in range(n):
            g = torch.Generator().manual_seed((self._seed * 7_919 + 104_729 * (first + i) + 1) % (2**63))
            out[i] = std * torch.randn((), generator=g, dtype=torch.float64)
        return out

    def drain(self) -> list[Scored]:
        out, self.ledger = self.ledger, []
        return out


__all__ = ["BudgetSpent", "Counter", "Oracle", "RewardError", "Scored"]
