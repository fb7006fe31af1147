"""Markdown tables of a surrogate-gradient study: final test accuracy (or another score) of every surrogate
and slope on every network, mean ± standard deviation over seeds, and the best slope of each kind.

    .venv/bin/python scripts/surrogate_table.py runs/surrogate-gradients/results.nc [--score test_accuracy]
        [--against clipped-ste]
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
    """``mean ± sd``: ``digits`` decimals (accuracy), or two significant digits (losses) when ``digits`` is 0."""
    values = values[np.isfinite(values)]
    if not values.size:
        return "–"
    sd = values.std(ddof=1) if values.size > 1 else 0.0
    if digits:
        return f"{values.mean():.{digits}f} ± {sd:.{digits}f}"
    return f"{values.mean():.2g} ± {sd:.1g}"


def tables(ds: xr.Dataset, score: str = "test_accuracy", against: str | None = None) -> str:
    frame = surrogate_scores(ds)
    diverged = int(frame["diverged"].sum())
    frame = frame[~frame["diverged"]]  # as the ranking and the dashboard: diverged cells counted apart
    if frame.empty:
        return "no problem of this study declares a surrogate gradient\n"
    digits = 4 if score == "test_accuracy" else 0
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
        ranking = ", ".join(f"{r.kind}{'' if math.isnan(r.slope) else f' ({r.slope:g})'} "
                            + (f"{r.mean:.{digits}f}" if digits else f"{r.mean:.2g}") for r in rows.itertuples())
        lines.append(f"- **{network}**: {ranking}")
    if against:
        lines += paired(frame, score, against, digits)
    return "\n".join(lines) + "\n"


def paired(frame, score: str, against: str, digits: int) -> list[str]:
    """Seed by seed (the same initialization and data order), each setting's ``score`` minus that of the
    kind ``against``: the mean difference and how many seeds it wins, ties and loses."""
    higher = score == "test_accuracy"
    lines = ["", f"Paired against {against} (same seeds): mean difference in {score}, and seeds won / tied / lost:", ""]
    for network in dict.fromkeys(frame["network"]):
        mine = frame[frame["network"] == network]
        base = mine[mine["kind"] == against].set_index("seed")[score]
        if base.empty:
            continue
        parts = []
        for (kind, slope), group in mine[mine["kind"] != against].groupby(["kind", "slope"], dropna=False, sort=True):
            diff = (group.set_index("seed")[score] - base).dropna().to_numpy(dtype=float)
            if not diff.size:
                continue
            better = diff > 0 if higher else diff < 0
            worse = diff < 0 if higher else diff > 0
            label = kind if isinstance(slope, float) and math.isnan(slope) else f"{kind} ({slope:g})"
            mean = f"{diff.mean():+.{digits}f}" if digits else f"{diff.mean():+.2g}"
            parts.append(f"{label} {mean} ({int(better.sum())}/{int((diff == 0).sum())}/{int(worse.sum())})")
        lines.append(f"- **{network}**: " + ", ".join(parts))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--score", default="test_accuracy", choices=SCORES)
    parser.add_argument("--against", default=None, help="a surrogate kind: every setting paired with it, seed by seed")
    args = parser.parse_args(argv)
    sys.stdout.write(tables(xr.load_dataset(args.results), args.score, args.against))
    return 0


if __name__ == "__main__":
    sys.exit(main())
