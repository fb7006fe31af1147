"""A tiny noise-search problem for the tests: a fixed linear-sigmoid 'generator' of 2 x 2 images and a reward
with a known gradient."""

from __future__ import annotations

import time

import torch
from torch import Tensor

from workbench.families.noise import NoiseProblem, Reward


def brightness(images: Tensor, problem: Toy) -> Tensor:
    """Mean of the image's pixels weighted by the problem's target."""
    return (images.reshape(images.shape[0], -1) * problem.target).sum(dim=1)


def darkness(images: Tensor, problem: Toy) -> Tensor:
    return -images.reshape(images.shape[0], -1).mean(dim=1)


class Toy(NoiseProblem):
    """``G(ε) = sigmoid(W ε)`` as a 1 x 2 x 2 image; reward ``Σ target · G(ε)``; held out: darkness."""

    def __init__(self, *, dim: int = 6, seed: int = 0, delay: float = 0.0, name: str = "toy-noise",
                 shape: tuple[int, ...] | None = None, held_out: bool = True, box: float | None = None) -> None:
        g = torch.Generator().manual_seed(seed)
        self.W = torch.randn(4, dim, generator=g) / dim**0.5
        self.target = torch.tensor([1.0, -1.0, 0.5, 2.0])
        self.shape = shape or (dim,)
        self.condition, self.name, self.delay, self.box = "bright", name, delay, box
        self.params = {"dim": dim, "seed": seed, "delay": delay}
        self.rewards = (Reward("bright", brightness),)
        self.held_out = (Reward("dark", darkness),) if held_out else ()
        self.declare()

    def generate(self, eps: Tensor) -> Tensor:
        if self.delay:
            time.sleep(self.delay)
        return torch.sigmoid(eps.reshape(eps.shape[0], -1) @ self.W.T).reshape(-1, 1, 2, 2)
