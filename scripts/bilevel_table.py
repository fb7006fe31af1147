"""Markdown tables of a bilevel study: each solver's upper-level loss (its incumbent) at equal lower-level
work, the test metric and the solver's own seconds (scoring excluded) at the last amount, mean ± sd over
seeds.

    .venv/bin/python scripts/bilevel_table.py runs/bilevel/results.nc [--at 1000,3000,10000]
        [--axis lower_iterations]

A cell that had not spent an amount when it stopped (it failed, or is still running) still counts with its
incumbent; ``*`` marks the amounts some of its seeds did not reach. A finished cell reached its budget (it
ends after its last whole step, within one step of it).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from workbench.families.bilevel.views import at_work
from workbench.results import load_results

METRICS = ("psnr", "test_accuracy", "theta_error")


def _cell(values: pd.Series, fmt: str = ".4g") -> str:
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "–"
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    return f"{v.mean():{fmt}} ± {sd:.2g}" + ("" if v.size == len(values) else f" ({v.size}/{len(values)})")


def tables(ds, amounts: list[float], axis: str) -> str:
    frame = at_work(ds, amounts, axis=axis, metrics=METRICS)
    seeds = frame["seed"].nunique()
    lines = []
    for problem, part in frame.groupby("problem", sort=False):
        last = part[part["at"] == amounts[-1]]
        metrics = [m for m in METRICS if m in last and np.isfinite(last[m].to_numpy(dtype=float)).any()]
        optimum = float(ds["optimum"].sel(problem=problem))
        head = [f"{axis} ≤ {a:g}" for a in amounts] + [f"{m} @ {amounts[-1]:g}" for m in metrics] + ["seconds"]
        lines += [f"**{problem}**: upper-level loss of the incumbent, mean ± sd over {seeds} seeds"
                  + (f" (optimum {optimum:.6g})" if np.isfinite(optimum) else ""), "",
                  "| solver | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        for solver, rows in part.groupby("solver", sort=False):
            cells = []
            for a in amounts:
                at = rows[rows["at"] == a]
                cells.append(_cell(at["value"]) + ("" if at["reached"].all() else " *"))
            end = rows[rows["at"] == amounts[-1]]
            cells += [_cell(end[m]) for m in metrics] + [_cell(end["seconds"], ".3g")]
            lines.append(f"| {solver} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--at", default="1000,3000,10000", help="comma-separated amounts of the axis")
    ap.add_argument("--axis", default="lower_iterations")
    args = ap.parse_args(argv)
    try:
        amounts = sorted(float(a) for a in args.at.split(",") if a.strip())
    except ValueError:
        print(f"bilevel_table: --at must be comma-separated numbers, but got {args.at!r}", file=sys.stderr)
        return 2
    ds = load_results(args.results)
    if args.axis not in ds.coords["axis"].values:
        print(f"bilevel_table: the study records no axis {args.axis!r} (it has {list(ds.axis.values)})",
              file=sys.stderr)
        return 2
    print(tables(ds, amounts, args.axis))
    return 0


if __name__ == "__main__":
    sys.exit(main())
