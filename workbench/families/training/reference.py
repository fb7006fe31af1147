"""The full-batch reference: ``f*`` of a convex training problem by L-BFGS in float64.

Gives the optimum the results' ``gap`` and ``regret`` are measured against. The solve starts from the
model the problem makes for seed 0, runs L-BFGS with a strong-Wolfe line search on the whole training set
until the gradient's largest entry is below ``tol`` (with the problems' L2 term ``μ = l2`` the value is
then within ``tol² / 2μ`` of ``f*``: 5e-13 for ``tol = 1e-8``, ``l2 = 1e-4``). It is cached by what it
depends on (the class, the parameters but the batch size, a digest of the training data), in the process
and in ``$XDG_CACHE_HOME/workbench/training-optima.json`` (``~/.cache`` by default).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from workbench.families.training.problem import TrainingProblem

_CACHE: dict[str, float] = {}


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "workbench" / "training-optima.json"


def _key(problem: TrainingProblem) -> str:
    """What ``f*`` depends on: the problem's class, its parameters but the batch size, and the training data."""
    params = {k: v for k, v in dict(problem.params).items() if k != "batch_size"}
    train = problem.splits()["train"]  # type: ignore[attr-defined]
    digest = hashlib.sha256(train.X.numpy().tobytes() + train.y.numpy().tobytes()).hexdigest()[:16]
    return f"{type(problem).__module__}.{type(problem).__qualname__}:{json.dumps(params, sort_keys=True, default=str)}:{digest}"


def _read_disk() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(_cache_file().read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _write_disk(key: str, value: float) -> None:
    """Remember ``f*`` across processes (a cache only: any failure to write is ignored)."""
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        known = _read_disk()
        known[key] = value
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass


def reference_optimum(problem: TrainingProblem, *, tol: float = 1e-8, max_iter: int = 2000) -> float:
    """``min_θ F(θ)`` over the training set of ``problem`` (a convex one: otherwise a local minimum)."""
    key = f"{_key(problem)}:{tol:g}"
    if key not in _CACHE:
        _CACHE.update(_read_disk())
    if key in _CACHE:
        return _CACHE[key]
    threads = torch.get_num_threads()
    torch.set_num_threads(int(problem.cpu_threads or threads))
    try:
        value = _solve(problem, tol, max_iter)
    finally:
        torch.set_num_threads(threads)
    _CACHE[key] = value
    _write_disk(key, value)
    return value


def _solve(problem: TrainingProblem, tol: float, max_iter: int) -> float:
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
        return float(problem.loss(problem.targets(model, train.X), train.y).mean() + problem.regularizer(model))


__all__ = ["reference_optimum"]
