"""The full-batch reference: ``f*`` of a convex training problem by L-BFGS in float64.

Gives the optimum the results' ``gap`` and ``regret`` are measured against. The solve starts from the
model the problem makes for seed 0, runs L-BFGS with a strong-Wolfe line search on the whole training set
until the gradient's largest entry is below ``tol`` (with the problems' L2 term ``μ = l2`` the value is
then within ``tol² / 2μ`` of ``f*``: 5e-13 for ``tol = 1e-8``, ``l2 = 1e-4``), and is cached per problem (name and parameters) for
the life of the process.
"""

from __future__ import annotations

import json

import torch

from workbench.families.training.problem import TrainingProblem

_CACHE: dict[str, float] = {}


def reference_optimum(problem: TrainingProblem, *, tol: float = 1e-8, max_iter: int = 2000) -> float:
    """``min_θ F(θ)`` over the training set of ``problem`` (a convex one: otherwise a local minimum)."""
    key = f"{type(problem).__qualname__}:{problem.name}:{json.dumps(dict(problem.params), sort_keys=True, default=str)}"
    if key in _CACHE:
        return _CACHE[key]
    train = problem.splits()["train"]  # type: ignore[attr-defined]
    model = problem.model(torch.Generator().manual_seed(0))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, history_size=50, tolerance_grad=tol,
                            tolerance_change=0.0, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = problem.loss(problem.targets(model, train.X), train.y).mean() + problem.regularizer(model)
        loss.backward()
        return loss

    for _ in range(3):  # a restart (fresh curvature pairs) when the first run stopped short of the tolerance
        opt.step(closure)
        if max(float(p.grad.abs().max()) for p in params if p.grad is not None) <= tol:
            break
    with torch.no_grad():
        value = float(problem.loss(problem.targets(model, train.X), train.y).mean() + problem.regularizer(model))
    _CACHE[key] = value
    return value


__all__ = ["reference_optimum"]
