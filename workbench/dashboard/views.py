"""What each dashboard view plots, computed from a results Dataset (and a cell's Optuna trials)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from workbench.recorder import Store, trials_to_history
from workbench.report import Leaderboard, fmt, leaderboard

Y_KINDS = ("best", "log10 regret")
X_KINDS = ("evaluations", "seconds")


def convergence(ds: xr.Dataset, *, y: str = "best", x: str = "evaluations", solvers: list[str] | None = None,
                problems: list[str] | None = None) -> pd.DataFrame:
    """Long table ``problem, solver, x, mean, lo, hi, seeds``: the mean over seeds of the best value so far
    (or of log10 regret, where the optimum is known) with a band of one standard error. Steps no seed has
    reached are left out, so a running study shows its partial curves; so are the inner points of flat
    stretches, which draw the same without them."""
    if y not in Y_KINDS:
        raise ValueError(f"y must be one of {Y_KINDS}, but got {y!r}")
    if x not in X_KINDS:
        raise ValueError(f"x must be one of {X_KINDS}, but got {x!r}")
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
        ok = np.isfinite(vals)
        n = ok.sum(axis=1)  # solver x step
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, np.nansum(np.where(ok, vals, 0.0), axis=1) / np.maximum(n, 1), np.nan)
            sq = np.nansum(np.where(ok, (vals - mean[:, None, :]) ** 2, 0.0), axis=1)
            se = np.where(n > 1, np.sqrt(sq / np.maximum(n - 1, 1)) / np.sqrt(np.maximum(n, 1)), 0.0)
        if x == "seconds":  # mean wall time over the seeds that reached each step
            el = np.where(np.isfinite(sub.elapsed.values), sub.elapsed.values, np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                xs = np.nanmean(el, axis=1)
        else:
            xs = np.broadcast_to(sub.step.values + 1, mean.shape)
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


def _bends(mean: np.ndarray, se: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Points a drawn curve needs: the ends, and every point where mean, band or seed count differs from a
    neighbour. The middle of a plateau (best-so-far curves are mostly plateaus) draws the same without it."""
    row = np.stack([mean, se, n.astype(float)])
    same_prev = np.zeros(mean.shape, dtype=bool)
    same_prev[1:] = np.all(np.isclose(row[:, 1:], row[:, :-1], equal_nan=True), axis=0)
    same_next = np.zeros(mean.shape, dtype=bool)
    same_next[:-1] = same_prev[1:]
    return ~(same_prev & same_next)


def leaderboard_frame(ds: xr.Dataset, metric: str = "best") -> tuple[pd.DataFrame, pd.DataFrame]:
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


def final_table(ds: xr.Dataset, metric: str = "best") -> pd.DataFrame:
    """Numbers behind the leaderboard (for CSV export): problem, solver, mean, std, rank, seeds."""
    board = leaderboard(ds, metric)
    return pd.DataFrame([
        {"problem": p, "solver": s, f"mean {metric}": board.mean[i, j], "std": board.std[i, j],
         "rank": board.rank[i, j], "seeds": int(board.seeds[i, j])}
        for j, p in enumerate(board.problems) for i, s in enumerate(board.solvers)
    ])


def local_storage_url(run_dir) -> str | None:
    """The run folder's own storage file, if it has one (a shared database is not opened from here)."""
    if (run_dir / "optuna.db").is_file():
        return f"sqlite:///{run_dir / 'optuna.db'}"
    if (run_dir / "journal.log").is_file():
        return f"journal:{run_dir / 'journal.log'}"
    return None


def cell_trials(store: Store, key: str, space) -> pd.DataFrame:
    """One cell's trials: step, state, value, elapsed, fail reason, and one column per parameter."""
    study_id = store.study_id(key)
    if study_id is None:
        return pd.DataFrame(columns=["step", "state", "value", "elapsed", "fail_reason"])
    trials = store.trials(study_id)
    history = trials_to_history(trials, space)
    records = space.decode(history.X) if len(history) else []
    rows = []
    for step, (record, value, failed, elapsed, reason) in enumerate(
        zip(records, history.values.tolist(), history.failed.tolist(), history.elapsed.tolist(), history.reasons)
    ):
        row = {"step": step, "state": "FAIL" if failed else "COMPLETE", "value": None if failed else value,
               "elapsed": elapsed, "fail_reason": reason or ""}
        row.update({k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in record.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def compare_convergence(a: xr.Dataset, b: xr.Dataset, name_a: str, name_b: str, **kw) -> pd.DataFrame:
    """Convergence of two studies on the problems they share, one ``study`` column telling them apart."""
    shared = [p for p in a.problem.values if p in set(b.problem.values)]
    fa = convergence(a, problems=shared, **kw).assign(study=name_a)
    fb = convergence(b, problems=shared, **kw).assign(study=name_b)
    return pd.concat([fa, fb], ignore_index=True)
