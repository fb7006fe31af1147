"""Training problems: a torch model, its targets ``z = model(X)`` and a loss in target space.

A training problem splits its objective the way target-based methods see it::

    F(θ) = mean_i ℓ(z_i(θ), y_i) + r(θ)

where ``z(θ) = model(X)`` are the model's *targets* (outputs), ``ℓ`` the per-example loss in target space
(its value and gradient in ``z`` are the **expensive oracle**: a simulator, an environment rollout, a big
loss; every call is counted), and ``r`` a cheap regularizer in parameter space. Passes through the model
(forward or backward) are the **cheap** work, counted separately.

A problem gives the initial model (seeded by the cell), the batches of one epoch, and its scores
(training objective over the whole training set, validation and test loss, test accuracy for classifiers).
Its steps are epochs, not points of a space: ``space`` is :meth:`Space.empty`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from workbench.errors import InvalidProblemError
from workbench.families.training.surrogate_gradients import scheduled, set_progress
from workbench.problem import Problem
from workbench.space import Space

log = logging.getLogger("workbench")

#: cost axes every training problem records per epoch (see :class:`TrainingFamily`)
ORACLE, EXAMPLES, PASSES, EPOCHS, TRAIN_SECONDS, ENV_STEPS = (
    "oracle_calls", "oracle_examples", "model_passes", "epochs", "train_seconds", "env_steps")


@dataclass(frozen=True)
class Batch:
    """A batch of examples: inputs ``X``, labels ``y``, and the environment steps it took to collect."""

    X: Tensor
    y: Tensor
    env_steps: int = 0

    @property
    def size(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True)
class Split:
    X: Tensor
    y: Tensor

    def __len__(self) -> int:
        return int(self.X.shape[0])


@runtime_checkable
class FixedData(Protocol):
    """A training problem with a fixed training set (full-batch methods need one)."""

    def splits(self) -> Mapping[str, Split]: ...


class TrainingProblem(Problem):
    """Base of training problems. Subclasses implement :meth:`model`, :meth:`loss`, :meth:`batches` and
    :meth:`scores`, and set ``batch_size``, ``l2`` (weight of ``r(θ) = l2/2 ‖θ‖²``) and, where known,
    ``smoothness`` (the per-example smoothness of ``ℓ`` in ``z``: SSO's surrogate majorizes the loss when
    its step ``η <= 1/smoothness``)."""

    family: ClassVar[str] = "training"
    direction = "minimize"
    space = Space.empty()
    batch_size: int = 25
    l2: float = 0.0
    smoothness: float | None = None
    #: scores include ``test_accuracy``
    classification: bool = False
    #: torch's CPU threads while a cell trains (restored after); None leaves torch's setting. Small models
    #: lose more to handing tiny operations between threads than they gain: one thread is the default
    cpu_threads: int | None = 1

    def model(self, generator: torch.Generator) -> nn.Module:
        """The initial model (float64), its random numbers drawn from ``generator`` (the cell's seed)."""
        raise NotImplementedError

    def loss(self, z: Tensor, y: Tensor) -> Tensor:
        """Per-example loss ``ℓ(z_i, y_i)``: a tensor of ``len(z)`` values."""
        raise NotImplementedError

    def targets(self, model: nn.Module, X: Tensor) -> Tensor:
        """The model's targets on ``X`` (``model(X)`` unless the problem says otherwise)."""
        return model(X)

    def regularizer(self, model: nn.Module) -> Tensor:
        """``r(θ) = l2/2 ‖θ‖²`` over every parameter (cheap: no oracle call)."""
        params = [p for p in model.parameters()]
        if not self.l2 or not params:
            return torch.zeros((), dtype=torch.float64)
        return 0.5 * self.l2 * sum((p * p).sum() for p in params)

    def batches(self, model: nn.Module, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """The batches of one epoch (their order drawn from ``generator``); ``model`` is the current model,
        for problems whose data depend on it (on-policy rollouts)."""
        raise NotImplementedError

    def schedule(self, model: nn.Module, progress: float | None) -> None:
        """Before each epoch: tell the model the fraction of the run done (None when the budget does not
        say how long the run is: a budget in examples, passes or seconds), for models whose forward or
        backward follow a schedule over training (ReSTE's power). By default every
        :class:`~workbench.families.training.surrogate_gradients.SurrogateStep` in the model is told (0 when
        the fraction is unknown, with a warning where a surrogate follows a schedule)."""
        if progress is None and scheduled(model) and not getattr(model, "_unscheduled_warned", False):
            model._unscheduled_warned = True  # once per cell
            log.warning("problem %r: the budget does not say how long the run is, so the surrogate gradient's "
                        "schedule stays at its start (ReSTE at o_start); give the budget in epochs or oracle "
                        "calls", self.name)
        set_progress(model, 0.0 if progress is None else progress)

    def steps_per_epoch(self, batch_size: int) -> int:
        """How many batches :meth:`batches` yields per epoch."""
        raise NotImplementedError

    def scores(self, model: nn.Module) -> dict[str, float]:
        """After an epoch: ``train_loss`` (the objective ``F`` over the whole training set, the step's
        value) and whatever else the problem reports (``val_loss``, ``test_loss``, ``test_accuracy``)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "batch_size": self.batch_size, "l2": self.l2, "smoothness": self.smoothness}


def check_training(problem: TrainingProblem, where: str) -> None:
    """A training problem's declaration, checked: the first wrong field is named."""
    bs = problem.batch_size
    if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
        raise InvalidProblemError(f"{where}.batch_size must be an int >= 1, but got {bs!r}")
    l2 = problem.l2
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not math.isfinite(l2) or l2 < 0:
        raise InvalidProblemError(f"{where}.l2 must be a finite number >= 0, but got {l2!r}")
    sm = problem.smoothness
    if sm is not None and (isinstance(sm, bool) or not isinstance(sm, (int, float)) or not math.isfinite(sm) or sm <= 0):
        raise InvalidProblemError(f"{where}.smoothness must be a finite number > 0 or None, but got {sm!r}")
    th = problem.cpu_threads
    if th is not None and (isinstance(th, bool) or not isinstance(th, int) or th < 1):
        raise InvalidProblemError(f"{where}.cpu_threads must be an int >= 1 or None, but got {th!r}")
    if problem.space.dim != 0:
        raise InvalidProblemError(f"{where}.space must be Space.empty(): a training problem's steps are epochs")


__all__ = ["ENV_STEPS", "EPOCHS", "EXAMPLES", "ORACLE", "PASSES", "TRAIN_SECONDS", "Batch", "FixedData", "Split",
           "TrainingProblem", "check_training"]
