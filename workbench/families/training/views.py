"""The training family's dashboard views as plain functions: learning-rate sensitivity.

A learning-rate grid is declared as separate solver entries, one per rate, with labels of their own::

    solvers=[SGD(lr=lr, name=f"sgd(lr={lr:g})") for lr in (0.01, 0.1, 1.0)] + [Adam(lr=..., name=...)]

Each solver's rate is read from the study declaration stored with the results (``ds.attrs["study"]``:
``solvers[i].options.lr``, with the solver's class, found again by its label ``solvers[i].name``); a study
read from its storage alone (no results file written yet) has no declaration, and then the rate is read
from the label (``sgd(lr=0.1)``, ``adam(lr=1e-3, beta1=0.8)``). A solver whose rate neither says is left
out of the view (and named by :func:`learning_rates`).

Solvers are grouped into **optimizers**, one line each: the registered name of the solver's class (``sgd``,
``adam``), followed by any other option that differs between solvers of that class
(``sgd(momentum=0.9)``). A cell whose training diverged (a failed step: the training family ends the cell
there) is marked ``diverged``; its final scores are those of its last finite epoch, and :func:`lr_bands`
leaves it out of the median and band and counts it.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

#: the final scores each row of :func:`lr_sensitivity` carries (the training family's metrics)
SCORES = ("train_loss", "gap", "test_loss", "test_accuracy")
_LR = re.compile(r"(?:^|[(,;\s])lr\s*=\s*([-+0-9.eE]+|inf|nan)")
_OPTION = re.compile(r"\s*lr\s*=")


def _declared_solvers(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """The solvers of the study declaration stored with the results, by label (empty when there is none)."""
    try:
        declared = json.loads(ds.attrs.get("study", "{}")).get("solvers", [])
        return {str(s["name"]): s for s in declared if isinstance(s, dict) and "name" in s}
    except (TypeError, ValueError, AttributeError):
        return {}


def registered(class_path: str, registry: Any = None) -> str:
    """The name under which ``registry`` (the solver registry by default) knows the class given as
    ``module.Class`` (the class name when it is not registered or cannot be imported here)."""
    if registry is None:
        from workbench.solver import solvers as registry

    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
        return registry.name_of(cls) or name
    except Exception:
        return name or class_path


def _float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) and out > 0 else math.nan


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def learning_rates(ds: xr.Dataset) -> pd.DataFrame:
    """One row per solver of ``ds``: ``solver`` (label), ``kind`` (registered name of its class),
    ``optimizer`` (the line it belongs to), ``lr`` (NaN when unknown) and ``source`` (``declaration``,
    ``label`` or ``unknown``)."""
    declared = _declared_solvers(ds)
    rows = []
    for label in (str(s) for s in ds.solver.values):
        d = declared.get(label)
        options = dict(d.get("options") or {}) if d else {}
        if d and "lr" in options:
            kind = registered(str(d.get("class", "")))
            rows.append({"solver": label, "kind": kind, "lr": _float(options["lr"]), "source": "declaration",
                         "options": {k: v for k, v in options.items() if k not in ("name", "lr")}})
            continue
        found = _LR.search(label)
        stem = label.split("(", 1)[0].strip() or label
        if found:
            inside = label[len(stem):].strip().removeprefix("(").removesuffix(")")
            rest = [part.strip() for part in re.split(r"[;,]", inside) if part.strip() and not _OPTION.match(part)]
            kind = f"{stem}({', '.join(rest)})" if rest else stem
            rows.append({"solver": label, "kind": kind, "lr": _float(found.group(1)), "source": "label", "options": {}})
        else:
            rows.append({"solver": label, "kind": stem, "lr": math.nan, "source": "unknown", "options": {}})
    frame = pd.DataFrame(rows, columns=["solver", "kind", "lr", "source", "options"])
    frame["optimizer"] = _optimizers(frame)
    return frame[["solver", "optimizer", "kind", "lr", "source"]]


def _optimizers(frame: pd.DataFrame) -> list[str]:
    """Each solver's line: its kind, and the options (other than lr) that differ within the kind."""
    return grouped_labels(list(frame["kind"]), list(frame["options"]))


def grouped_labels(kinds: list[str], options: list[dict[str, Any]]) -> list[str]:
    """For each entry, its kind followed by the options that differ between entries of the same kind:
    ``sgd(momentum=0.9)``, ``binary-mlp-digits(binary_weights=True)``; the bare kind when none differ."""
    out = []
    for kind, mine in zip(kinds, options):
        same = [o for k, o in zip(kinds, options) if k == kind]
        keys = sorted({k for o in same for k in o})
        varying = [k for k in keys if len({repr(o.get(k)) for o in same}) > 1]
        extra = ", ".join(f"{k}={_short(mine.get(k))}" for k in varying)
        out.append(f"{kind}({extra})" if extra else str(kind))
    return out


def _final(ds: xr.Dataset, name: str) -> xr.DataArray | None:
    from workbench.families.training import METRICS

    for m in METRICS:
        if m.name == name:
            try:
                return m.read(ds)
            except KeyError:
                return None
    return None


def final_scores(ds: xr.Dataset) -> pd.DataFrame:
    """One row per cell that ran: ``problem``, ``solver``, ``seed``, ``diverged`` (a failed step),
    ``epochs`` (steps recorded) and the final scores :data:`SCORES` (NaN where not recorded)."""
    columns = ["problem", "solver", "seed", "diverged", "epochs", *SCORES]
    failed = ds["failed"].transpose("problem", "solver", "seed", "step").values
    finals = {s: _final(ds, s) for s in SCORES}
    rows = []
    for i, p in enumerate(ds.problem.values):
        for j, s in enumerate(ds.solver.values):
            for k, seed in enumerate(ds.seed.values):
                ran = failed[i, j, k] >= 0
                if not ran.any():
                    continue
                row = {"problem": str(p), "solver": str(s), "seed": int(seed),
                       "diverged": bool((failed[i, j, k] == 1).any()), "epochs": int(ran.sum())}
                for name, arr in finals.items():
                    row[name] = float(arr.values[i, j, k]) if arr is not None else math.nan
                rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def lr_sensitivity(ds: xr.Dataset) -> pd.DataFrame:
    """The tidy table of the learning-rate view: one row per cell that ran and whose solver's rate is
    known — ``problem``, ``solver``, ``optimizer``, ``kind``, ``lr``, ``seed``, ``diverged`` (a failed
    step), ``epochs`` (steps recorded) and the final scores :data:`SCORES` (NaN where not recorded)."""
    columns = ["problem", "solver", "optimizer", "kind", "lr", "seed", "diverged", "epochs", *SCORES]
    rates = learning_rates(ds)
    rates = rates[np.isfinite(rates["lr"].to_numpy(dtype=float))]
    frame = final_scores(ds).merge(rates[["solver", "optimizer", "kind", "lr"]], on="solver", how="inner")
    return frame[columns].sort_values(["problem", "optimizer", "lr", "seed"], ignore_index=True)


def lr_bands(frame: pd.DataFrame, score: str = "train_loss", band: Literal["minmax", "quartiles"] = "minmax") -> pd.DataFrame:
    """Per problem, optimizer and rate: the ``median`` of ``score`` over the seeds that did not diverge, the
    band ``lo`` .. ``hi`` (min and max, or the quartiles), ``seeds`` (how many count) and ``diverged`` (how
    many diverged). A rate where every seed diverged has a NaN median."""
    if score not in frame.columns:
        raise ValueError(f"score must be one of {SCORES}, but got {score!r}")
    rows = []
    for (problem, optimizer, lr), group in frame.groupby(["problem", "optimizer", "lr"], sort=True):
        ok = group.loc[~group["diverged"], score].to_numpy(dtype=float)
        ok = ok[np.isfinite(ok)]
        if ok.size:
            lo, hi = (ok.min(), ok.max()) if band == "minmax" else tuple(np.quantile(ok, [0.25, 0.75]))
            median = float(np.median(ok))
        else:
            lo = hi = median = math.nan
        rows.append({"problem": problem, "optimizer": optimizer, "lr": float(lr), "median": median, "lo": float(lo),
                     "hi": float(hi), "seeds": int(ok.size), "diverged": int(group["diverged"].sum())})
    return pd.DataFrame(rows, columns=["problem", "optimizer", "lr", "median", "lo", "hi", "seeds", "diverged"])


__all__ = ["SCORES", "final_scores", "grouped_labels", "learning_rates", "lr_bands", "lr_sensitivity", "registered"]
