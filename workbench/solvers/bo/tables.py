"""The benchmark table of docs/bo.md, computed from a results Dataset (pure: no files, no printing).

Per (problem, solver): the median over seeds of the final regret (or the regret after a given number of
evaluations), its ratio to the reference solver's median, and seconds per iteration from the recorded
``elapsed`` — over the whole run and the last ten evaluations, or around given numbers of observations."""

from __future__ import annotations

import numpy as np
import xarray as xr

#: the solvers of the BO benchmark (studies/bo_benchmark.py and studies/bo_benchmark_high_dim.py)
BENCHMARK_SOLVERS = ["bo-gp", "bo-turbo", "bo-dkl", "bo-ibnn", "bo-ensemble", "bo-hmc", "bo-sghmc", "bo-laplace",
                     "optuna-gp", "optuna-tpe", "optuna-cmaes", "random"]


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "—"
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e3 else f"{x:.3g}"


def benchmark_tables(ds: xr.Dataset, reference: str = "optuna-gp", *, at: int | None = None,
                     observations: tuple[int, ...] = ()) -> str:
    """Markdown: a regret table (median regret over seeds after the last evaluation, or after ``at``
    evaluations; ``×`` ratio to ``reference``) and a time table (seconds per iteration over the whole run,
    and in brackets over the last ten; with ``observations``, instead the mean time of the ten iterations
    around each of those numbers of observations, e.g. ``(25, 50)``, read from the recorded ``elapsed``)."""
    problems = [str(p) for p in ds.problem.values]
    solvers = [str(s) for s in ds.solver.values]
    n_steps = ds["elapsed"].sizes["step"]
    step = n_steps - 1 if at is None else min(at, n_steps) - 1
    regret = ds["regret"].isel(step=step)  # the regret is a running best
    elapsed = ds["elapsed"]
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

    def window(first: int, last: int) -> xr.DataArray:  # seconds per iteration from step first to step last
        return (elapsed.isel(step=last) - elapsed.isel(step=first)) / max(last - first, 1)

    if observations:
        lasts = [min(n + 4, n_steps - 1) for n in observations]
        spans = [(max(last - 10, 0), last) for last in lasts]
        label = " / ".join(str(n) for n in observations)
        header = [f"{p} s/iter at {label} obs." for p in problems]
    else:
        spans = [(-1, n_steps - 1), (max(n_steps - 11, 0), n_steps - 1)]
        header = [f"{p} s/iter (last 10)" for p in problems]
    lines += ["", "| solver | " + " | ".join(header) + " |", "|---" * (len(problems) + 1) + "|"]
    for s in solvers:
        cells = []
        for p in problems:
            sel = elapsed.sel(problem=p, solver=s)
            values = []
            for first, last in spans:
                if first < 0:  # the whole run: the total over the number of steps
                    values.append(float((sel.isel(step=last) / n_steps).median("seed", skipna=True)))
                else:
                    values.append(float(window(first, last).sel(problem=p, solver=s).median("seed", skipna=True)))
            if not np.isfinite(values[0]):
                cells.append("—")
            elif observations:
                cells.append(" / ".join(_fmt(v) for v in values))
            else:
                cells.append(f"{_fmt(values[0])} ({_fmt(values[1])})")
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
