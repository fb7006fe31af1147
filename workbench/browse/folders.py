"""Finding studies under a runs folder, safely, and reading each one: nothing outside the folder is read,
and a study whose files cannot be read is reported on its own without hiding the others."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.browse.live import STORAGE_FILES, StorageCell, open_readonly, storage_cells
from workbench.budget import Budget
from workbench.errors import WorkbenchError
from workbench.results import RESULTS_FILE, Series, build, layout_from_cells, load_results

LIVE_SECONDS = 120.0  # a study written to this recently, with cells left, counts as running
REQUIRED = ("value", "best", "regret", "elapsed", "failed", "optimum", "direction")


class UnsafePathError(WorkbenchError, ValueError):
    """A path that would lead outside the runs folder."""


def safe_study_dir(runs_dir: str | Path, name: str) -> Path:
    """The folder of study ``name`` directly inside ``runs_dir``; a name that escapes it (``..``, an
    absolute path, a symlink pointing out) is refused."""
    root = Path(runs_dir).resolve()
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise UnsafePathError(f"not a study name: {name!r}")
    path = (root / name).resolve()
    if path.parent != root:
        raise UnsafePathError(f"study {name!r} is not inside {root}")
    return path


def _inside(root: Path, path: Path) -> Path | None:
    """``path`` when it is a regular file whose real location is inside ``root``, else None."""
    real = path.resolve()
    return real if real.is_relative_to(root) and real.is_file() else None


@dataclass(frozen=True)
class StudyFolder:
    """A study's run folder: its results file and storage file (each None when absent) with their
    modification times, the key every cached read is made under."""

    name: str  # the folder's name: unique in the runs folder, used in URLs
    path: Path
    results: Path | None = None
    storage: Path | None = None
    results_mtime: float = 0.0
    storage_mtime: float = 0.0

    @property
    def mtime(self) -> float:
        return max(self.results_mtime, self.storage_mtime)

    @property
    def storage_is_newer(self) -> bool:
        """Evaluations were recorded after the results file was written (or there is none yet)."""
        return self.storage is not None and (self.results is None or self.storage_mtime > self.results_mtime)


def study_folder(runs_dir: str | Path, name: str) -> StudyFolder | None:
    """The study folder ``name`` (refused if it leads outside ``runs_dir``); None when it holds neither
    a results file nor a storage file."""
    root = Path(runs_dir).resolve()
    path = safe_study_dir(root, name)
    results = _inside(root, path / RESULTS_FILE)
    storage = next((f for f in (_inside(root, path / n) for n in STORAGE_FILES) if f is not None), None)
    if results is None and storage is None:
        return None
    return StudyFolder(name, path, results, storage, results.stat().st_mtime if results else 0.0,
                       storage.stat().st_mtime if storage else 0.0)


def find_studies(runs_dir: str | Path) -> list[StudyFolder]:
    """Every study folder directly under ``runs_dir`` (one holding a results or storage file), most
    recently updated first. Cheap: lists files, reads none."""
    root = Path(runs_dir).resolve()
    if not root.is_dir():
        return []
    out = []
    for child in root.iterdir():
        try:
            folder = study_folder(root, child.name) if child.is_dir() else None
        except (UnsafePathError, OSError):
            continue  # a symlink leading out, or a folder removed meanwhile
        if folder is not None:
            out.append(folder)
    return sorted(out, key=lambda f: (-f.mtime, f.name))


@dataclass(frozen=True)
class StudyEntry:
    """One study as the views see it: its Dataset (None when unreadable, with ``error`` saying why) and
    where its cells stand."""

    folder: StudyFolder
    ds: xr.Dataset | None = None
    error: str = ""
    warning: str = ""
    title: str = ""  # the declared study name (the Optuna studies are named after it)
    problems: list[str] = field(default_factory=list)
    solvers: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    budget: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    from_storage: bool = False

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def ok(self) -> bool:
        return self.ds is not None

    @property
    def n_cells(self) -> int:
        return len(self.problems) * len(self.solvers) * len(self.seeds)

    @property
    def complete(self) -> bool:
        return self.ok and self.counts.get("done", 0) + self.counts.get("failed", 0) == self.n_cells

    @property
    def live(self) -> bool:
        """Written to in the last two minutes with cells left: most likely running now."""
        return self.ok and not self.complete and time.time() - self.folder.mtime < LIVE_SECONDS

    @property
    def status(self) -> str:
        if not self.ok:
            return "unreadable"
        return "complete" if self.complete else ("running" if self.live else "stopped")


def cell_counts(ds: xr.Dataset, errors: set[tuple[str, str, int]] = frozenset()) -> dict[str, int]:
    """Cells done, running (some steps run), failed (every step run failed, or the solver broke: ``errors``
    holds those cells as ``(problem, solver, seed)``), pending (none run). Done: finished under the study's
    budget (the results' ``finished``, the one verdict the runner and ``workbench status`` use); for results
    without it, every step run."""
    failed = ds["failed"].transpose("problem", "solver", "seed", "step").values  # -1 not run, 0 ok, 1 failed
    ran = (failed >= 0).sum(axis=-1)
    all_failed = (ran > 0) & ((failed == 1).sum(axis=-1) == ran)
    broke = np.zeros(ran.shape, dtype=bool)
    index = {(str(p), str(s), int(r)): (i, j, k) for i, p in enumerate(ds.problem.values)
             for j, s in enumerate(ds.solver.values) for k, r in enumerate(ds.seed.values)}
    for cell in errors:
        if cell in index:
            broke[index[cell]] = True
    bad = all_failed | broke
    finished = (ds["finished"].transpose("problem", "solver", "seed").values == 1 if "finished" in ds
                else ran == failed.shape[-1])
    done = finished & ~bad
    return {"done": int(done.sum()), "running": int(((ran > 0) & ~done & ~bad).sum()), "failed": int(bad.sum()),
            "pending": int(((ran == 0) & ~bad & ~done).sum())}


SeriesReader = Callable[[StorageCell], Series]


def complete_in(base: xr.Dataset | None, cell: StorageCell, budget: Budget | None) -> bool:
    """``base`` (a results Dataset) already holds ``cell`` finished under ``budget``."""
    if base is None or "finished" not in base or budget is None or not cell.finished_under(budget):
        return False
    if cell.problem not in base.problem or cell.solver not in base.solver or cell.seed not in base.seed:
        return False
    return bool(base["finished"].sel(problem=cell.problem, solver=cell.solver, seed=cell.seed).values == 1)


def read_study(folder: StudyFolder, *, curves: bool = True, load: Callable[[Path], xr.Dataset] = load_results,
               cells: Callable[[Path], list[StorageCell]] | None = None,
               series: SeriesReader | None = None) -> StudyEntry:
    """Read a study folder: its results file, and, when the storage holds newer steps, the storage's cells
    rebuilt with the results builder over it (cells the results file holds whole are taken from it).
    ``curves=False`` reads only enough to count cells (the storage's list of studies, no trials; the entry's
    Dataset is then not for plotting). ``load``, ``cells`` and ``series`` read the files (pass cached
    versions); by default they read directly. Any failure becomes the entry's ``error`` (or ``warning``,
    when the rest could be read)."""
    if cells is None or series is None:
        storage = _Lazy(folder.storage)
        cells = cells or (lambda path: storage_cells(storage.get().get_all_studies()))
        series = series or (lambda cell: Series.of_trials(storage.get().get_all_trials(cell.study_id, deepcopy=False)))
    ds, errors = None, []
    if folder.results is not None:
        try:
            ds = load(folder.results)
            missing = [v for v in REQUIRED if v not in ds]
            if missing:
                raise WorkbenchError(f"{folder.results} is not a workbench results file (no {', '.join(missing)})")
        except Exception as e:  # anything in a corrupt file: say it here, keep the other studies going
            ds, errors = None, [_message(e)]
    stored: list[StorageCell] = []
    live = False
    if folder.storage is not None:
        try:
            title = _title(ds) if ds is not None else None
            stored = cells(folder.storage)
            title = title or (stored[0].study if stored else None)
            stored = [c for c in stored if c.study == title]
            if stored and (folder.storage_is_newer or ds is None):
                ds = rebuild(stored, series if curves else None, ds)
                live = True
            elif ds is None and not errors:
                errors.append(f"{folder.storage.name} holds no evaluations yet")
        except Exception as e:
            errors.append(f"cannot read {folder.storage}: {_message(e)}")
    if ds is None:
        return StudyEntry(folder, error="; ".join(errors) or "no results yet")
    broke = {(c.problem, c.solver, c.seed) for c in stored if c.error and not c.finished}
    return StudyEntry(
        folder, ds, warning="; ".join(errors), title=_title(ds) or folder.name,
        problems=[str(p) for p in ds.problem.values], solvers=[str(s) for s in ds.solver.values],
        seeds=[int(s) for s in ds.seed.values], budget=int(ds.sizes.get("step", 0)),
        counts=cell_counts(ds, broke), from_storage=live,
    )


def rebuild(stored: list[StorageCell], series: SeriesReader | None, base: xr.Dataset | None = None) -> xr.Dataset:
    """A study's Dataset from its storage cells, by the results builder: cells ``base`` holds finished come
    from it, the others from ``series`` (None: not read, only counted, see :meth:`Series.not_read`). Every
    cell is judged finished against the study's current budget (the largest its cells carry)."""
    layout = layout_from_cells([c.meta for c in stored], base)
    steps = layout.budget.evaluations if layout.budget is not None else None
    out = {}
    for c in stored:
        done = layout.budget is not None and c.finished_under(layout.budget)
        if complete_in(base, c, layout.budget):
            assert base is not None
            one = Series.of_dataset(base, c.problem, c.solver, c.seed)
        elif series is not None:
            one = series(c)
        else:
            one = Series.not_read(steps or 1, done)
        out[(c.problem, c.solver, c.seed)] = dataclasses.replace(one, finished=done, notes=c.notes or one.notes)
    ds = build(layout, out)
    ds.attrs["live"] = "storage"
    return ds


class _Lazy:
    """The storage, opened on first use only."""

    def __init__(self, path: Path | None) -> None:
        self.path, self._storage = path, None

    def get(self) -> Any:
        if self._storage is None:
            assert self.path is not None
            self._storage = open_readonly(self.path)
        return self._storage


def _title(ds: xr.Dataset) -> str | None:
    try:
        return json.loads(ds.attrs.get("study", "{}")).get("name") or None
    except (TypeError, ValueError):
        return None


def _message(e: BaseException) -> str:
    return str(e) if isinstance(e, WorkbenchError) else f"{type(e).__name__}: {e}"


def study_table(entries: list[StudyEntry]) -> list[dict[str, Any]]:
    """Rows for the Studies view, one per readable study (unreadable ones are listed apart)."""
    rows = []
    for e in entries:
        if not e.ok:
            continue
        rows.append({
            "study": e.name, "status": e.status, "cells": e.n_cells,
            **{k: e.counts.get(k, 0) for k in ("done", "running", "failed", "pending")},
            "problems": ", ".join(e.problems), "solvers": ", ".join(e.solvers), "seeds": len(e.seeds),
            "budget": e.budget, "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.folder.mtime)),
        })
    return rows
