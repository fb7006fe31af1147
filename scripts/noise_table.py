"""Markdown tables of a noise-search study at equal reward calls: per solver, the pick's reward, held-out
judge and held-out realism where recorded (mean over conditions of the mean over seeds, ± the standard error
over seeds of that mean), ‖ε‖/√d
at the pick, the share of cells whose pick's norm ratio is within 10 % of 1, the solver's own seconds per
cell; then, against a reference solver (best-of-n), on how many conditions each solver's seed-mean reward
and judge are higher.

    .venv/bin/python scripts/noise_table.py runs/reno_digits/results.nc [--at 50,200] [--versus best-of-n]

``--at`` cuts every cell at that many reward calls (its first N steps: one step is one reward call).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import xarray as xr

from workbench.families.noise import at_pick
from workbench.results import load_results


def _cut(ds: xr.Dataset, at: int) -> xr.Dataset:
    return ds.isel(step=slice(0, min(at, ds.sizes["step"])))


def _mean_se(arr: xr.DataArray) -> str:
    per_seed = arr.mean("problem", skipna=True).values  # a seed's mean over the conditions
    per_seed = per_seed[np.isfinite(per_seed)]
    if not per_seed.size:
        return "—"
    se = per_seed.std(ddof=1) / np.sqrt(per_seed.size) if per_seed.size > 1 else 0.0
    return f"{per_seed.mean():.3f} ± {se:.3f}"


def table(ds: xr.Dataset, at: int, versus: str) -> str:
    d = _cut(ds, at)
    reward, judge = at_pick(d, "value"), at_pick(d, "judge") if "judge" in d else None
    realism = at_pick(d, "heldout_realism") if "heldout_realism" in d else None
    ratio = at_pick(d, "norm_ratio")
    secs = d["cost"].sel(axis="solver_seconds").max("step") if "solver_seconds" in d["axis"].values else None
    reached = (d["failed"] >= 0).sum("step")
    lines = [f"**At {at} reward calls** ({d.sizes['problem']} conditions x {d.sizes['seed']} seeds)", "",
             "| solver | reward of the pick | held-out judge | realism | ‖ε‖/√d | within 10 % of 1 | seconds / cell | "
             f"reward > {versus} | judge > {versus} |", "|---|---|---|---|---|---|---|---|---|"]
    ref_r = reward.sel(solver=versus).mean("seed") if versus in d.solver.values else None
    ref_j = judge.sel(solver=versus).mean("seed") if versus in d.solver.values and judge is not None else None
    for s in d.solver.values:
        short = int((reached.sel(solver=s) < at).sum())
        name = f"{s}{'*' if short else ''}"
        r = reward.sel(solver=s)
        wins_r = f"{int((r.mean('seed') > ref_r).sum())}/{d.sizes['problem']}" if ref_r is not None and s != versus else ""
        wins_j = ""
        if ref_j is not None and s != versus:
            wins_j = f"{int((judge.sel(solver=s).mean('seed') > ref_j).sum())}/{d.sizes['problem']}"
        rat = ratio.sel(solver=s).values
        within = np.mean(np.abs(rat[np.isfinite(rat)] - 1) <= 0.1) if np.isfinite(rat).any() else np.nan
        sec = f"{float(secs.sel(solver=s).mean()):.2f}" if secs is not None else "—"
        real = _mean_se(realism.sel(solver=s)) if realism is not None else "—"
        lines.append(f"| {name} | {_mean_se(r)} | {_mean_se(judge.sel(solver=s)) if judge is not None else '—'} | {real} | "
                     f"{float(np.nanmean(rat)):.2f} | {within:.0%} | {sec} | {wins_r} | {wins_j} |")
    lines.append("")
    if any(int((reached.sel(solver=s) < at).sum()) for s in d.solver.values):
        lines.append("`*`: some cells of this solver have fewer recorded steps than that (not run that far).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--at", default="50,200", help="reward calls to cut at, comma-separated")
    parser.add_argument("--versus", default="best-of-n", help="the solver wins are counted against")
    args = parser.parse_args(argv)
    try:
        ats = [int(a) for a in args.at.split(",") if a.strip()]
    except ValueError:
        print(f"noise_table: --at must be integers separated by commas, but got {args.at!r}", file=sys.stderr)
        return 2
    ds = load_results(args.results)
    for at in ats:
        print(table(ds, at, args.versus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
