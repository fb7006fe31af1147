"""Markdown tables of a surrogate-gradient study: final test accuracy (or another score) of every surrogate
and slope on every network, mean ± standard deviation over seeds, and the best slope of each kind.

    .venv/bin/python scripts/surrogate_table.py runs/surrogate-gradients/results.nc [--score test_accuracy]
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import xarray as xr

from workbench.families.training.surrogate_views import best_per_kind, surrogate_scores, surrogate_summary
from workbench.families.training.views import SCORES


def _cell(values: np.ndarray, digits: int) -> str:
    values = values[np.isfinite(values)]
    if not values.size:
        return "–"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1) if values.size > 1 else 0:.{digits}f}"


def tables(ds: xr.Dataset, score: str = "test_accuracy") -> str:
    frame = surrogate_scores(ds)
    diverged = int(frame["diverged"].sum())
    frame = frame[~frame["diverged"]]  # as the ranking and the dashboard: diverged cells counted apart
    if frame.empty:
        return "no problem of this study declares a surrogate gradient\n"
    digits = 4 if score == "test_accuracy" else 3
    networks = list(dict.fromkeys(frame["network"]))
    lines = [f"Final {score}, mean ± sd over {frame['seed'].nunique()} seeds ({diverged} diverged cells left out):", "",
             "| surrogate | slope | " + " | ".join(networks) + " |", "|---|---|" + "---|" * len(networks)]
    keys = frame[["kind", "slope"]].drop_duplicates().sort_values(["kind", "slope"], na_position="first")
    for _, (kind, slope) in keys.iterrows():
        same = frame["kind"] == kind
        same &= frame["slope"].isna() if math.isnan(slope) else frame["slope"] == slope
        cells = [_cell(frame.loc[same & (frame["network"] == n), score].to_numpy(dtype=float), digits) for n in networks]
        lines.append(f"| {kind} | {'–' if math.isnan(slope) else f'{slope:g}'} | " + " | ".join(cells) + " |")
    best = best_per_kind(surrogate_summary(frame, score), higher_is_better=score == "test_accuracy")
    lines += ["", "Best slope of each surrogate (by the mean), best first:", ""]
    for network in networks:
        rows = best[best["network"] == network]
        ranking = ", ".join(f"{r.kind}{'' if math.isnan(r.slope) else f' ({r.slope:g})'} {r.mean:.{digits}f}"
                            for r in rows.itertuples())
        lines.append(f"- **{network}**: {ranking}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--score", default="test_accuracy", choices=SCORES)
    args = parser.parse_args(argv)
    sys.stdout.write(tables(xr.load_dataset(args.results), args.score))
    return 0


if __name__ == "__main__":
    sys.exit(main())
