"""What each dashboard view plots, computed from a results Dataset (and a cell's Optuna trials)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from workbench.artifacts import ArtifactRef, Artifacts, decode, refs_of
from workbench.recorder import kept_trials
from workbench.report import Leaderboard, fmt, leaderboard
from workbench.space import Space

Y_KINDS = ("best", "log10 regret")
X_KINDS = ("evaluations", "seconds")
GRID = 2000  # at most this many points on the common grid seeds are resampled onto (x other than evaluations)


def x_kinds(ds: xr.Dataset) -> tuple[str, ...]:
    """What a convergence view can put on x: evaluations, seconds, and every cost axis the study records."""
    return X_KINDS + tuple(str(a) for a in ds.coords["axis"].values) if "axis" in ds.coords else X_KINDS


def convergence(ds: xr.Dataset, *, y: str = "best", x: str = "evaluations", solvers: list[str] | None = None,
                problems: list[str] | None = None, common_steps: bool = False) -> pd.DataFrame:
    """Long table ``problem, solver, x, mean, lo, hi, seeds``: the mean over seeds of the best value so far
    (or of log10 regret, where the optimum is known) with a band of one standard error. Steps no seed has
    reached are left out, so a running study shows its partial curves; so are the inner points of flat
    stretches, which draw the same without them. ``common_steps``: leave out, too, the steps a started seed
    has not reached yet (while a study runs, a solver's curve then grows with its slowest seed instead of
    jumping where the mean loses a seed).

    ``x``: ``evaluations`` (steps), ``seconds`` (the cell's wall time) or a cost axis of the study (cumulative
    cost). Seeds reach a given time or cost at different steps, so for those each seed's best-so-far curve is
    resampled onto a common grid: every x any seed of the problem reached (at most ``GRID`` points, evenly
    spaced beyond that); a seed counts at a grid point within its range, with its best at its last step with
    x <= the point."""
    if y not in Y_KINDS:
        raise ValueError(f"y must be one of {Y_KINDS}, but got {y!r}")
    if x not in x_kinds(ds):
        raise ValueError(f"x must be one of {x_kinds(ds)}, but got {x!r}")
    ds = ds.sel(solver=solvers) if solvers is not None else ds
    ds = ds.sel(problem=problems) if problems is not None else ds
    frames = []
    for p in ds.problem.values:
        sub = ds.sel(problem=p)
        if y == "log10 regret":
            if not np.isfinite(float(sub.optimum)):
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                vals = np.log10(np.maximum(sub.regret.values, 1e-12))  # solver x seed x step
        else:
            vals = sub.best.values
        reached = sub.failed.values >= 0  # solver x seed x step
        if x != "evaluations":
            at = sub.elapsed.values if x == "seconds" else sub["cost"].sel(axis=x).values
            done = sub["finished"].values == 1 if "finished" in sub else np.zeros(vals.shape[:-1], dtype=bool)
            grid, vals, reached = _resample(at, vals, reached, done)
        else:
            grid = sub.step.values + 1
        ok = np.isfinite(vals)
        n = ok.sum(axis=1)  # solver x point
        if common_steps:
            n = np.where(np.all(reached | ~reached.any(axis=-1, keepdims=True), axis=1), n, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, np.nansum(np.where(ok, vals, 0.0), axis=1) / np.maximum(n, 1), np.nan)
            sq = np.nansum(np.where(ok, (vals - mean[:, None, :]) ** 2, 0.0), axis=1)
            se = np.where(n > 1, np.sqrt(sq / np.maximum(n - 1, 1)) / np.sqrt(np.maximum(n, 1)), 0.0)
        xs = np.broadcast_to(grid, mean.shape)
        mean, se = np.where(n > 0, mean, np.nan), np.where(n > 0, se, np.nan)
        for i, s in enumerate(sub.solver.values):
            keep = (n[i] > 0) & _bends(mean[i], se[i], n[i])
            if not keep.any():
                continue
            frames.append(pd.DataFrame({
                "problem": str(p), "solver": str(s), "x": xs[i][keep], "mean": mean[i][keep],
                "lo": (mean[i] - se[i])[keep], "hi": (mean[i] + se[i])[keep], "seeds": n[i][keep],
            }))
    columns = ["problem", "solver", "x", "mean", "lo", "hi", "seeds"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _resample(at: np.ndarray, vals: np.ndarray, reached: np.ndarray,
              done: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curves over steps (``... x step``, with their x ``at`` each step) onto a common grid of x (see
    :func:`convergence`): the value at the last step with x <= each grid point; NaN (and not reached) before
    a curve's first step, and past its last unless its cell is ``done`` (finished: its best stays)."""
    at = np.where(reached & np.isfinite(at), at, np.nan)
    grid = np.unique(at[np.isfinite(at)])
    if len(grid) > GRID:
        grid = np.linspace(grid[0], grid[-1], GRID)
    # x only grows along a cell's steps; steps not run sort last
    key = np.where(np.isnan(at), np.inf, at)
    last = np.apply_along_axis(lambda row: np.searchsorted(row, grid, side="right") - 1, -1, key)  # ... x GRID
    end = np.nanmax(np.where(np.isnan(at), -np.inf, at), axis=-1, keepdims=True)
    inside = (last >= 0) & ((grid <= end) | done[..., None])
    picked = np.take_along_axis(vals, np.clip(last, 0, None), axis=-1)
    return grid, np.where(inside, picked, np.nan), inside


def _bends(mean: np.ndarray, se: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Points a drawn curve needs: the ends, and every point where mean, band or seed count differs from a
    neighbour. The middle of a plateau (best-so-far curves are mostly plateaus) draws the same without it."""
    row = np.stack([mean, se, n.astype(float)])
    same_prev = np.zeros(mean.shape, dtype=bool)
    same_prev[1:] = np.all(np.isclose(row[:, 1:], row[:, :-1], equal_nan=True), axis=0)
    same_next = np.zeros(mean.shape, dtype=bool)
    same_next[:-1] = same_prev[1:]
    return ~(same_prev & same_next)


def leaderboard_frame(ds: xr.Dataset, metric: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The papers' table: a row per solver, ``mean ± std (rank)`` per problem, and the average rank;
    with a same-shaped boolean frame marking the best entry of each column (drawn bold)."""
    board: Leaderboard = leaderboard(ds, metric)
    rows, bold = [], []
    for i, s in enumerate(board.solvers):
        row, mark = {"solver": s}, {"solver": False}
        for j, p in enumerate(board.problems):
            row[p] = f"{fmt(board.mean[i, j])} ± {fmt(board.std[i, j])} ({fmt(board.rank[i, j])})"
            col = board.rank[:, j]
            mark[p] = bool(np.isfinite(col).any() and board.rank[i, j] == np.nanmin(col))
        row["avg rank"] = fmt(board.avg_rank[i])
        finite = np.isfinite(board.avg_rank)
        mark["avg rank"] = bool(finite.any() and board.avg_rank[i] == np.nanmin(board.avg_rank))
        rows.append(row)
        bold.append(mark)
    return pd.DataFrame(rows), pd.DataFrame(bold)


def leaderboard_markdown(ds: xr.Dataset, metric: str | None = None) -> str:
    """The leaderboard as a Markdown table, best of each column in bold, each problem marked ↓ (lower is
    better) or ↑."""
    table, bold = leaderboard_frame(ds, metric)
    lower = leaderboard(ds, metric).lower_is_better if len(table) else []

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|")

    head = ["solver", *(f"{cell(p)} {'↓' if low else '↑'}" for p, low in zip(table.columns[1:-1], lower)), "avg rank"]
    lines = ["| " + " | ".join(head) + " |", "|:--|" + "--:|" * (len(head) - 1)]
    for i in range(len(table)):
        row = [f"**{cell(v)}**" if bold.iloc[i, j] else cell(v) for j, v in enumerate(table.iloc[i])]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def final_table(ds: xr.Dataset, metric: str | None = None) -> pd.DataFrame:
    """Numbers behind the leaderboard (for CSV export): problem, solver, mean, std, rank, seeds."""
    board = leaderboard(ds, metric)
    return pd.DataFrame([
        {"problem": p, "solver": s, f"mean {board.metric}": board.mean[i, j], "std": board.std[i, j],
         "rank": board.rank[i, j], "seeds": int(board.seeds[i, j])}
        for j, p in enumerate(board.problems) for i, s in enumerate(board.solvers)
    ])


TRIAL_COLUMNS = ["step", "state", "value", "elapsed", "fail_reason"]


def cell_trials(trials: list[Any], space: Space | None = None) -> pd.DataFrame:
    """One cell's recorded trials (its Optuna study's, one per step): ``step, state, value, elapsed,
    fail_reason`` and a column per parameter (a ``Sequence`` joined back into one, when ``space`` is known)."""
    rows = []
    for step, t in kept_trials(trials).items():
        ok = t.state.name == "COMPLETE"
        params = space.from_optuna_params(t.params) if space is not None else dict(t.params)
        row = {"step": step, "state": t.state.name, "value": t.value if ok else None,
               "elapsed": t.user_attrs.get("elapsed"), "fail_reason": t.user_attrs.get("fail_reason", "")}
        row.update({k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in params.items()})
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=TRIAL_COLUMNS)


ARTIFACT_COLUMNS = ["step", "name", "filename", "mimetype", "artifact_id"]


def cell_artifacts(trials: list[Any]) -> pd.DataFrame:
    """The artifacts a cell's steps reference: ``step, name, filename, mimetype, artifact_id``."""
    rows = [{"step": step, "name": ref.name, "filename": ref.filename, "mimetype": ref.mimetype,
             "artifact_id": ref.artifact_id}
            for step, t in kept_trials(trials).items() for ref in refs_of(t.system_attrs)]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=ARTIFACT_COLUMNS)


def artifact_value(store: Artifacts, artifact_id: str, filename: str, mimetype: str) -> Any:
    """An artifact's content as a view shows it (bytes of an image, an array, text)."""
    return decode(ArtifactRef(artifact_id, filename, mimetype), store.get(artifact_id))


def declared_space(ds: xr.Dataset, problem: str) -> Space | None:
    """The search space of ``problem`` as the study declaration stored with the results describes it."""
    try:
        declared = {p["name"]: p for p in json.loads(ds.attrs.get("study", "{}")).get("problems", [])}
        return Space.from_description(declared[problem]["space"])
    except (KeyError, TypeError, ValueError):
        return None


def parameter_columns(trials: pd.DataFrame) -> list[str]:
    return [c for c in trials.columns if c not in TRIAL_COLUMNS]


def compare_convergence(a: xr.Dataset, b: xr.Dataset, name_a: str, name_b: str, **kw) -> pd.DataFrame:
    """Convergence of two studies on the problems they share, one ``study`` column telling them apart."""
    shared = [p for p in a.problem.values if p in set(b.problem.values)]
    fa = convergence(a, problems=shared, **kw).assign(study=name_a)
    fb = convergence(b, problems=shared, **kw).assign(study=name_b)
    return pd.concat([fa, fb], ignore_index=True)
