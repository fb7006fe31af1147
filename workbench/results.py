"""Results: one ``xarray.Dataset`` per study, assembled from the storage and written atomically.

Dims ``problem, solver, seed, step``. Variables:

* ``value``   — the evaluation's value (NaN where it failed or has not run);
* ``best``    — best value so far in the problem's direction (failed evaluations skipped);
* ``regret``  — ``|best - optimum|`` where the problem's optimum is known, else NaN;
* ``elapsed`` — seconds of the cell's wall time when the evaluation finished;
* ``failed``  — 1 where the evaluation failed, 0 where it succeeded, -1 where it has not run;
* ``optimum`` (problem) and ``direction`` (problem).

Attributes: ``study`` (the declaration, JSON), ``versions`` (JSON), ``storage`` (URL, password removed),
``kind`` (``"query"`` or ``"offline"``).

An offline study's Dataset has dim ``candidate`` (the proposed designs, in the solver's order) where a
queryable study has ``step``; ``value`` is the oracle's score and ``elapsed`` the cell's time to propose and
score. It adds:

* ``normalized`` — ``(value - y_min) / (y_max - y_min)`` with the task's full-data range;
* ``percentile`` (problem, solver, seed, q) — the 100th, 80th and 50th percentiles of ``normalized`` over
  the candidates (q = 100, 80, 50), the papers' per-seed summaries;
* ``y_min``, ``y_max`` (problem).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.errors import ResultsError
from workbench.recorder import Store, redact, trials_to_history
from workbench.study import Study

RESULTS_FILE = "results.nc"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("workbench", "torch", "botorch", "gpytorch", "optuna", "xarray", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def best_so_far(values: np.ndarray, direction: str) -> np.ndarray:
    """Running best along the last axis, skipping NaN (NaN until the first finite value)."""
    sign = 1.0 if direction == "minimize" else -1.0
    filled = np.where(np.isnan(values), np.inf, sign * values)
    best = np.minimum.accumulate(filled, axis=-1)
    return np.where(np.isinf(best), np.nan, sign * best)


def build_results(study: Study, store: Store) -> xr.Dataset:
    """Read every cell of ``study`` from ``store`` into a Dataset (cells not run stay NaN)."""
    P, S, R, T = len(study.problems), len(study.solvers), len(study.seeds), study.budget
    value = np.full((P, S, R, T), np.nan)
    elapsed = np.full((P, S, R, T), np.nan)
    failed = np.full((P, S, R, T), -1, dtype=np.int8)
    ids = {s.study_name: s._study_id for s in store.studies()}
    for cell in study.cells():
        key = cell.key(study.name)
        if key not in ids:
            continue
        p, s, r = study.problems.index(cell.problem), study.solvers.index(cell.solver), study.seeds.index(cell.seed)
        history = trials_to_history(store.trials(ids[key]), cell.problem.space)
        n = min(len(history), T)
        value[p, s, r, :n] = history.values[:n].numpy()
        elapsed[p, s, r, :n] = history.elapsed[:n].numpy()
        failed[p, s, r, :n] = history.failed[:n].numpy().astype(np.int8)
    directions = [p.direction for p in study.problems]
    optima = np.array([np.nan if p.optimum is None else p.optimum for p in study.problems])
    best = np.stack([best_so_far(value[i], directions[i]) for i in range(P)])
    best = np.where(failed >= 0, best, np.nan)  # steps not run yet have no best: partial runs stay partial
    regret = np.abs(best - optima[:, None, None, None])
    coords = {
        "problem": [p.name for p in study.problems],
        "solver": [s.label for s in study.solvers],
        "seed": list(study.seeds),
        "step": np.arange(T),
    }
    dims = ("problem", "solver", "seed", "step")
    ds = xr.Dataset(
        {
            "value": (dims, value),
            "best": (dims, best),
            "regret": (dims, regret),
            "elapsed": (dims, elapsed),
            "failed": (dims, failed),
            "optimum": (("problem",), optima),
            "direction": (("problem",), np.array(directions, dtype=str)),
        },
        coords=coords,
        attrs={
            "study": json.dumps(study.describe(), default=_jsonable),
            "versions": json.dumps(versions()),
            "storage": redact(store.url),
            "budget": study.budget,
        },
    )
    ds["elapsed"].attrs["units"] = "s"
    ds.attrs["kind"] = "offline" if study.offline else "query"
    return _with_offline_scores(ds, study) if study.offline else ds


QS = (100.0, 80.0, 50.0)


def _with_offline_scores(ds: xr.Dataset, study: Study) -> xr.Dataset:
    ranges = np.array([p.score_range() for p in study.problems], dtype=np.float64)  # type: ignore[attr-defined]
    lo, hi = ranges[:, 0], ranges[:, 1]
    ds = ds.rename(step="candidate")
    normalized = (ds["value"] - xr.DataArray(lo, dims="problem")) / xr.DataArray(hi - lo, dims="problem")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells (not run, or all failed) stay NaN
        pct = np.nanpercentile(normalized.values, QS, axis=-1)  # q x problem x solver x seed
    ds["normalized"] = normalized
    ds["percentile"] = (("problem", "solver", "seed", "q"), np.moveaxis(pct, 0, -1))
    ds = ds.assign_coords(q=list(QS))
    ds["y_min"] = (("problem",), lo)
    ds["y_max"] = (("problem",), hi)
    return ds


def as_steps(ds: xr.Dataset) -> xr.Dataset:
    """An offline Dataset seen as a queryable one (``candidate`` renamed ``step``), for views of curves and
    trials that read any study the same way; a queryable Dataset is returned as it is."""
    return ds.rename(candidate="step") if "candidate" in ds.dims else ds


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (set, tuple, range)):
        return list(value)
    return repr(value)


def write_results(ds: xr.Dataset, path: str | Path) -> Path:
    """Write NetCDF (h5netcdf) to a temporary file beside ``path``, then rename over it: readers see
    the old file or the new one, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_results(path: str | Path) -> xr.Dataset:
    """Open a results file (or a run folder holding ``results.nc``) fully into memory."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ResultsError(f"no results file at {path} (run the study first: workbench run STUDY_FILE)")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as e:
        raise ResultsError(f"cannot read results file {path}: {type(e).__name__}: {e}") from e
