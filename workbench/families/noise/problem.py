"""What a noise-search problem declares: a frozen generator ``G(ε, c)``, its noise, one condition ``c``, and
the rewards its images are scored by.

A :class:`NoiseProblem` is one condition (a prompt, a class label, an edit ``a -> b``) of one generator:

* ``shape`` — the noise tensor's shape, one sample (``(16,)`` for a latent vector, ``(4, 64, 64)`` for a
  diffusion latent); the noise is standard Gaussian, ``ε ~ N(0, I)``;
* ``generate(ε)`` — images ``n x C x H x W`` in ``[0, 1]`` from noises ``n x *shape``, differentiable in ε;
* ``rewards`` — the differentiable :class:`Reward` s solvers optimize, each with a weight: the objective is
  ``R(ε) = Σ wᵢ rᵢ(G(ε, c))``, to maximize;
* ``held_out`` — rewards no solver sees: the family scores every image with them, so that a gain on the
  optimized reward that the held-out ones do not share (reward hacking) shows.

As a black box the problem is ``u -> R(Φ⁻¹(u))`` on the unit cube (``Φ`` the standard normal distribution
function, coordinate-wise): a uniform draw of ``u`` is a Gaussian draw of ε, so random search in the space is
best-of-N sampling, and BO or CMA-ES search the same distribution's quantiles. ``box`` narrows that space to
``|εᵢ| <= box`` (a truncated Gaussian for random search): a model-based search otherwise reaches for the
cube's corners, noise no Gaussian draw gives. Every recorded step's row is its noise in that form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.problem import Problem, validate_problem
from workbench.space import Real, Space

GENERATOR = "generator_calls"  # images generated (a generator forward, with its backward when a gradient is taken)
REWARD = "reward_calls"  # images scored by the weighted reward (each reward model once per image)
GRADIENT = "reward_gradients"  # images whose reward was differentiated back to the noise
SOLVER_SECONDS = "solver_seconds"  # wall time of the step's own work (the family's scoring excluded)

#: ``u`` is kept this far inside (0, 1), so that every recorded row maps back to a finite noise (|ε| <= 8.2)
EDGE = 1e-16


def to_noise(U: Tensor, shape: Sequence[int]) -> Tensor:
    """Noises ``n x *shape`` from unit-cube rows ``n x d``: ``ε = Φ⁻¹(u)`` coordinate-wise."""
    U = U.to(torch.float64).clamp(EDGE, 1 - EDGE)
    return (math.sqrt(2.0) * torch.special.erfinv(2 * U - 1)).reshape(U.shape[0], *shape)


def to_unit(eps: Tensor) -> Tensor:
    """Unit-cube rows ``n x d`` of noises ``n x *shape``: ``u = Φ(ε)``, kept ``EDGE`` inside the cube."""
    flat = eps.detach().to(torch.float64).reshape(eps.shape[0], -1)
    return torch.special.ndtr(flat).clamp(EDGE, 1 - EDGE)


@dataclass(frozen=True)
class Reward:
    """A reward on images: ``fn(images, problem) -> n`` scores (higher is better) for the problem's condition,
    differentiable in the images when solvers optimize it; ``weight`` its weight in the objective."""

    name: str
    fn: Callable[[Tensor, Any], Tensor]
    weight: float = 1.0

    def __call__(self, images: Tensor, problem: Any) -> Tensor:
        return self.fn(images, problem)


class NoiseProblem(Problem):
    """Base of noise-search problems: set ``name``, ``shape``, ``condition``, ``rewards`` (and ``held_out``)
    and implement :meth:`generate`. The space (``u`` per noise coordinate) is made by :meth:`declare`."""

    family: ClassVar[str] = "noise"
    direction = "maximize"
    shape: tuple[int, ...]
    #: the condition ``c`` of this problem (a class label, a prompt, an edit ``(a, b)``)
    condition: Any = None
    rewards: tuple[Reward, ...] = ()
    held_out: tuple[Reward, ...] = ()
    #: observed rewards as solvers see them (:class:`~workbench.families.noise.noisy.NoisyReward` adds noise)
    noise_std: float = 0.0

    #: the black-box view searches each noise coordinate within ± this many standard deviations (its space
    #: is ``[Φ(-box), Φ(box)]`` per coordinate); None: the whole distribution (``|ε| <= 8.2``)
    box: float | None = None

    def declare(self, where: str | None = None) -> None:
        """Check the declaration (naming the field that is wrong) and make the space; call at the end of
        ``__init__``."""
        where = where or f"problem {self.name!r}"
        box = self.box
        if box is not None and (isinstance(box, bool) or not isinstance(box, (int, float))
                                or not (math.isfinite(box) and box > 0)):
            raise InvalidProblemError(f"{where}.box must be a number of standard deviations > 0 or None, but got {box!r}")
        low, high = (0.0, 1.0) if box is None else (float(torch.special.ndtr(torch.tensor(-float(box), dtype=torch.float64))),
                                                    float(torch.special.ndtr(torch.tensor(float(box), dtype=torch.float64))))
        self.space = Space(*[Real(f"u{i}", low, high) for i in range(_dim(self, where))])
        check_noise(self, where)

    @property
    def dim(self) -> int:
        return math.prod(self.shape)

    @property
    def label(self) -> str:
        """The condition as people read it (a figure's title)."""
        return str(self.condition)

    def generate(self, eps: Tensor) -> Tensor:
        """Images ``n x C x H x W`` in ``[0, 1]`` from noises ``n x *shape`` (differentiable in ``eps``)."""
        raise NotImplementedError

    def evaluate(self, X: Tensor) -> Tensor:
        """The black-box view ``u -> R(Φ⁻¹(u))`` of ``n x d`` unit-cube rows (clean rewards; the family's loop
        counts the calls and tells solvers the observed ones)."""
        with torch.no_grad():
            eps = to_noise(X, self.shape).to(torch.float32)
            return weighted(self.rewards, self.generate(eps), self)[0].to(torch.float64)

    def noise_shape(self) -> tuple[int, ...] | None:
        """The noise shape the generator itself accepts (from its architecture), or None when it does not
        say: the declaration then runs the generator once on a zero noise of the declared shape."""
        return None

    def to(self, device: torch.device | str) -> NoiseProblem:
        """The problem with its generator and rewards on ``device`` (itself by default: a CPU problem)."""
        return self

    def sample(self, n: int, seed: int, start: int = 0) -> Tensor:
        """Noises ``start .. start + n - 1`` of the cell's seeded stream (float32, CPU): the i-th draw depends
        on ``(seed, i)`` only, so a resumed run draws the same noises and two solvers start from the same ones."""
        out = torch.empty(n, *self.shape)
        for k in range(n):
            g = torch.Generator().manual_seed((int(seed) * 1_000_003 + start + k) % (2**63))
            out[k] = torch.randn(self.shape, generator=g)
        return out


def _dim(problem: NoiseProblem, where: str) -> int:
    shape = getattr(problem, "shape", None)
    if (not isinstance(shape, tuple) or not shape
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)):
        raise InvalidProblemError(f"{where}.shape must be a non-empty tuple of ints >= 1 (one noise sample's "
                                  f"shape), but got {shape!r}")
    return math.prod(shape)


def spread(problem: NoiseProblem, n: int = 64, seed: int = 12_345) -> float:
    """The standard deviation of the clean reward over ``n`` Gaussian noises (a fixed seeded draw): the
    scale a relative reward noise is measured in."""
    with torch.no_grad():
        eps = problem.sample(n, seed)
        values = weighted(problem.rewards, problem.generate(eps), problem)[0].to(torch.float64)
    return float(values[torch.isfinite(values)].std())


def _check_rewards(rewards: object, field: str, where: str, *, weights: bool) -> tuple[Reward, ...]:
    if not isinstance(rewards, tuple) or not all(isinstance(r, Reward) for r in rewards):
        raise InvalidProblemError(f"{where}.{field} must be a tuple of Reward, but got {rewards!r}")
    names = [r.name for r in rewards]
    for r in rewards:
        if not isinstance(r.name, str) or not r.name.isidentifier():
            raise InvalidProblemError(f"{where}.{field}: a reward's name must be an identifier, but got {r.name!r}")
        if not callable(r.fn):
            raise InvalidProblemError(f"{where}.{field}[{r.name!r}].fn must be callable, but got {r.fn!r}")
        w = r.weight
        if weights and (isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0):
            raise InvalidProblemError(f"{where}.{field}[{r.name!r}].weight must be a finite number >= 0, but got {w!r}")
    if len(set(names)) != len(names):
        raise InvalidProblemError(f"{where}.{field}: reward names must be distinct, but got {names}")
    return rewards


def check_noise(problem: NoiseProblem, where: str) -> None:
    """The noise-search declaration checks: shape, rewards (at least one with a weight > 0), held-out rewards
    distinct from them, and a generator that takes the declared noise shape."""
    validate_problem(problem, where)
    _dim(problem, where)
    rewards = _check_rewards(problem.rewards, "rewards", where, weights=True)
    if not any(r.weight > 0 for r in rewards):
        raise InvalidProblemError(f"{where}.rewards must hold at least one reward with a weight > 0, but got "
                                  f"{[(r.name, r.weight) for r in rewards]}")
    held = _check_rewards(problem.held_out, "held_out", where, weights=False)
    shared = {r.name for r in rewards} & {r.name for r in held}
    if shared:
        raise InvalidProblemError(f"{where}.held_out must not share names with rewards, but both have {sorted(shared)}")
    if problem.direction != "maximize":
        raise InvalidProblemError(f"{where}.direction must be 'maximize' (rewards), but got {problem.direction!r}")
    accepted = problem.noise_shape()
    if accepted is None:
        try:
            with torch.no_grad():
                images = problem.generate(torch.zeros(1, *problem.shape))
        except Exception as e:
            raise InvalidProblemError(f"{where}.shape {problem.shape} is not what the generator takes: generating "
                                      f"from a noise of that shape raised {type(e).__name__}: {e}") from None
        if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[0] != 1:
            got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise InvalidProblemError(f"{where}: generate must return images n x C x H x W, but returned {got} "
                                      f"for one noise of shape {problem.shape}")
    elif tuple(accepted) != tuple(problem.shape):
        raise InvalidProblemError(f"{where}.shape must be the generator's noise shape {tuple(accepted)}, "
                                  f"but got {problem.shape}")


def weighted(rewards: Sequence[Reward], images: Tensor, problem: Any) -> tuple[Tensor, dict[str, Tensor]]:
    """``Σ wᵢ rᵢ(images)`` (``n``) and each reward's scores by name (a reward of weight 0 is still scored)."""
    parts = {r.name: r(images, problem).reshape(-1) for r in rewards}
    return combine(rewards, parts, images), parts


def combine(rewards: Sequence[Reward], parts: Mapping[str, Tensor], images: Tensor) -> Tensor:
    """``Σ wᵢ rᵢ`` (``n``) from each reward's scores already computed (rewards of weight 0 left out)."""
    total = images.new_zeros(images.shape[0])
    for r in rewards:
        if r.weight != 0:
            total = total + r.weight * parts[r.name]
    return total


def norm_ratio(eps: Tensor) -> Tensor:
    """``‖ε‖ / √d`` per sample (1 in expectation for Gaussian noise in high dimension)."""
    flat = eps.detach().reshape(eps.shape[0], -1).to(torch.float64)
    return torch.linalg.vector_norm(flat, dim=1) / math.sqrt(flat.shape[1])


__all__ = ["EDGE", "GENERATOR", "GRADIENT", "NoiseProblem", "REWARD", "Reward", "SOLVER_SECONDS", "check_noise",
           "norm_ratio", "spread", "to_noise", "to_unit", "weighted"]
