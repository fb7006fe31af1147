"""Figures of the SSO benchmark: the training-loss gap against expensive calls and against training wall time,
each method at its best setting (as in scripts/sso_table.py), mean over seeds with a band of one standard error.

    .venv/bin/python scripts/sso_figure.py runs/sso/results.nc logreg-breast-cancer-b125 docs/figures/sso-breast-cancer-b125.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import altair as alt
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sso_table import best_settings  # noqa: E402

from workbench.browse.views import convergence  # noqa: E402


def figure(ds: xr.Dataset, problem: str, methods: list[str] | None = None) -> alt.HConcatChart:
    chosen = best_settings(ds, problem)
    if methods:
        chosen = {m: s for m, s in chosen.items() if m in methods}
    labels = {s: m for m, s in chosen.items()}
    charts = []
    for x, title in (("oracle_calls", "expensive oracle calls"), ("train_seconds", "training seconds")):
        frame = convergence(ds, y="log10 regret", x=x, solvers=list(labels), problems=[problem])
        frame["method"] = frame["solver"].map(labels)
        base = alt.Chart(frame).encode(x=alt.X("x:Q", title=title, scale=alt.Scale(type="log")),
                                       color=alt.Color("method:N"))
        band = base.mark_area(opacity=0.2).encode(y="lo:Q", y2="hi:Q")
        line = base.mark_line().encode(y=alt.Y("mean:Q", title="log10 (F - f*), best so far"))
        charts.append((band + line).properties(width=360, height=260))
    return alt.hconcat(*charts).properties(title=f"{problem}: each method at its best setting")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("problem")
    parser.add_argument("out")
    parser.add_argument("--methods", default="", help="comma-separated methods (default: all)")
    args = parser.parse_args(argv)
    ds = xr.load_dataset(args.results)
    chart = figure(ds, args.problem, [m for m in args.methods.split(",") if m] or None)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    chart.save(args.out, format="png", scale_factor=1.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
