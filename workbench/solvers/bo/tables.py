"""The benchmark table of docs/bo.md, computed from a results Dataset (pure: no files, no printing).

Per (problem, solver): the median over seeds of the final regret, its ratio to the reference solver's
median, and seconds per iteration from the recorded ``elapsed`` — over the whole run, and over the last
ten evaluations (the cost of an iteration at 40-50 observations)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "—"
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e3 else f"{x:.3g}"


def benchmark_tables(ds: xr.Dataset, reference: str = "optuna-gp") -> str:
    """Markdown: a regret table (median final regret, ``×`` ratio to ``reference``) and a time table."""
    problems = [str(p) for p in ds.problem.values]
    solvers = [str(s) for s in ds.solver.values]
    regret = ds["regret"].isel(step=-1)  # the regret is a running best: the last step is the final one
    elapsed = ds["elapsed"]
    n_steps = elapsed.sizes["step"]
    per_iter = elapsed.isel(step=-1) / n_steps
    late = (elapsed.isel(step=-1) - elapsed.isel(step=max(n_steps - 11, 0))) / min(10, n_steps - 1)
    seeds = (~np.isnan(regret)).sum("seed")
    med = regret.median("seed", skipna=True)
    lines = ["| solver | " + " | ".join(problems) + " |", "|---" * (len(problems) + 1) + "|"]
    for s in solvers:
        cells = []
        for p in problems:
            m = float(med.sel(problem=p, solver=s))
            ref = float(med.sel(problem=p, solver=reference)) if reference in solvers else float("nan")
            n = int(seeds.sel(problem=p, solver=s))
            ratio = f" ({_fmt(m / ref)}×)" if np.isfinite(ref) and ref > 0 and np.isfinite(m) else ""
            cells.append(f"{_fmt(m)}{ratio} [{n}]" if n else "—")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += ["", "| solver | " + " | ".join(f"{p} s/iter (last 10)" for p in problems) + " |",
              "|---" * (len(problems) + 1) + "|"]
    for s in solvers:
        cells = []
        for p in problems:
            a = float(per_iter.sel(problem=p, solver=s).median("seed", skipna=True))
            b = float(late.sel(problem=p, solver=s).median("seed", skipna=True))
            cells.append(f"{_fmt(a)} ({_fmt(b)})" if np.isfinite(a) else "—")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def boundary_share(U: np.ndarray, n_initial: int, *, tol: float = 1e-3) -> float:
    """The share of coordinates within ``tol`` of a bound among the proposals after the initial design:
    ``U`` is ``n x d`` in the unit cube (``Space.to_unit``), in step order. High-dimensional BO whose
    surrogate is most uncertain in the corners proposes there; this measures how often it did."""
    later = np.asarray(U)[n_initial:]
    if later.size == 0:
        return float("nan")
    return float(np.mean((later < tol) | (later > 1 - tol)))
