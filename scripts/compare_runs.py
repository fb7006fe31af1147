"""Do two runs of the same study agree? Compares the recorded values of every cell two results files share.

    .venv/bin/python scripts/compare_runs.py RUN_A RUN_B      (run folders or results.nc files)

Prints, per problem and solver, the cells compared and the largest absolute difference of ``value`` (0 when
every evaluation is bit-identical), and the mean final best of each run."""

from __future__ import annotations

import sys

import numpy as np

from workbench.report import final_scores
from workbench.results import load_results


def _steps(ds):
    """Offline results written before the family seam had dim ``candidate`` where every study now has ``step``."""
    return ds.rename(candidate="step") if "candidate" in ds.dims else ds


def main(a: str, b: str) -> int:
    x, y = (_steps(load_results(r)) for r in (a, b))
    same = True
    for p in x.problem.values:
        if p not in y.problem.values:
            continue
        for s in x.solver.values:
            if s not in y.solver.values:
                continue
            seeds = [r for r in x.seed.values if r in y.seed.values]
            u = x["value"].sel(problem=p, solver=s, seed=seeds).values
            v = y["value"].sel(problem=p, solver=s, seed=seeds).values
            equal = np.array_equal(u, v, equal_nan=True)
            same &= equal
            diff = np.nanmax(np.abs(u - v)) if np.isfinite(u - v).any() else 0.0
            fa = float(final_scores(x.sel(problem=[p], solver=[s], seed=seeds), "best").mean())
            fb = float(final_scores(y.sel(problem=[p], solver=[s], seed=seeds), "best").mean())
            print(f"{p:<12} {s:<14} seeds {len(seeds)}  identical {str(equal):<5}  max |diff| {diff:.3g}  "
                  f"mean final best {fa:.6g} / {fb:.6g}")
    print("every shared cell identical" if same else "some cells differ")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
