"""The tables of docs/offline.md, computed from an offline results Dataset (pure: no files, no printing).

Per (task, solver): mean ± std over seeds of a normalized percentile of the candidates (p100 by default),
the number of seeds; per solver: the mean of those means over the tasks every solver finished, and the
mean rank over the same tasks (the papers' summary columns). A second table gives the wall seconds per
seed (propose and score 128 designs), median over seeds."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.stats import rankdata


def _fmt(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{x:.3f}"


def offline_tables(ds: xr.Dataset, metric: str = "p100", drop: tuple[str, ...] = ()) -> str:
    """Markdown: a score table (mean ± std [seeds], mean over tasks, mean rank) and a time table, without
    the solvers in ``drop`` (so that a solver missing on a task does not shrink the others' summary)."""
    if ds.attrs.get("family") != "offline":
        raise ValueError("offline_tables needs the results of an offline study")
    unknown = sorted(set(drop) - {str(s) for s in ds.solver.values})
    if unknown:
        raise ValueError(f"no solver {unknown[0]!r} in these results")
    ds = ds.drop_sel(solver=list(drop))
    q = float(metric.lstrip("p"))
    score = ds["percentile"].sel(q=q).transpose("solver", "problem", "seed").values
    tasks, solvers = [str(p) for p in ds.problem.values], [str(s) for s in ds.solver.values]
    seeds = np.sum(np.isfinite(score), axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells not run yet stay NaN
        mean, std = np.nanmean(score, axis=-1), np.nanstd(score, axis=-1)
    complete = [j for j in range(len(tasks)) if bool(np.all(seeds[:, j] > 0))]
    ranks = np.stack([rankdata(-mean[:, j]) for j in complete], axis=1) if complete else np.full((len(solvers), 0), np.nan)
    head = f"| solver | {' | '.join(tasks)} | mean over {len(complete)} tasks | mean rank |"
    lines = [head, "|---" * (len(tasks) + 3) + "|"]
    for i, s in enumerate(solvers):
        cells = [f"{_fmt(mean[i, j])} ± {_fmt(std[i, j])} [{seeds[i, j]}]" if seeds[i, j] else "—"
                 for j in range(len(tasks))]
        overall = _fmt(float(np.mean(mean[i, complete]))) if complete else "—"
        rank = f"{np.mean(ranks[i]):.2f}" if complete else "—"
        lines.append(f"| {s} | " + " | ".join(cells) + f" | {overall} | {rank} |")
    elapsed = ds["elapsed"].isel(step=-1).median("seed", skipna=True)
    lines += ["", "| solver | " + " | ".join(f"{t} s/seed" for t in tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    for s in solvers:
        cells = []
        for t in tasks:
            v = float(elapsed.sel(problem=t, solver=s))
            cells.append("—" if not np.isfinite(v) else f"{v:.1f}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
