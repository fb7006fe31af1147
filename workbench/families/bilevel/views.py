"""What the bilevel page plots, computed from a results Dataset, its cells' trials, and the problem rebuilt
from the study's declaration: θ paths over the upper-level loss surface of a 2-D problem, and the lower-level
solution (a denoised image) at each solver's incumbent θ.

(The upper-level loss against lower-level work, wall time or any other cost axis, with seed bands, is the
Convergence page's: the bilevel axes are cost axes like any other.)
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

from workbench.families.bilevel.lower import fista
from workbench.families.bilevel.oracle import Oracle
from workbench.families.bilevel.problem import BilevelProblem


def declared_problem(ds: xr.Dataset, name: str) -> dict[str, Any] | None:
    """The study's declaration of problem ``name`` (class path, parameters, space), or None."""
    try:
        problems = json.loads(ds.attrs.get("study", "{}")).get("problems", [])
    except (TypeError, ValueError):
        return None
    return next((p for p in problems if isinstance(p, dict) and p.get("name") == name), None)


def rebuild(ds: xr.Dataset, name: str, seed: int) -> BilevelProblem | None:
    """Problem ``name`` of the study, declared again from its class and parameters and bound to ``seed`` (the
    data the cell saw); None when it cannot be rebuilt here (a class this process cannot import, or one whose
    parameters are not its constructor's)."""
    d = declared_problem(ds, name)
    if d is None or d.get("family") != "bilevel":
        return None
    module, _, cls_name = str(d.get("class", "")).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), cls_name)
        problem = cls(**dict(d.get("params", {})), name=name)
    except Exception:
        return None
    return problem.bind(int(seed)) if isinstance(problem, BilevelProblem) else None


def theta_path(trials: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One cell's θ per step (columns ``step``, the parameter ``names``, ``value``, ``state``) from its trial
    table (:func:`workbench.browse.views.cell_trials`), in step order."""
    cols = ["step", *names, "value", "state"]
    if trials.empty or not all(n in trials for n in names):
        return pd.DataFrame(columns=cols)
    return trials[cols].sort_values("step").reset_index(drop=True)


def loss_surface(problem: BilevelProblem, n: int = 15, *, tol: float | None = None,
                 box: Sequence[tuple[float, float]] | None = None, max_iterations: int = 1000) -> pd.DataFrame:
    """The upper-level loss ``g(x̂(θ))`` on an ``n x n`` grid over a 2-D problem's space (or ``box``): columns
    ``theta_x, theta_y, value``. The lower level is solved to ``tol`` (the problem's ``lower_tol``) by FISTA,
    warm-started along a snake through the grid, at most ``max_iterations`` per point: points where it does
    not get there (a badly conditioned corner) or fails are NaN, drawn blank."""
    if problem.space.dim != 2:
        raise ValueError(f"a loss surface needs a 2-D problem, but {problem.name!r} has {problem.space.dim} dims")
    bounds = problem.space.bounds
    (x0, x1), (y0, y1) = box or ((float(bounds[0, 0]), float(bounds[1, 0])), (float(bounds[0, 1]), float(bounds[1, 1])))
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    oracle = Oracle(problem)
    tol = problem.lower_tol if tol is None else tol
    x = problem.x0()
    rows = []
    for i, ty in enumerate(ys):
        for tx in xs if i % 2 == 0 else xs[::-1]:
            theta = torch.tensor([tx, ty], dtype=torch.float64)
            try:
                x = fista(oracle, x, theta, tol, max_iterations=max_iterations).x
                value = float(problem.upper(x))
            except Exception:
                x, value = problem.x0(), float("nan")
            rows.append({"theta_x": float(tx), "theta_y": float(ty), "value": value})
    return pd.DataFrame(rows)


def incumbent(ds: xr.Dataset, problem: str, solver: str, seed: int) -> int | None:
    """The step of a cell's least recorded upper-level loss (None when none succeeded)."""
    v = ds["value"].sel(problem=problem, solver=solver, seed=seed).values
    return int(np.nanargmin(v)) if np.isfinite(v).any() else None


def lower_solution(problem: BilevelProblem, theta: Sequence[float]) -> tuple[torch.Tensor, dict[str, float]]:
    """The lower-level solution at ``theta`` (to the problem's ``score_tol``) and the problem's test metrics
    there: for a denoising problem, the denoised images and their PSNR."""
    t = torch.tensor([float(v) for v in theta], dtype=torch.float64)
    x = fista(Oracle(problem), problem.x0(), t, problem.score_tol).x
    return x, problem.report(x, t)


def solver_families(ds: xr.Dataset) -> dict[str, str]:
    """Each solver label of the study and the family it belongs to (``bilevel``, or ``blackbox`` for a guest)."""
    try:
        declared = json.loads(ds.attrs.get("study", "{}")).get("solvers", [])
    except (TypeError, ValueError):
        return {}
    return {str(d["name"]): str(d.get("family", "")) for d in declared if isinstance(d, dict) and "name" in d}


def schedule(ds: xr.Dataset, problem: str, seed: int, names: Sequence[str],
             solvers: Sequence[str] | None = None) -> pd.DataFrame:
    """The hyperparameters each solver held step by step, in the problem's own terms (the ``names`` its
    ``hyperparameters`` records: dropout rates, a regularization weight): columns ``solver, step,
    hyperparameter, value, online`` (``online``: the solver is the family's own, its steps a schedule — STN's
    learned one — rather than a black-box solver's queries)."""
    families = solver_families(ds)
    rows = []
    for s in solvers if solvers is not None else [str(v) for v in ds.solver.values]:
        for name in names:
            if name not in ds:
                continue
            v = ds[name].sel(problem=problem, solver=s, seed=seed).values
            steps = np.flatnonzero(np.isfinite(v))
            online = families.get(s, "bilevel") == "bilevel"
            rows += [{"solver": s, "step": int(k), "hyperparameter": name, "value": float(v[k]), "online": online}
                     for k in steps]
    return pd.DataFrame(rows, columns=["solver", "step", "hyperparameter", "value", "online"])


def at_work(ds: xr.Dataset, amounts: Sequence[float], *, axis: str = "lower_iterations",
            metrics: Sequence[str] = ()) -> pd.DataFrame:
    """Each cell's incumbent within a work budget: for every amount of ``axis`` (cumulative cost), the least
    upper-level loss among the successful steps whose cumulative cost is at most it (a step that crosses the
    amount does not count), the ``metrics`` at that step, the solver's own seconds by then (``solver_seconds``,
    cumulative: the family's scoring excluded), and ``reached`` (the cell spent at least the amount, or finished a budget counted on ``axis``: a
    cell ends after its last whole step, within one step of its budget). Columns
    ``problem, solver, seed, at, value, seconds, reached`` and the metrics; NaN where no step fits."""
    rows = []
    cost = ds["cost"].sel(axis=axis)
    try:
        on_budget = axis in json.loads(ds.attrs.get("budget", "{}"))  # a finished cell spent its budget's axis
    except (TypeError, ValueError):
        on_budget = False
    for p in ds.problem.values:
        for s in ds.solver.values:
            for seed in ds.seed.values:
                c = cost.sel(problem=p, solver=s, seed=seed).values
                v = ds["value"].sel(problem=p, solver=s, seed=seed).values
                el = ds["cost"].sel(axis="solver_seconds", problem=p, solver=s, seed=seed).values
                spent = float(np.nanmax(c)) if np.isfinite(c).any() else 0.0
                finished = on_budget and "finished" in ds and bool(ds["finished"].sel(problem=p, solver=s, seed=seed) == 1)
                for amount in amounts:
                    inside = np.isfinite(c) & (c <= amount * (1 + 1e-12))
                    ok = inside & np.isfinite(v)
                    row: dict[str, Any] = {"problem": str(p), "solver": str(s), "seed": int(seed), "at": amount,
                                           "reached": finished or spent >= amount * (1 - 1e-12), "value": np.nan,
                                           "seconds": float(np.nanmax(el[inside])) if inside.any() else np.nan}
                    if ok.any():
                        best = int(np.flatnonzero(ok)[np.argmin(v[ok])])
                        row["value"] = float(v[best])
                        for m in metrics:
                            row[m] = float(ds[m].sel(problem=p, solver=s, seed=seed).values[best]) if m in ds else np.nan
                    rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["at_work", "declared_problem", "incumbent", "loss_surface", "lower_solution", "rebuild", "schedule",
           "solver_families", "theta_path"]
