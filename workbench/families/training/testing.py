"""The training contract: the test suite runs it over every registered training problem, and users can run
it on their own (``check_training_problem(MyProblem())``)."""

from __future__ import annotations

import json
import math

import torch

from workbench.families.training.problem import Batch, TrainingProblem, check_training
from workbench.problem import Problem, validate_problem


def check_training_problem(problem: Problem) -> None:
    """Raise ``AssertionError`` unless ``problem`` keeps the training contract: declaration valid; the model
    float64 and a function of the generator's seed; one epoch yields ``steps_per_epoch`` batches whose inputs
    and labels agree in length; the loss gives one finite value per example and a gradient in the targets;
    ``scores`` has a finite ``train_loss`` no lower than a known optimum; ``describe()`` is JSON."""
    validate_problem(problem)
    assert isinstance(problem, TrainingProblem), f"{problem.name}: not a TrainingProblem"
    check_training(problem, f"problem {problem.name!r}")
    a, b = (problem.model(torch.Generator().manual_seed(7)) for _ in range(2))
    params = list(a.parameters())
    assert params and all(p.dtype == torch.float64 for p in params), f"{problem.name}: the model is not float64"
    assert all(torch.equal(p, q) for p, q in zip(params, b.parameters())), f"{problem.name}: model not seeded"
    epoch = list(problem.batches(a, problem.batch_size, torch.Generator().manual_seed(1)))
    assert len(epoch) == problem.steps_per_epoch(problem.batch_size), f"{problem.name}: steps_per_epoch is wrong"
    for batch in epoch[:3]:
        assert isinstance(batch, Batch) and batch.size > 0 and len(batch.y) == batch.size, f"{problem.name}: bad batch"
        z = problem.targets(a, batch.X).detach().requires_grad_(True)
        loss = problem.loss(z, batch.y)
        assert loss.shape == (batch.size,), f"{problem.name}: loss gives {tuple(loss.shape)} for {batch.size} examples"
        assert bool(torch.isfinite(loss).all()), f"{problem.name}: loss not finite at the initial model"
        (g,) = torch.autograd.grad(loss.mean(), z)
        assert g.shape == z.shape and bool(torch.isfinite(g).all()), f"{problem.name}: no gradient in the targets"
    with torch.no_grad():
        scores = problem.scores(a)
    assert math.isfinite(scores.get("train_loss", math.nan)), f"{problem.name}: scores have no finite train_loss"
    if problem.optimum is not None:
        assert problem.optimum <= scores["train_loss"] + 1e-12, f"{problem.name}: optimum above the initial loss"
    json.dumps(problem.describe())


__all__ = ["check_training_problem"]
