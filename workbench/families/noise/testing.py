"""The noise-search contract: the test suite runs it over every registered noise-search problem, and users
can run it on their own (``check_noise_problem(MyProblem())``)."""

from __future__ import annotations

import json
import math

import torch

from workbench.families.noise.problem import NoiseProblem, check_noise, to_noise, to_unit, weighted
from workbench.problem import Problem


def check_noise_problem(problem: Problem, n: int = 3) -> None:
    """Raise ``AssertionError`` unless ``problem`` keeps the noise-search contract: declaration valid; seeded
    noises reproducible and of the declared shape; images ``n x C x H x W`` in [0, 1]; every reward (and
    held-out reward) finite, one per image; the weighted reward differentiable in the noise with a finite,
    nonzero gradient; the black-box view equal to the reward at the same noises; ``describe()`` JSON."""
    assert isinstance(problem, NoiseProblem), f"{problem.name}: not a NoiseProblem"
    check_noise(problem, f"problem {problem.name!r}")
    eps = problem.sample(n, 7)
    assert tuple(eps.shape) == (n, *problem.shape), f"{problem.name}: sample gives {tuple(eps.shape)}"
    assert torch.equal(eps, problem.sample(n, 7)), f"{problem.name}: seeded noises differ between calls"
    assert not torch.equal(eps, problem.sample(n, 8)), f"{problem.name}: the seed does not change the noise"
    x = eps.clone().requires_grad_(True)
    images = problem.generate(x)
    assert images.ndim == 4 and images.shape[0] == n, f"{problem.name}: generate gives {tuple(images.shape)}"
    assert float(images.detach().min()) >= 0 and float(images.detach().max()) <= 1, \
        f"{problem.name}: images outside [0, 1]"
    total, parts = weighted(problem.rewards, images, problem)
    for name, v in parts.items():
        assert v.shape == (n,) and bool(torch.isfinite(v).all()), f"{problem.name}: reward {name!r} gives {v}"
    (g,) = torch.autograd.grad(total.sum(), x)
    assert bool(torch.isfinite(g).all()) and float(g.abs().sum()) > 0, f"{problem.name}: no gradient in the noise"
    with torch.no_grad():
        held, hparts = weighted(problem.held_out, images.detach(), problem) if problem.held_out else (None, {})
    for name, v in hparts.items():
        assert v.shape == (n,) and bool(torch.isfinite(v).all()), f"{problem.name}: held-out {name!r} gives {v}"
    view = problem.evaluate(to_unit(eps))
    assert torch.allclose(view.float(), total.detach().float(), rtol=1e-3, atol=1e-4), \
        f"{problem.name}: the black-box view {view.tolist()} differs from the reward {total.tolist()}"
    assert torch.allclose(to_noise(to_unit(eps), problem.shape).float(), eps, atol=1e-5)
    assert math.isfinite(float(problem.noise_std))
    json.dumps(problem.describe())


__all__ = ["check_noise_problem"]
