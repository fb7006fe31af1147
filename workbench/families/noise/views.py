"""What the noise-search page draws, computed from a results Dataset and its cells' artifacts: the reward of
each solver's pick against reward calls with seed bands, ‖ε‖/√d over the steps, the optimized reward's gain
against the held-out judge's (reward hacking shows as a gap), and image grids of each cell's first and
picked images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr


def _running_pick(observed: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """For every step, the index of the pick so far (the highest observed reward; -1 before the first)."""
    out = np.full(observed.shape, -1, dtype=int)
    best, at = -np.inf, -1
    for i, (v, f) in enumerate(zip(observed, failed)):
        if f == 0 and np.isfinite(v) and v > best:
            best, at = v, i
        out[i] = at
    return out


def pick_curves(ds: xr.Dataset, variables: Sequence[str] = ("value", "judge")) -> pd.DataFrame:
    """Per cell and step: cumulative reward calls and each of ``variables`` at the pick so far (``value`` is
    the clean reward). Columns ``problem, solver, seed, step, reward_calls, <variables>``."""
    rows: list[dict[str, Any]] = []
    calls = ds["cost"].sel(axis="reward_calls") if "cost" in ds and "reward_calls" in ds["axis"].values else None
    present = [v for v in variables if v in ds]
    for p in ds.problem.values:
        for s in ds.solver.values:
            for seed in ds.seed.values:
                cell = ds.sel(problem=p, solver=s, seed=seed)
                failed = cell["failed"].values
                n = int((failed >= 0).sum())
                if n == 0:
                    continue
                at = _running_pick(cell["observed"].values[:n], failed[:n])
                spent = calls.sel(problem=p, solver=s, seed=seed).values[:n] if calls is not None else np.arange(1, n + 1)
                arrays = {v: cell[v].values[:n] for v in present}
                for i in range(n):
                    if at[i] < 0:
                        continue
                    row = {"problem": str(p), "solver": str(s), "seed": int(seed), "step": i,
                           "reward_calls": float(spent[i])}
                    row.update({v: float(arrays[v][at[i]]) for v in present})
                    rows.append(row)
    return pd.DataFrame(rows, columns=["problem", "solver", "seed", "step", "reward_calls", *present])


def bands(frame: pd.DataFrame, variable: str, by: Sequence[str] = ("solver",)) -> pd.DataFrame:
    """Mean over seeds (and over the problems in ``frame``) of ``variable`` per reward-call count, with a band
    of ± one standard error over seeds: columns ``*by, reward_calls, mean, low, high, n``."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, "reward_calls", "mean", "low", "high", "n"])
    per_seed = frame.groupby([*by, "seed", "reward_calls"], as_index=False)[variable].mean()
    g = per_seed.groupby([*by, "reward_calls"])[variable]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    se = (out["sd"] / np.sqrt(out["n"])).fillna(0.0)
    return out.assign(low=out["mean"] - se, high=out["mean"] + se).drop(columns="sd")


def norm_paths(ds: xr.Dataset) -> pd.DataFrame:
    """‖ε‖/√d of every scored image, step by step: ``problem, solver, seed, step, norm_ratio``."""
    arr = ds["norm_ratio"].to_dataframe().reset_index()[["problem", "solver", "seed", "step", "norm_ratio"]]
    return arr[np.isfinite(arr["norm_ratio"])].reset_index(drop=True)


def hacking(ds: xr.Dataset) -> pd.DataFrame:
    """Per cell, the gain of the pick over the cell's first successful image on the optimized reward and on
    the held-out judge: ``problem, solver, seed, reward_gain, judge_gain`` (a reward gain with no judge gain
    is hacking)."""
    from workbench.families.noise import at_pick

    columns = ["problem", "solver", "seed", "reward_gain", "judge_gain"]
    if "judge" not in ds:
        return pd.DataFrame(columns=columns)
    reward, judge = at_pick(ds, "value"), at_pick(ds, "judge")
    value = ds["value"].transpose("problem", "solver", "seed", "step").values
    held = ds["judge"].transpose("problem", "solver", "seed", "step").values
    failed = ds["failed"].transpose("problem", "solver", "seed", "step").values
    rows = []
    for idx in np.ndindex(*value.shape[:-1]):
        ok = np.flatnonzero((failed[idx] == 0) & np.isfinite(value[idx]))
        if not ok.size:
            continue
        p, s, seed = (ds[d].values[i] for d, i in zip(("problem", "solver", "seed"), idx))
        rows.append({"problem": str(p), "solver": str(s), "seed": int(seed),
                     "reward_gain": float(reward.values[idx] - value[idx][ok[0]]),
                     "judge_gain": float(judge.values[idx] - held[idx][ok[0]])})
    return pd.DataFrame(rows, columns=columns).dropna().reset_index(drop=True)


def image_pair(artifacts: pd.DataFrame, read: Callable[[str, str, str], Any]) -> tuple[Any, Any]:
    """A cell's first image and its pick's (the last image kept: the family keeps one at the first step and
    at every new pick), as arrays ``H x W x C`` of bytes; None where not recorded."""
    images = artifacts[artifacts["name"] == "image"].sort_values("step")
    if images.empty:
        return None, None
    first, last = images.iloc[0], images.iloc[-1]
    pair = [np.asarray(read(r.artifact_id, r.filename, r.mimetype)) for r in (first, last)]
    return (pair[0] if int(first.step) == 0 else None), pair[1]


def grid(pairs: dict[tuple[str, str], tuple[Any, Any]], problems: Sequence[str], solvers: Sequence[str],
         scale: int = 1) -> np.ndarray:
    """One picture of image pairs: a row per problem, per solver a column pair (first | pick), a blank pixel
    column between solvers. Images are bytes ``H x W x C`` of one size; missing ones are mid-grey."""
    sample = next((im for pair in pairs.values() for im in pair if im is not None), None)
    if sample is None:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    h, w = sample.shape[:2]
    rows = []
    for p in problems:
        cols = []
        for s in solvers:
            first, pick = pairs.get((p, s), (None, None))
            for im in (first, pick):
                cols.append(_rgb(im, h, w))
            cols.append(np.full((h, 1, 3), 255, dtype=np.uint8))
        rows.append(np.concatenate(cols[:-1], axis=1))
        rows.append(np.full((1, rows[-1].shape[1], 3), 255, dtype=np.uint8))
    out = np.concatenate(rows[:-1], axis=0)
    return out.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else out


def _rgb(image: Any, h: int, w: int) -> np.ndarray:
    if image is None or image.shape[:2] != (h, w):
        return np.full((h, w, 3), 128, dtype=np.uint8)
    image = np.asarray(image, dtype=np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]


__all__ = ["bands", "grid", "hacking", "image_pair", "norm_paths", "pick_curves"]
