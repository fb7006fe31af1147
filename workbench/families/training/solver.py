"""Training solvers: optimizers that take one step per batch through a counted :class:`Step`.

A :class:`TrainingSolver` declaration makes one :class:`Trainer` per cell (``start(model, setup)``); the
family's loop hands it every batch as a :class:`Step`, which is the only way to the loss: each call of the
expensive target-space oracle (:meth:`Step.oracle`, :meth:`Step.value`) and each pass through the model
(:meth:`Step.targets`, :meth:`Step.backward`) is counted there, so every method is charged the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from workbench.errors import SolverError
from workbench.families.training.problem import Batch, TrainingProblem
from workbench.solver import Solver


@dataclass
class Counter:
    """What a cell's training has spent: oracle calls (and the examples they covered), model passes,
    environment steps."""

    oracle_calls: int = 0
    oracle_examples: int = 0
    model_passes: int = 0
    env_steps: int = 0

    def snapshot(self) -> dict[str, int]:
        return {"oracle_calls": self.oracle_calls, "oracle_examples": self.oracle_examples,
                "model_passes": self.model_passes, "env_steps": self.env_steps}


class Step:
    """One batch as an optimizer sees it: the model, the batch, and the counted ways to the loss.

    The minibatch objective is ``f(z) + r(θ)`` with ``f(z) = mean_i ℓ(z_i, y_i)`` and ``z = model(X)``."""

    def __init__(self, problem: TrainingProblem, model: nn.Module, batch: Batch, counter: Counter) -> None:
        self.problem, self.model, self.batch, self.counter = problem, model, batch, counter

    @property
    def size(self) -> int:
        return self.batch.size

    @property
    def params(self) -> list[Tensor]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def targets(self, grad: bool = True) -> Tensor:
        """``z = model(X)``: one model pass (kept on the graph when ``grad``)."""
        self.counter.model_passes += 1
        with torch.set_grad_enabled(grad):
            return self.problem.targets(self.model, self.batch.X)

    def oracle(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """The expensive call: ``f(z)`` and its gradient ``∇f(z)`` in target space (one oracle call)."""
        self.counter.oracle_calls += 1
        self.counter.oracle_examples += self.size
        zd = z.detach().requires_grad_(True)
        with torch.enable_grad():
            f = self.problem.loss(zd, self.batch.y).mean()
            (g,) = torch.autograd.grad(f, zd)
        return f.detach(), g

    def value(self, z: Tensor) -> Tensor:
        """The expensive call, value only: ``f(z)`` (one oracle call)."""
        self.counter.oracle_calls += 1
        self.counter.oracle_examples += self.size
        with torch.no_grad():
            return self.problem.loss(z.detach(), self.batch.y).mean()

    def backward(self, z: Tensor, weight: Tensor) -> None:
        """Add ``∂⟨weight, z(θ)⟩/∂θ`` to the parameters' ``.grad`` (one model pass)."""
        self.counter.model_passes += 1
        z.backward(weight)

    def regularizer(self, grad: bool = True) -> Tensor:
        """``r(θ)``; with ``grad`` its gradient is added to ``.grad`` (cheap, not counted)."""
        with torch.set_grad_enabled(grad):
            r = self.problem.regularizer(self.model)
            if grad and r.requires_grad:
                r.backward()
        return r.detach()

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def gradient(self) -> Tensor:
        """The minibatch gradient into ``.grad`` (one oracle call, two model passes); returns the minibatch
        objective ``f(z) + r(θ)`` at the current parameters."""
        self.zero_grad()
        z = self.targets()
        f, g = self.oracle(z)
        self.backward(z, g)
        return f + self.regularizer()

    def objective(self) -> Tensor:
        """The minibatch objective at the current parameters (one oracle call, one model pass)."""
        with torch.no_grad():
            return self.value(self.targets(grad=False)) + self.regularizer(grad=False)


@dataclass(frozen=True)
class Setup:
    """What a trainer is told of its cell."""

    problem: TrainingProblem
    seed: int
    device: torch.device
    #: optimizer steps (batches) in one epoch
    steps_per_epoch: int
    #: the steps the budget allows when it says (epochs or oracle calls), else None (for decaying schedules)
    total_steps: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Trainer(ABC):
    """The state of one optimizer on one cell."""

    @abstractmethod
    def step(self, step: Step) -> None:
        """Update the model's parameters from one batch."""

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, for checkpoints (the model's parameters are saved by the loop)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s state (a trainer that keeps none refuses any)."""
        if state:
            raise SolverError(f"{type(self).__name__} keeps no state, but was given {sorted(state)}")

    def state_bytes(self) -> int:
        """Bytes of optimizer state kept between steps (momentum, second moments, scales)."""
        return 0


def tensor_bytes(values: Iterable[Any]) -> int:
    """Bytes held by the tensors in ``values`` (nested dicts, lists and tuples are walked)."""
    total = 0
    for v in values:
        if isinstance(v, Tensor):
            total += v.numel() * v.element_size()
        elif isinstance(v, dict):
            total += tensor_bytes(v.values())
        elif isinstance(v, (list, tuple)):
            total += tensor_bytes(v)
    return total


@dataclass(frozen=True, kw_only=True)
class TrainingSolver(Solver):
    """Base of training solvers: keyword-only frozen dataclasses of options implementing :meth:`start`."""

    family: ClassVar[str] = "training"
    #: takes the whole training set as one batch per epoch (problems must have fixed data)
    full_batch: ClassVar[bool] = False

    @abstractmethod
    def start(self, model: nn.Module, setup: Setup) -> Trainer:
        """Make the optimizer state of one cell for ``model``."""


__all__ = ["Counter", "Setup", "Step", "Trainer", "TrainingSolver", "tensor_bytes"]
