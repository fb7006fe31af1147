"""Tables of the SSO benchmark (studies/sso.py) from its results, in Markdown.

    .venv/bin/python scripts/sso_table.py runs/sso/results.nc [--problems a,b] [--thresholds 1e-2,1e-3]

Per problem, per method (a solver with its learning rate or ``eta`` taken out: ``sso(m=10)``, ``sgd``), the
setting with the lowest mean final training loss over seeds (the paper's selection; a setting with a failed
seed is out), then, mean ± std over seeds:

* the gap ``F - f*`` after the last epoch, and at equal expensive-oracle calls (the calls SGD spends in 10
  and 30 epochs: each cell's last epoch within that many calls);
* oracle calls, model passes and training seconds spent in all epochs;
* final test accuracy, and the optimizer's state in bytes;
* for each threshold: the oracle calls, seconds (and environment steps, where recorded) until the training
  loss gap first fell to the threshold (median over seeds; ``—`` when a seed never got there).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import defaultdict

import numpy as np
import xarray as xr

SETTING = re.compile(r"(?<![A-Za-z_])(lr|eta)=[^;)]*;?")


def method_of(label: str) -> str:
    """``sso(m=10;eta=1)`` -> ``sso(m=10)``; ``sgd(lr=0.1)`` -> ``sgd``."""
    base = SETTING.sub("", label).replace(";)", ")").rstrip(";")
    return base.replace("()", "")


def _fmt(values: np.ndarray, digits: int = 3) -> str:
    values = values[np.isfinite(values)]
    if not values.size:
        return "—"
    mean, std = float(values.mean()), float(values.std())
    return f"{mean:.{digits}g} ± {std:.1g}" if values.size > 1 else f"{mean:.{digits}g}"


def _at(curve: np.ndarray, x: np.ndarray, limit: float) -> float:
    """The curve's value at the last step whose x is within ``limit`` (NaN before the first step)."""
    ok = np.isfinite(x) & (x <= limit + 1e-9)
    return float(curve[ok][-1]) if ok.any() else math.nan


def _first(x: np.ndarray, gap: np.ndarray, threshold: float) -> float:
    hit = np.flatnonzero(np.isfinite(gap) & (gap <= threshold))
    return float(x[hit[0]]) if hit.size else math.nan


def _groups(sub: xr.Dataset) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for label in map(str, sub.solver.values):
        if np.isfinite(sub["value"].sel(solver=label).values).any() or int(sub["failed"].sel(solver=label).max()) == 1:
            groups[method_of(label)].append(label)
    return groups


def _best(sub: xr.Dataset, groups: dict[str, list[str]]) -> list[tuple[str, str, dict[str, float]]]:
    """Per method: the setting with the lowest mean final training loss (inf where a seed failed)."""
    out = []
    for method, labels in groups.items():
        finals = {}
        for label in labels:
            v = sub["value"].sel(solver=label).values
            last = np.array([row[np.isfinite(row)][-1] if np.isfinite(row).any() else np.nan for row in v])
            failed = bool((sub["failed"].sel(solver=label).values == 1).any())
            finals[label] = math.inf if failed or not np.isfinite(last).all() else float(last.mean())
        out.append((method, min(finals, key=finals.get), finals))
    return out


def best_settings(ds: xr.Dataset, problem: str) -> dict[str, str]:
    """Method -> the label of its best setting on ``problem``."""
    sub = ds.sel(problem=problem)
    return {method: best for method, best, _ in _best(sub, _groups(sub))}


def table(ds: xr.Dataset, problem: str, thresholds: list[float], per_epoch: float | None = None) -> str:
    sub = ds.sel(problem=problem)
    optimum = float(sub["optimum"])
    known = math.isfinite(optimum)
    target = sub["value"] - optimum if known else sub["value"]
    axes = [str(a) for a in ds["axis"].values]
    groups = _groups(sub)
    for label in groups.get("sgd", []) if per_epoch is None else []:
        calls = sub["cost"].sel(solver=label, axis="oracle_calls").values
        per_epoch = float(calls[0, 0])
        break
    rows = []
    for method, best, finals in _best(sub, groups):
        cell = sub.sel(solver=best)
        gap = target.sel(solver=best).values
        calls = cell["cost"].sel(axis="oracle_calls").values
        secs = cell["cost"].sel(axis="train_seconds").values
        env = cell["cost"].sel(axis="env_steps").values if "env_steps" in axes else None
        last = lambda a: np.array([r[np.isfinite(r)][-1] if np.isfinite(r).any() else np.nan for r in a])  # noqa: E731
        row = {"method": method, "setting": best if finals[best] < math.inf else f"{best} (all settings failed)",
               "gap": _fmt(last(gap))}
        if per_epoch:
            for epochs in (10, 30):
                row[f"gap@{epochs}"] = _fmt(np.array([_at(g, c, epochs * per_epoch) for g, c in zip(gap, calls)]))
        row["calls"] = _fmt(last(calls), 4)
        row["passes"] = _fmt(last(cell["cost"].sel(axis="model_passes").values), 4)
        row["seconds"] = _fmt(last(secs), 2)
        if "test_accuracy" in cell:
            row["test acc"] = _fmt(last(cell["test_accuracy"].values), 4)
        if "optimizer_bytes" in cell:
            row["state B"] = _fmt(last(cell["optimizer_bytes"].values), 4)
        for t in thresholds:
            for name, x in (("calls", calls), ("s", secs), ("env", env)):
                if x is None:
                    continue
                hits = np.array([_first(xx, g, t) for xx, g in zip(x, gap)])
                row[f"{name} to {t:g}"] = f"{np.median(hits):.3g}" if np.isfinite(hits).all() else "—"
        rows.append(row)
    rows.sort(key=lambda r: (float(r["gap"].split(" ")[0]) if r["gap"] != "—" else math.inf))
    head = list(rows[0]) if rows else []
    what = "gap F - f*" if known else "training loss (no f*: non-convex)"
    lines = [f"**{problem}** ({what}; f* = {optimum:.10g})" if known else f"**{problem}** ({what})", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(r.get(h, "")) for h in head) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--problems", default="")
    parser.add_argument("--thresholds", default="1e-2,1e-3")
    parser.add_argument("--calls-per-epoch", type=float, default=None,
                        help="SGD's calls per epoch, for the equal-calls columns of a part run without SGD")
    args = parser.parse_args(argv)
    try:
        ds = xr.load_dataset(args.results)
    except (OSError, ValueError) as e:
        print(f"sso_table: cannot read {args.results}: {e}", file=sys.stderr)
        return 2
    problems = [p for p in args.problems.split(",") if p] or [str(p) for p in ds.problem.values]
    unknown = [p for p in problems if p not in set(map(str, ds.problem.values))]
    if unknown:
        print(f"sso_table: {args.results} has no problems {unknown}", file=sys.stderr)
        return 2
    thresholds = [float(t) for t in args.thresholds.split(",") if t]
    for p in problems:
        print(table(ds, p, thresholds, args.calls_per_epoch))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
