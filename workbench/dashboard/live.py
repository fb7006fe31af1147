"""A running study, read from its run folder's Optuna storage: the runner writes ``results.nc`` only now and
then, while every evaluation reaches the storage as it finishes. The functions here turn the storage's cells
into a Dataset in the layout of :mod:`workbench.results`, on top of the last results file when there is one
(it knows the declaration: every cell, the optima), so a live view is never older than the last evaluation.

The storage is opened read-only; the dashboard never writes to it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.results import best_so_far

STORAGE_FILES = ("optuna.db", "journal.log")


@dataclass(frozen=True)
class StorageCell:
    """One cell's Optuna study, as the storage lists it (one query for all of them)."""

    key: str
    study_id: int
    study: str
    problem: str
    solver: str
    seed: int
    budget: int
    direction: str
    finished: bool
    error: str = ""


def open_readonly(path: Path) -> Any:
    """An Optuna storage over a run folder's ``optuna.db`` (opened read-only) or ``journal.log``."""
    import optuna

    if path.name == "journal.log":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 10}},
                                      skip_compatibility_check=True, skip_table_creation=True)


def _meta(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The workbench's attributes of a cell's Optuna study (``{"workbench": {...}}``; runs before the
    attribute was nested wrote ``workbench_study``, ``problem``, ... at the top level)."""
    meta = attrs.get("workbench")
    if isinstance(meta, dict):
        return meta
    if "workbench_study" in attrs:
        return {"study": attrs["workbench_study"], **{k: attrs.get(k) for k in ("problem", "solver", "seed", "budget")}}
    return None


def storage_cells(frozen_studies: list[Any]) -> list[StorageCell]:
    """The workbench cells among a storage's Optuna studies (``storage.get_all_studies()``), in creation
    order (the order the runner works through them). Other Optuna studies are ignored."""
    out = []
    for fs in sorted(frozen_studies, key=lambda s: s._study_id):
        meta = _meta(fs.user_attrs)
        if meta is None or None in (meta.get("problem"), meta.get("solver"), meta.get("seed"), meta.get("budget")):
            continue
        budget = int(meta["budget"])
        out.append(StorageCell(
            key=fs.study_name, study_id=fs._study_id, study=str(meta.get("study", "")), problem=str(meta["problem"]),
            solver=str(meta["solver"]), seed=int(meta["seed"]), budget=budget,
            direction="maximize" if fs.direction.name == "MAXIMIZE" else "minimize",
            finished=int(fs.user_attrs.get("finished_budget", 0)) >= budget, error=str(fs.user_attrs.get("error", "")),
        ))
    return out


def kept_trials(trials: list[Any]) -> dict[int, Any]:
    """A cell's recorded trials by step (COMPLETE or FAIL, carrying a ``step``). A step recorded twice (a
    taken-over cell) keeps the first trial of the newest claim, as :func:`workbench.recorder.trials_to_history`
    does."""
    by_step: dict[int, Any] = {}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state.name not in ("COMPLETE", "FAIL") or "step" not in t.user_attrs:
            continue
        step, seen = int(t.user_attrs["step"]), by_step.get(int(t.user_attrs["step"]))
        if seen is None or int(t.user_attrs.get("claim", 0)) > int(seen.user_attrs.get("claim", 0)):
            by_step[step] = t
    return dict(sorted(by_step.items()))


def cell_series(trials: list[Any], steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``value``, ``elapsed`` and ``failed`` (1 / 0 / -1 not run) over ``steps`` steps from a cell's trials."""
    value, elapsed = np.full(steps, np.nan), np.full(steps, np.nan)
    failed = np.full(steps, -1, dtype=np.int8)
    for step, t in kept_trials(trials).items():
        if 0 <= step < steps:
            ok = t.state.name == "COMPLETE" and t.value is not None
            failed[step] = 0 if ok else 1
            value[step] = t.value if ok else math.nan
            elapsed[step] = float(t.user_attrs.get("elapsed", math.nan))
    return value, elapsed, failed


def progress_only(cell: StorageCell) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the storage's list of studies alone says of a cell, without reading its trials: every step run
    (finished) or the first (started). Enough to count cells; values stay NaN."""
    failed = np.full(cell.budget, -1, dtype=np.int8)
    failed[: cell.budget if cell.finished else 1] = 0
    return np.full(cell.budget, np.nan), np.full(cell.budget, np.nan), failed


def complete_in(base: xr.Dataset | None, cell: StorageCell) -> bool:
    """``base`` (a results Dataset) already holds every step of ``cell``."""
    if base is None or cell.problem not in base.problem or cell.solver not in base.solver or cell.seed not in base.seed:
        return False
    if base.sizes["step"] < cell.budget:
        return False
    run = base["failed"].sel(problem=cell.problem, solver=cell.solver, seed=cell.seed).values[: cell.budget]
    return bool((run >= 0).all())


def _order(base: list[Any], more: list[Any]) -> list[Any]:
    return list(dict.fromkeys([*base, *more]))


def assemble(cells: list[StorageCell], series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
             base: xr.Dataset | None = None, study: str | None = None) -> xr.Dataset:
    """A results Dataset: ``base`` (the last results file, or None) with every cell in ``series`` (by cell
    key, from :func:`cell_series`) written over it. Problems, solvers and seeds not in ``base`` are added
    (their optimum unknown); attribute ``live`` says the data came from the storage."""
    cells = [c for c in cells if study is None or c.study == study]
    problems = _order([str(p) for p in base.problem.values] if base is not None else [], [c.problem for c in cells])
    solvers = _order([str(s) for s in base.solver.values] if base is not None else [], [c.solver for c in cells])
    seeds = _order([int(s) for s in base.seed.values] if base is not None else [], [c.seed for c in cells])
    steps = max([base.sizes["step"] if base is not None else 0] + [c.budget for c in cells])
    shape = (len(problems), len(solvers), len(seeds), steps)
    value, elapsed = np.full(shape, np.nan), np.full(shape, np.nan)
    failed = np.full(shape, -1, dtype=np.int8)
    optimum = np.full(len(problems), np.nan)
    direction = {c.problem: c.direction for c in cells}
    if base is not None:
        P, S, R, T = (base.sizes[d] for d in ("problem", "solver", "seed", "step"))
        value[:P, :S, :R, :T] = base["value"].transpose("problem", "solver", "seed", "step").values
        elapsed[:P, :S, :R, :T] = base["elapsed"].transpose("problem", "solver", "seed", "step").values
        failed[:P, :S, :R, :T] = base["failed"].transpose("problem", "solver", "seed", "step").values
        optimum[:P] = base["optimum"].values
        direction.update({str(p): str(d) for p, d in zip(base.problem.values, base.direction.values)})
    for c in cells:
        if c.key not in series:
            continue
        v, e, f = series[c.key]
        i, j, k = problems.index(c.problem), solvers.index(c.solver), seeds.index(c.seed)
        value[i, j, k, :len(v)], elapsed[i, j, k, :len(e)], failed[i, j, k, :len(f)] = v, e, f
    dirs = [direction.get(p, "minimize") for p in problems]
    best = np.stack([best_so_far(value[i], dirs[i]) for i in range(len(problems))]) if problems else value.copy()
    best = np.where(failed >= 0, best, np.nan)
    dims = ("problem", "solver", "seed", "step")
    attrs = dict(base.attrs) if base is not None else {
        "study": json.dumps({"name": study or (cells[0].study if cells else "")}), "budget": steps}
    attrs["live"] = "storage"
    return xr.Dataset(
        {"value": (dims, value), "best": (dims, best), "regret": (dims, np.abs(best - optimum[:, None, None, None])),
         "elapsed": (dims, elapsed), "failed": (dims, failed), "optimum": (("problem",), optimum),
         "direction": (("problem",), np.array(dirs, dtype=str))},
        coords={"problem": problems, "solver": solvers, "seed": seeds, "step": np.arange(steps)},
        attrs=attrs,
    )
