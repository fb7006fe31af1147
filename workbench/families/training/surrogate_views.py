"""The training family's surrogate-gradient view as plain functions: which surrogate and which slope train a
step-activation network best.

A study compares surrogates by declaring one problem per (network, surrogate, slope), as
``studies/surrogate_gradients.py`` does. Each problem's surrogate is read from the study declaration stored
with the results (``problems[i].params``: ``surrogate`` and ``slope``; a slope of None is the kind's
default, resolved by :func:`~workbench.families.training.surrogate_gradients.surrogate_gradient`). Problems are grouped into
**networks**: the registered name of the problem's class, followed by any other parameter that differs
between problems of that class (``binary-mlp-digits(binary_weights=True)``). Problems without a surrogate
are left out.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import xarray as xr

from workbench.families.training.surrogate_gradients import surrogate_gradient
from workbench.families.training.views import SCORES, final_scores, grouped_labels, registered
from workbench.problem import catalog

_OWN = ("surrogate", "slope", "name")


def surrogate_problems(ds: xr.Dataset) -> pd.DataFrame:
    """One row per problem of ``ds`` declared with a surrogate: ``problem``, ``network``, ``kind``,
    ``slope`` (the kind's slope parameter, NaN for the straight-through kinds)."""
    try:
        declared = json.loads(ds.attrs.get("study", "{}")).get("problems", [])
    except (TypeError, ValueError, AttributeError):
        declared = []
    names = {str(p) for p in ds.problem.values}
    found = []
    for d in declared:
        if not isinstance(d, dict):
            continue
        params = d.get("params") or {}
        if d.get("name") not in names or not isinstance(params, dict) or "surrogate" not in params:
            continue
        try:
            slope = surrogate_gradient(params["surrogate"], params.get("slope")).slope
        except Exception:
            continue
        found.append({"problem": d["name"], "cls": registered(str(d.get("class", "")), catalog), "kind": params["surrogate"],
                      "slope": math.nan if slope is None else float(slope),
                      "others": {k: v for k, v in params.items() if k not in _OWN}})
    networks = grouped_labels([r["cls"] for r in found], [r["others"] for r in found])
    rows = [{"problem": r["problem"], "network": n, "kind": r["kind"], "slope": r["slope"]}
            for r, n in zip(found, networks)]
    return pd.DataFrame(rows, columns=["problem", "network", "kind", "slope"])


def surrogate_scores(ds: xr.Dataset) -> pd.DataFrame:
    """One row per cell that ran on a problem with a surrogate: ``problem``, ``network``, ``kind``,
    ``slope``, ``solver``, ``seed``, ``diverged``, ``epochs`` and the final scores :data:`SCORES`."""
    frame = final_scores(ds).merge(surrogate_problems(ds), on="problem", how="inner")
    columns = ["problem", "network", "kind", "slope", "solver", "seed", "diverged", "epochs", *SCORES]
    return frame[columns].sort_values(["network", "kind", "slope", "solver", "seed"], ignore_index=True)


def surrogate_summary(frame: pd.DataFrame, score: str = "test_accuracy") -> pd.DataFrame:
    """Per network, solver, kind and slope: the ``mean``, ``median``, ``lo`` and ``hi`` (min, max) of
    ``score`` over the seeds that did not diverge, ``seeds`` counted and ``diverged`` counted."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, but got {score!r}")
    rows = []
    keys = ["network", "solver", "kind", "slope"]
    for key, group in frame.fillna({"slope": -1.0}).groupby(keys, sort=True):
        ok = group.loc[~group["diverged"], score].to_numpy(dtype=float)
        ok = ok[np.isfinite(ok)]
        stats = (float(ok.mean()), float(np.median(ok)), float(ok.min()), float(ok.max())) if ok.size else (math.nan,) * 4
        row = dict(zip(keys, key))
        row["slope"] = math.nan if row["slope"] == -1.0 else float(row["slope"])
        rows.append({**row, **dict(zip(("mean", "median", "lo", "hi"), stats)), "seeds": int(ok.size),
                     "diverged": int(group["diverged"].sum())})
    return pd.DataFrame(rows, columns=[*keys, "mean", "median", "lo", "hi", "seeds", "diverged"])


def best_per_kind(summary: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Per network, solver and kind: the slope with the best mean, sorted best first within each network."""
    ranked = summary.dropna(subset=["mean"]).sort_values("mean", ascending=not higher_is_better)
    best = ranked.groupby(["network", "solver", "kind"], sort=False).head(1)
    return best.sort_values(["network", "solver", "mean"], ascending=[True, True, not higher_is_better],
                            ignore_index=True)


__all__ = ["best_per_kind", "surrogate_problems", "surrogate_scores", "surrogate_summary"]
