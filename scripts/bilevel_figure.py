"""Figure of a bilevel study: the upper-level loss of each solver's incumbent against cumulative lower-level
work and against the solver's own seconds (the family's scoring excluded), log scales, one row per problem,
mean over seeds with a band of one standard error.

    .venv/bin/python scripts/bilevel_figure.py runs/bilevel/results.nc docs/figures/bilevel.png
        [--problems tv-denoising,logreg-l2-digits] [--solvers maid,hoag-cubic,bo-gp]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import altair as alt
import xarray as xr

from workbench.browse.views import convergence
from workbench.results import load_results


def figure(ds: xr.Dataset, problems: list[str], solvers: list[str] | None) -> alt.VConcatChart:
    rows = []
    for problem in problems:
        charts = []
        for x, title, log in (("lower_iterations", "lower-level iterations", True),
                              ("solver_seconds", "solver seconds (scoring excluded)", True)):
            frame = convergence(ds, y="best", x=x, solvers=solvers, problems=[problem])
            base = alt.Chart(frame).encode(x=alt.X("x:Q", title=title, scale=alt.Scale(type="log" if log else "linear")),
                                           color=alt.Color("solver:N", scale=alt.Scale(scheme="tableau10")))
            band = base.mark_area(opacity=0.15).encode(y="lo:Q", y2="hi:Q")
            line = base.mark_line().encode(y=alt.Y("mean:Q", title="upper-level loss (incumbent)",
                                                   scale=alt.Scale(type="log")))
            charts.append((band + line).properties(width=340, height=220, title=problem))
        rows.append(alt.hconcat(*charts))
    return alt.vconcat(*rows).configure_legend(orient="bottom", columns=5, title=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("out")
    parser.add_argument("--problems", default="", help="comma-separated problems (default: all)")
    parser.add_argument("--solvers", default="", help="comma-separated solvers (default: all)")
    args = parser.parse_args(argv)
    ds = load_results(args.results)
    problems = [p for p in args.problems.split(",") if p] or [str(p) for p in ds.problem.values]
    chart = figure(ds, problems, [s for s in args.solvers.split(",") if s] or None)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    chart.save(args.out, format="png", scale_factor=1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
