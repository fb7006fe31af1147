"""Results: one ``xarray.Dataset`` per study, built here and only here, for ``results.nc`` and for the
dashboard's live view alike, and written atomically.

Dims ``problem, solver, seed, step``. Variables:

* ``value``   — the step's value (NaN where it failed or has not run);
* ``best``    — best value so far in the problem's direction (failed steps skipped);
* ``regret``  — ``|best - optimum|`` where the problem's optimum is known, else NaN;
* ``elapsed`` — seconds of the cell's wall time when the step finished;
* ``failed``  — 1 where the step failed, 0 where it succeeded, -1 where it has not run;
* ``optimum`` (problem) and ``direction`` (problem);
* ``cost`` (problem, solver, seed, step, axis) — cumulative cost on each cost axis, where there are any;
* one variable per scalar metric the steps recorded (e.g. ``test_loss``);
* the family's per-problem variables and whatever its :meth:`~workbench.family.Family.extend` adds
  (the offline family: ``y_min``, ``y_max``, ``normalized``, ``percentile``).

Attributes: ``study`` (the declaration, JSON), ``versions`` (JSON), ``storage`` (URL, password removed),
``family``, ``budget`` (JSON).

The Dataset is assembled from a :class:`Layout` (which problems, solvers and seeds; what each problem is)
and one :class:`Series` per cell. A layout comes from a study declaration (:func:`layout_of`) or, for a
study whose file is not at hand, from what every cell's Optuna study carries (:func:`cell_meta`,
:func:`layout_from_cells`): the same builder either way.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.budget import Budget, finished
from workbench.cell import NOTES, RESERVED
from workbench.errors import ResultsError
from workbench.family import find_family, module_of
from workbench.recorder import Store, kept_trials, redact
from workbench.study import Cell, Study

RESULTS_FILE = "results.nc"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("workbench", "torch", "botorch", "gpytorch", "optuna", "xarray", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def best_so_far(values: np.ndarray, direction: str) -> np.ndarray:
    """Running best along the last axis, skipping NaN (NaN until the first finite value)."""
    sign = 1.0 if direction == "minimize" else -1.0
    filled = np.where(np.isnan(values), np.inf, sign * values)
    best = np.minimum.accumulate(filled, axis=-1)
    return np.where(np.isinf(best), np.nan, sign * best)


# --------------------------------------------------------------------------------------------- one cell
@dataclass
class Series:
    """One cell's recorded steps: ``value``, ``elapsed``, ``failed`` (1 / 0 / -1 not run), per-step
    ``costs`` by axis and ``metrics`` by name, all of one length."""

    value: np.ndarray
    elapsed: np.ndarray
    failed: np.ndarray
    costs: dict[str, np.ndarray] = field(default_factory=dict)
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    #: the cell is finished under the study's budget (:func:`workbench.budget.finished`)
    finished: bool = False
    #: what the solver put on record (:attr:`workbench.solver.CellContext.notes`)
    notes: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def of_trials(cls, trials: list[Any]) -> Series:
        """From a cell's Optuna trials (de-duplicated by :func:`workbench.recorder.kept_trials`)."""
        kept = kept_trials(trials)
        n = max(kept) + 1 if kept else 0
        value, elapsed, failed = np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1, dtype=np.int8)
        costs: dict[str, np.ndarray] = {}
        metrics: dict[str, np.ndarray] = {}
        for step, t in kept.items():
            ok = t.state.name == "COMPLETE" and t.value is not None
            failed[step] = 0 if ok else 1
            value[step] = t.value if ok else math.nan
            elapsed[step] = float(t.user_attrs.get("elapsed", math.nan))
            for table, attr, fill in ((costs, "costs", 0.0), (metrics, "metrics", math.nan)):
                for name, v in (t.user_attrs.get(attr) or {}).items():
                    table.setdefault(str(name), np.full(n, fill))[step] = float(v)
        return cls(value, elapsed, failed, costs, metrics)

    @classmethod
    def not_read(cls, steps: int, finished: bool) -> Series:
        """A cell known from the storage's list of studies only (no trials read): every step run when it is
        finished, the first otherwise; values unknown. Enough to count cells."""
        failed = np.full(steps, -1, dtype=np.int8)
        failed[: steps if finished else 1] = 0
        return cls(np.full(steps, np.nan), np.full(steps, np.nan), failed, finished=finished)

    @classmethod
    def of_dataset(cls, ds: xr.Dataset, problem: str, solver: str, seed: int) -> Series:
        """A cell as a results Dataset holds it (per-step costs recovered from the cumulative ones)."""
        cell = ds.sel(problem=problem, solver=solver, seed=seed)
        costs = {}
        if "cost" in ds:
            for axis in ds.axis.values:
                cum = np.nan_to_num(cell["cost"].sel(axis=axis).values, nan=0.0)
                costs[str(axis)] = np.diff(cum, prepend=0.0)
        metrics = {m: cell[m].values for m in ds.attrs.get("metrics", "").split(",") if m and m in ds}
        done = bool(cell["finished"].values) if "finished" in ds else False
        notes = json.loads(ds.attrs.get("notes") or "{}").get(cell_name(problem, solver, seed), {})
        return cls(cell["value"].values, cell["elapsed"].values, cell["failed"].values.astype(np.int8), costs, metrics,
                   done, notes)


# --------------------------------------------------------------------------------------------- the study
@dataclass
class Layout:
    """What a results Dataset is made of, besides the cells' series."""

    name: str
    family: str
    family_module: str
    problems: list[str]
    directions: list[str]
    optima: list[float]
    solvers: list[str]
    seeds: list[int]
    budget: Budget | None = None
    axes: tuple[str, ...] = ()
    #: per-problem numbers of the family (name -> one value per problem)
    variables: dict[str, list[float]] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


def cell_name(problem: str, solver: str, seed: int) -> str:
    """A cell's key in ``ds.attrs["notes"]``: ``problem/solver/seed``."""
    return f"{problem}/{solver}/{int(seed)}"


def cell_meta(study: Study, cell: Cell) -> dict[str, Any]:
    """What a cell's Optuna study carries about its study and problem (attribute ``workbench``): enough
    for :func:`layout_from_cells` to rebuild the study's Dataset from the storage alone."""
    p = cell.problem
    order = [study.problems.index(p), study.solvers.index(cell.solver), study.seeds.index(cell.seed)]
    return {
        "study": study.name, "problem": p.name, "solver": cell.solver.label, "seed": cell.seed, "order": order,
        "budget": study.budget.describe(), "family": study.family.name, "family_module": module_of(study.family),
        "axes": list(study.axes),
        "direction": p.direction, "optimum": p.optimum,
        "variables": {k: float(v) for k, v in study.family.problem_variables(p).items()},
    }


def layout_of(study: Study, storage: str = "") -> Layout:
    """A study declaration's layout."""
    variables: dict[str, list[float]] = {}
    for i, p in enumerate(study.problems):
        for k, v in study.family.problem_variables(p).items():
            variables.setdefault(k, [math.nan] * len(study.problems))[i] = float(v)
    return Layout(
        name=study.name, family=study.family.name, family_module=module_of(study.family), problems=[p.name for p in study.problems],
        directions=[p.direction for p in study.problems],
        optima=[math.nan if p.optimum is None else float(p.optimum) for p in study.problems],
        solvers=[s.label for s in study.solvers], seeds=list(study.seeds), budget=study.budget, axes=study.axes,
        variables=variables,
        attrs={"study": json.dumps(study.describe(), default=_jsonable), "versions": json.dumps(versions()),
               "storage": redact(storage)},
    )


def layout_from_cells(metas: list[Mapping[str, Any]], base: xr.Dataset | None = None) -> Layout:
    """The layout the cells' attributes describe (see :func:`cell_meta`), over ``base`` (an earlier results
    Dataset of the same study, or None): its problems, solvers and seeds first, then any new ones."""
    def order(old: list[Any], new: list[Any]) -> list[Any]:
        return list(dict.fromkeys([*old, *new]))

    def declared(field: str, axis: int, cast: Any) -> list[Any]:
        """The cells' names of one dim in the study's declared order (cells say where they stand)."""
        ranked = sorted(metas, key=lambda m: (list(m.get("order") or [0, 0, 0])[axis], str(m[field])))
        return [cast(m[field]) for m in ranked]

    problems = order([str(p) for p in base.problem.values] if base is not None else [], declared("problem", 0, str))
    solvers = order([str(s) for s in base.solver.values] if base is not None else [], declared("solver", 1, str))
    seeds = order([int(s) for s in base.seed.values] if base is not None else [], declared("seed", 2, int))
    about: dict[str, dict[str, Any]] = {}
    if base is not None:
        for i, p in enumerate(base.problem.values):
            about[str(p)] = {"direction": str(base.direction.values[i]), "optimum": float(base.optimum.values[i]),
                             "variables": {v: float(base[v].values[i]) for v in _problem_variables(base)}}
    for m in metas:
        about.setdefault(str(m["problem"]), {"direction": m.get("direction", "minimize"),
                                             "optimum": m.get("optimum"), "variables": m.get("variables") or {}})
    variables: dict[str, list[float]] = {}
    for i, p in enumerate(problems):
        for k, v in about[p]["variables"].items():
            variables.setdefault(k, [math.nan] * len(problems))[i] = float(v)
    first = metas[0] if metas else {}
    attrs = dict(base.attrs) if base is not None else {"study": json.dumps({"name": first.get("study", "")})}
    budget = _current_budget([Budget.from_json(m.get("budget")) for m in metas])
    if budget is None and "budget" in attrs:
        budget = Budget.from_json(json.loads(attrs["budget"]))
    family = str(attrs.get("family") or first.get("family") or "blackbox")
    family_module = str(attrs.get("family_module") or first.get("family_module") or "")
    axes = tuple(dict.fromkeys([*(str(a) for a in (base.axis.values if base is not None and "axis" in base.coords else [])),
                                *(str(a) for m in metas for a in m.get("axes", []))]))
    return Layout(
        name=str(first.get("study") or _declared_name(attrs)), family=family, family_module=family_module,
        problems=problems,
        directions=[str(about[p]["direction"]) for p in problems],
        optima=[math.nan if about[p]["optimum"] is None else float(about[p]["optimum"]) for p in problems],
        solvers=solvers, seeds=seeds, budget=budget, axes=axes, variables=variables,
        attrs={k: v for k, v in attrs.items() if k not in ("family", "family_module", "budget", "metrics", "live")},
    )


def build(layout: Layout, series: Mapping[tuple[str, str, int], Series]) -> xr.Dataset:
    """The Dataset of ``layout`` with every cell in ``series`` (by ``(problem, solver, seed)``); cells not
    in it stay NaN / not run."""
    P, S, R = len(layout.problems), len(layout.solvers), len(layout.seeds)
    steps = layout.budget.evaluations if layout.budget is not None else None
    T = steps or max([1, *(len(s) for s in series.values())])
    value, elapsed = np.full((P, S, R, T), np.nan), np.full((P, S, R, T), np.nan)
    failed = np.full((P, S, R, T), -1, dtype=np.int8)
    axes = list(dict.fromkeys([*layout.axes, *(a for s in series.values() for a in s.costs)]))
    cost = np.full((P, S, R, T, len(axes)), np.nan)
    names = sorted({m for s in series.values() for m in s.metrics})
    clash = RESERVED.intersection(names) | set(layout.variables).intersection(names)
    if clash:
        raise ResultsError(f"recorded metrics {sorted(clash)} take names the results use for other variables")
    metrics = {m: np.full((P, S, R, T), np.nan) for m in names}
    done = np.zeros((P, S, R), dtype=np.int8)
    index = ({p: i for i, p in enumerate(layout.problems)}, {s: i for i, s in enumerate(layout.solvers)},
             {r: i for i, r in enumerate(layout.seeds)})
    for (p, s, r), cell in series.items():
        if p not in index[0] or s not in index[1] or r not in index[2]:
            continue
        at = (index[0][p], index[1][s], index[2][r])
        done[at] = int(cell.finished)
        n = min(len(cell), T)
        value[at][:n], elapsed[at][:n], failed[at][:n] = cell.value[:n], cell.elapsed[:n], cell.failed[:n]
        ran = cell.failed[:n] >= 0
        for k, axis in enumerate(axes):
            if axis in cell.costs:  # an axis the cell does not record stays NaN
                cost[at][:n, k] = np.where(ran, np.cumsum(np.nan_to_num(cell.costs[axis][:n])), np.nan)
        for m, v in cell.metrics.items():
            metrics[m][at][:n] = v[:n]
    optima = np.array(layout.optima, dtype=np.float64).reshape(P)
    best = np.stack([best_so_far(value[i], layout.directions[i]) for i in range(P)]) if P else value.copy()
    best = np.where(failed >= 0, best, np.nan)  # steps not run yet have no best: partial runs stay partial
    dims = ("problem", "solver", "seed", "step")
    data: dict[str, Any] = {
        "value": (dims, value), "best": (dims, best), "regret": (dims, np.abs(best - optima[:, None, None, None])),
        "elapsed": (dims, elapsed), "failed": (dims, failed), "finished": (dims[:3], done),
        "optimum": (("problem",), optima),
        "direction": (("problem",), np.array(layout.directions, dtype=str)),
        **{m: (dims, v) for m, v in metrics.items()},
        **{k: (("problem",), np.array(v, dtype=np.float64)) for k, v in layout.variables.items()},
    }
    coords: dict[str, Any] = {"problem": layout.problems, "solver": layout.solvers, "seed": layout.seeds,
                              "step": np.arange(T)}
    if axes:
        data["cost"] = ((*dims, "axis"), cost)
        coords["axis"] = axes
    attrs = {**layout.attrs, "family": layout.family, "family_module": layout.family_module, "metrics": ",".join(names),
             "budget": json.dumps(layout.budget.describe() if layout.budget is not None else None)}
    notes = {cell_name(p, s, r): cell.notes for (p, s, r), cell in series.items()
             if cell.notes and p in index[0] and s in index[1] and r in index[2]}
    attrs.pop("notes", None)
    if notes:
        attrs["notes"] = json.dumps(notes, sort_keys=True)
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    ds["elapsed"].attrs["units"] = "s"
    return find_family(layout.family, layout.family_module).extend(ds)


def build_results(study: Study, store: Store) -> xr.Dataset:
    """Read every cell of ``study`` from ``store`` into a Dataset (cells not run stay NaN)."""
    frozen = {s.study_name: s for s in store.studies()}
    series = {}
    for cell in study.cells():
        f = frozen.get(cell.key(study.name))
        if f is not None:
            one = Series.of_trials(store.trials(f._study_id))
            one.finished = finished(f.user_attrs, study.budget)
            one.notes = dict(f.user_attrs.get(NOTES) or {})
            series[(cell.problem.name, cell.solver.label, cell.seed)] = one
    return build(layout_of(study, store.url), series)


def _current_budget(budgets: list[Budget | None]) -> Budget | None:
    """The budget a study runs under now, from its cells' attributes: a cell carries the budget of the last
    run that touched it, so the largest one (on the axis most cells count) is the current one."""
    known = [b for b in budgets if b is not None]
    if not known:
        return None
    axes = [b.axis for b in known]
    axis = max(set(axes), key=axes.count)
    return max((b for b in known if b.axis == axis), key=lambda b: b.amount)


def _problem_variables(ds: xr.Dataset) -> list[str]:
    """A Dataset's family variables over ``problem`` alone (besides ``optimum`` and ``direction``)."""
    return [v for v in ds.data_vars if ds[v].dims == ("problem",) and v not in ("optimum", "direction")]


def _declared_name(attrs: Mapping[str, Any]) -> str:
    try:
        return str(json.loads(attrs.get("study", "{}")).get("name", ""))
    except (TypeError, ValueError):
        return ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (set, tuple, range)):
        return list(value)
    return repr(value)


def write_results(ds: xr.Dataset, path: str | Path) -> Path:
    """Write NetCDF (h5netcdf) to a temporary file beside ``path``, then rename over it: readers see
    the old file or the new one, never a half-written one. The file has the permissions of any new file
    (``0o666`` less the umask, as the Optuna storage beside it), not the temporary file's ``0o600``."""

    def new_file_mode(tmp: str) -> int:
        """``0o666 & ~umask``, the umask read without setting it (``os.umask`` would change it for every
        thread for a moment): from /proc on Linux, else from the mode of a probe file created beside ``tmp``."""
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("Umask:"):
                        return 0o666 & ~int(line.split()[1], 8)
        except (OSError, ValueError, IndexError):
            pass
        probe = f"{tmp}.mode"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            return os.fstat(fd).st_mode & 0o777
        finally:
            os.close(fd)
            os.unlink(probe)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.chmod(tmp, new_file_mode(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_results(path: str | Path) -> xr.Dataset:
    """Open a results file (or a run folder holding ``results.nc``) fully into memory."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ResultsError(f"no results file at {path} (run the study first: workbench run STUDY_FILE)")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as e:
        raise ResultsError(f"cannot read results file {path}: {type(e).__name__}: {e}") from e
