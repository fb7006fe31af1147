"""``NoisyReward``: a noise-search problem whose solvers observe its reward with seeded Gaussian noise.

A variant by wrapping: the generator, the rewards and the held-out rewards are the wrapped problem's; the
oracle adds ``N(0, std²)`` to every reward a solver is told (the k-th call's noise fixed by the cell's seed
and k), while the family records and scores the clean reward. Gradients stay exact: the noise models an
evaluation that is noisy, such as a human rating or a sampled reward model, and it reaches a solver through
what it selects — best-of-N's best, ReNO's best iterate, a black-box solver's model.

``relative=True`` measures ``std`` in units of the reward's spread: the standard deviation of the clean
reward over 64 Gaussian noises (computed at first use, uncounted).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.families.noise.problem import NoiseProblem, Reward, spread


class NoisyReward(NoiseProblem):
    """``problem`` with its rewards observed through Gaussian noise of ``std`` (``relative``: x its spread)."""

    def __init__(self, problem: NoiseProblem, std: float, *, relative: bool = False, name: str | None = None) -> None:
        if not isinstance(problem, NoiseProblem):
            raise InvalidProblemError(f"NoisyReward.problem must be a NoiseProblem, but got {problem!r}")
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not (math.isfinite(std) and std >= 0):
            raise InvalidProblemError(f"NoisyReward.std must be a finite number >= 0, but got {std!r}")
        self.inner, self.std, self.relative = problem, float(std), bool(relative)
        self._noise_std: float | None = None if relative else float(std)
        self.shape, self.condition, self.box = problem.shape, problem.condition, problem.box
        self.rewards = tuple(Reward(r.name, _on(problem, r), r.weight) for r in problem.rewards)
        self.held_out = tuple(Reward(r.name, _on(problem, r), r.weight) for r in problem.held_out)
        self.name = name or f"{problem.name}+noise{std:g}{'spread' if relative else ''}"
        self.params = {"problem": problem.describe(), "std": self.std, "relative": self.relative}
        self.declare()

    @property
    def noise_std(self) -> float:  # type: ignore[override]
        if self._noise_std is None:
            self._noise_std = self.std * spread(self.inner)
        return self._noise_std

    @property
    def label(self) -> str:
        return self.inner.label

    def generate(self, eps: Tensor) -> Tensor:
        return self.inner.generate(eps)

    def noise_shape(self) -> tuple[int, ...] | None:
        return self.inner.noise_shape()

    def to(self, device: torch.device | str) -> NoisyReward:
        moved = self.inner.to(device)
        if moved is self.inner:
            return self
        out = NoisyReward(moved, self.std, relative=self.relative, name=self.name)
        out._noise_std = self._noise_std
        return out

    def sample(self, n: int, seed: int, start: int = 0) -> Tensor:
        return self.inner.sample(n, seed, start)


def _on(problem: NoiseProblem, reward: Reward) -> Any:
    """The wrapped problem's reward, called with the wrapped problem (its networks, its condition)."""

    def fn(images: Tensor, _wrapper: Any) -> Tensor:
        return reward.fn(images, problem)

    fn.__name__ = getattr(reward.fn, "__name__", reward.name)
    return fn


__all__ = ["NoisyReward"]
