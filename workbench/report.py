"""Leaderboards in the layout of the papers' tables: mean ± std over seeds of the final score per problem,
the rank of each solver per problem, and the average rank. Compute here; render in the CLI or dashboard."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.stats import rankdata

from workbench.family import Metric, family_for


def metric_of(ds: xr.Dataset, name: str | None = None) -> Metric:
    """The metric ``name`` of the study's family (None: its default); ``ValueError`` for an unknown name."""
    return family_for(ds).metric(name)


def metric_names(ds: xr.Dataset) -> list[str]:
    return [m.name for m in family_for(ds).all_metrics()]


def title(ds: xr.Dataset, metric: Metric) -> str:
    """What the metric is, for a table's title (``{steps}`` in a caption: the study's steps per cell)."""
    return metric.caption.format(steps=ds.sizes.get("step", 0))


@dataclass(frozen=True)
class Leaderboard:
    """``mean``, ``std``, ``rank`` and ``seeds`` are ``solvers x problems`` arrays; ``avg_rank`` is per solver.
    ``lower_is_better`` is per problem. ``seeds`` counts the seeds with at least one successful evaluation."""

    metric: str
    problems: list[str]
    solvers: list[str]
    mean: np.ndarray
    std: np.ndarray
    rank: np.ndarray
    avg_rank: np.ndarray
    seeds: np.ndarray
    lower_is_better: list[bool]

    def best_solver(self, problem: str) -> str | None:
        j = self.problems.index(problem)
        col = self.rank[:, j]
        return None if np.all(np.isnan(col)) else self.solvers[int(np.nanargmin(col))]


def final_scores(ds: xr.Dataset, metric: str | None = None) -> xr.DataArray:
    """The final score of each (problem, solver, seed) under ``metric`` (the family's default when None);
    NaN for a cell with no successful evaluation."""
    return metric_of(ds, metric).scores(ds).transpose("problem", "solver", "seed")


def leaderboard(ds: xr.Dataset, metric: str | None = None) -> Leaderboard:
    m = metric_of(ds, metric)
    scores = m.scores(ds).transpose("solver", "problem", "seed").values
    problems = [str(p) for p in ds.problem.values]
    solvers = [str(s) for s in ds.solver.values]
    lower = [m.lower(str(ds.direction.sel(problem=p).values)) for p in problems]
    seeds = np.sum(~np.isnan(scores), axis=-1)
    with _quiet():
        mean = np.nanmean(scores, axis=-1)
        std = np.nanstd(scores, axis=-1)
    rank = np.full(mean.shape, np.nan)
    for j, low in enumerate(lower):
        col = mean[:, j]
        ok = ~np.isnan(col)
        if ok.any():
            rank[ok, j] = rankdata(col[ok] if low else -col[ok], method="average")
    with _quiet():
        avg_rank = np.nanmean(rank, axis=1) if rank.size else np.array([])
    return Leaderboard(m.name, problems, solvers, mean, std, rank, avg_rank, seeds, lower)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's 'mean of empty slice' warnings for all-NaN rows (they stay NaN, on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def fmt(x: float) -> str:
    if np.isnan(x):
        return "—"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


_ARROWS = ("↓", "↑")


def note(board: Leaderboard, metric: Metric) -> list[str]:
    """How to read ``metric`` in this table, one short line per clause of its note (clauses end at ``"; "``):
    of the phrases that start with a direction's arrow (``"↓ minimized, ↑ maximized"``) only those of the
    directions the table's problems have (``board.lower_is_better``) stay."""
    present = {"↓" if low else "↑" for low in board.lower_is_better}
    lines = []
    for clause in metric.note.split("; "):
        phrases = [p for p in clause.split(", ") if not p.startswith(_ARROWS) or p.startswith(tuple(present))]
        if any(p.strip() for p in phrases):
            lines.append(", ".join(phrases))
    return lines


def caption(board: Leaderboard, metric: Metric) -> str:
    """The lines under a leaderboard: what its numbers are, then :func:`note`. Each line is one short phrase,
    so that a narrow table wraps the caption between phrases, not inside one."""
    return "\n".join(["mean ± std over seeds (rank)", *note(board, metric)])


def render(board: Leaderboard, title: str = "", caption: str = "") -> object:
    """A ``rich.table.Table``: a row per solver, a column per problem, best mean in bold; ``caption``'s lines
    (see :func:`caption`) under it."""
    from rich.table import Table

    table = Table(title=title or None, title_justify="left", caption=caption or None, caption_justify="left")
    table.add_column("solver", style="cyan", no_wrap=True)
    for p, low in zip(board.problems, board.lower_is_better):
        table.add_column(f"{p} {'↓' if low else '↑'}", justify="right")
    table.add_column("avg rank", justify="right")
    best_avg = np.nanmin(board.avg_rank) if np.any(~np.isnan(board.avg_rank)) else np.nan
    for i, s in enumerate(board.solvers):
        cells = [s]
        for j in range(len(board.problems)):
            text = f"{fmt(board.mean[i, j])} ± {fmt(board.std[i, j])} ({fmt(board.rank[i, j])})"
            cells.append(f"[bold]{text}[/bold]" if board.rank[i, j] == np.nanmin(board.rank[:, j]) else text)
        avg = fmt(board.avg_rank[i])
        cells.append(f"[bold]{avg}[/bold]" if board.avg_rank[i] == best_avg else avg)
        table.add_row(*cells)
    return table
