"""Finding studies under a runs folder, safely: nothing outside the folder is ever read."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from workbench.errors import ResultsError, WorkbenchError
from workbench.results import RESULTS_FILE, load_results


class UnsafePathError(WorkbenchError, ValueError):
    """A path that would lead outside the runs folder."""


def safe_study_dir(runs_dir: str | Path, name: str) -> Path:
    """The folder of study ``name`` inside ``runs_dir``; a name that escapes it (``..``, an absolute path,
    a symlink pointing out) is refused."""
    root = Path(runs_dir).resolve()
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise UnsafePathError(f"not a study name: {name!r}")
    path = (root / name).resolve()
    if path.parent != root:
        raise UnsafePathError(f"study {name!r} is not inside {root}")
    return path


@dataclass(frozen=True)
class StudyEntry:
    """One study folder: what its results say, or why they cannot be read."""

    name: str
    path: Path
    mtime: float = 0.0
    error: str = ""
    problems: list[str] = field(default_factory=list)
    solvers: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    budget: int = 0
    cells_done: int = 0
    cells_running: int = 0
    cells_failed: int = 0
    cells_pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def live(self) -> bool:
        """Partial results written in the last two minutes: the study is most likely running."""
        return self.ok and self.cells_done < self.n_cells and time.time() - self.mtime < 120

    @property
    def n_cells(self) -> int:
        return len(self.problems) * len(self.solvers) * len(self.seeds)


def cell_counts(ds: xr.Dataset) -> dict[str, int]:
    """Cells done (every step run), running (some steps run), failed (every run step failed), pending."""
    failed = ds["failed"].values  # -1 not run, 0 ok, 1 failed
    ran = (failed >= 0).sum(axis=-1)
    n_steps = failed.shape[-1]
    all_failed = (failed == 1).sum(axis=-1) == ran
    done = (ran == n_steps) & ~all_failed
    failed_cells = (ran > 0) & all_failed
    running = (ran > 0) & (ran < n_steps) & ~all_failed
    return {
        "done": int(done.sum()),
        "running": int(running.sum()),
        "failed": int(failed_cells.sum()),
        "pending": int((ran == 0).sum()),
    }


def describe_study(path: Path, ds: xr.Dataset | None = None) -> StudyEntry:
    results = path / RESULTS_FILE
    try:
        mtime = results.stat().st_mtime
        ds = load_results(results) if ds is None else ds
    except (OSError, ResultsError) as e:
        return StudyEntry(path.name, path, error=str(e))
    counts = cell_counts(ds)
    return StudyEntry(
        name=json.loads(ds.attrs.get("study", "{}")).get("name", path.name),
        path=path,
        mtime=mtime,
        problems=[str(p) for p in ds.problem.values],
        solvers=[str(s) for s in ds.solver.values],
        seeds=[int(s) for s in ds.seed.values],
        budget=int(ds.sizes.get("step", 0)),
        cells_done=counts["done"],
        cells_running=counts["running"],
        cells_failed=counts["failed"],
        cells_pending=counts["pending"],
    )


def find_studies(runs_dir: str | Path) -> list[StudyEntry]:
    """Every study folder directly under ``runs_dir`` that holds a results file, newest first. A results
    file that cannot be read gives an entry with its error; the others are unaffected."""
    root = Path(runs_dir).resolve()
    if not root.is_dir():
        return []
    entries = []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or not (child / RESULTS_FILE).exists():
            continue
        try:
            path = safe_study_dir(root, child.name)
        except UnsafePathError:
            continue  # a symlink out of the runs folder
        entries.append(describe_study(path))
    return sorted(entries, key=lambda e: -e.mtime)


def study_table(entries: list[StudyEntry]) -> list[dict[str, object]]:
    """Rows for the Studies view."""
    rows = []
    for e in entries:
        if not e.ok:
            rows.append({"study": e.name, "status": "unreadable", "problems": "", "solvers": "", "seeds": 0,
                         "budget": 0, "done": 0, "running": 0, "failed": 0, "pending": 0, "updated": "",
                         "error": e.error})
            continue
        status = "live" if e.live else ("complete" if e.cells_done == e.n_cells else "partial")
        rows.append({
            "study": e.name, "status": status, "problems": ", ".join(e.problems), "solvers": ", ".join(e.solvers),
            "seeds": len(e.seeds), "budget": e.budget, "done": e.cells_done, "running": e.cells_running,
            "failed": e.cells_failed, "pending": e.cells_pending,
            "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.mtime)), "error": "",
        })
    return rows
