"""The full-batch reference: ``f*`` of a convex training problem by L-BFGS in float64.

Gives the optimum the results' ``gap`` and ``regret`` are measured against. The solve starts from the
model the problem makes for seed 0, runs L-BFGS with a strong-Wolfe line search on the whole training set
until the gradient's largest entry is below ``tol`` (with the problems' L2 term ``μ = l2`` the value is
then within ``d tol² / 2μ`` of ``f*`` for ``d`` parameters: 3e-10 for the digits' 650 parameters at
``tol = 1e-8``, ``l2 = 1e-4``). It is cached by what it depends on (the class, the parameters but the batch
size, a digest of the training data and a fingerprint of the objective), in the process and, once the solve
converged, in ``$XDG_CACHE_HOME/workbench/training-optima.json`` (``~/.cache`` by default).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from workbench.families.training.problem import TrainingProblem

log = logging.getLogger("workbench")
_CACHE: dict[str, float] = {}


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "workbench" / "training-optima.json"


#: bumped whenever what the key covers changes, so that older entries are not read
VERSION = 2


def _key(problem: TrainingProblem) -> str:
    """What ``f*`` depends on: the problem's class and parameters (the batch size aside), the training data,
    and the objective itself, fingerprinted by its value and gradient at two points (the seed-0 model and
    twice its parameters): two problems whose loss, targets or regularizer differ (a study file's subclass,
    say) get different keys even where their classes and data agree."""
    params = {k: v for k, v in dict(problem.params).items() if k != "batch_size"}
    train = problem.splits()["train"]  # type: ignore[attr-defined]
    h = hashlib.sha256(train.X.numpy().tobytes() + train.y.numpy().tobytes())
    model = problem.model(torch.Generator().manual_seed(0))
    for scale in (1.0, 2.0):
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(scale)
        model.zero_grad()
        value = problem.loss(problem.targets(model, train.X), train.y).mean() + problem.regularizer(model)
        value.backward()
        h.update(repr(float(value.detach())).encode())
        for p in model.parameters():
            if p.grad is not None:
                h.update(p.grad.detach().numpy().tobytes())
    name = f"{type(problem).__module__}.{type(problem).__qualname__}"
    return f"v{VERSION}:{name}:{json.dumps(params, sort_keys=True, default=str)}:{h.hexdigest()[:20]}"


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
        value, converged = _solve(problem, tol, max_iter)
    finally:
        torch.set_num_threads(threads)
    _CACHE[key] = value
    if converged:
        _write_disk(key, value)
    else:  # kept for this process only: a later process tries again
        log.warning("%s: the reference L-BFGS stopped before its gradient fell below %g; f* = %.12g is an "
                    "upper bound", problem.name, tol, value)
    return value


def _solve(problem: TrainingProblem, tol: float, max_iter: int) -> tuple[float, bool]:
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

    converged = False
    for _ in range(3):  # a restart (fresh curvature pairs) when the first run stopped short of the tolerance
        opt.step(closure)
        closure()
        if max(float(p.grad.abs().max()) for p in params if p.grad is not None) <= tol:
            converged = True
            break
    with torch.no_grad():
        value = float(problem.loss(problem.targets(model, train.X), train.y).mean() + problem.regularizer(model))
    return value, converged


__all__ = ["reference_optimum"]
