"""The runner: works through the cells of a study and hands each to its family's loop.

Before anything runs, every (problem, solver) pair is checked: a solver that needs a capability a
problem lacks is refused, naming both and what is missing. A finished cell (see :mod:`workbench.budget`)
is skipped; an unfinished one resumes from its recorded steps (and its last checkpoint, where its family
keeps them). How a cell is driven is its family's (:meth:`workbench.family.Family.drive`, through a
:class:`workbench.cell.CellRun`); the runner knows no kind of problem.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol

import torch

from workbench.artifacts import FOLDER as ARTIFACTS_FOLDER
from workbench.artifacts import Artifacts
from workbench.budget import finished
from workbench.cell import CellRun, Events
from workbench.claims import Claim, Claims, worker_id
from workbench.errors import CapabilityError, EvaluationError, SolverError
from workbench.recorder import Recorder, Store, default_storage_url, redact, supports_concurrent_writers
from workbench.results import RESULTS_FILE, build_results, cell_meta, write_results
from workbench.study import Cell, Study

log = logging.getLogger("workbench")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Progress(Protocol):
    """What the runner reports while it works; the CLI decides how it is shown."""

    def start(self, study: Study, total: int | None, done: int) -> None: ...
    def cell_started(self, key: str, done: int, budget: int | None, best: float | None) -> None: ...
    def advanced(self, key: str, n: int, best: float | None) -> None: ...
    def cell_finished(self, key: str, best: float | None, n_failed: int) -> None: ...
    def stop(self) -> None: ...


class NoProgress(Events):
    def start(self, study: Study, total: int | None, done: int) -> None: ...
    def stop(self) -> None: ...


class Runner:
    """Runs a study against an Optuna storage and writes ``results.nc`` into ``run_dir``.

    With a storage that supports concurrent writers (PostgreSQL and other RDBs, Optuna's journal file),
    the runner is a *worker*: it claims cells through the storage (see :mod:`workbench.claims`), so any
    number of runners on any number of machines split the study, each cell running once. It returns when
    every cell is finished: while other live workers hold cells it waits, and takes over any cell whose
    heartbeat lapses for ``grace`` seconds. With SQLite (one process) no claims are made. Artifacts and
    checkpoints go to ``artifacts`` (default ``run_dir/artifacts``; a folder all workers reach)."""

    def __init__(
        self,
        study: Study,
        *,
        run_dir: str | Path,
        storage: str | None = None,
        device: str | torch.device = "auto",
        fail_fast: bool = False,
        progress: Progress | None = None,
        grace: float = 60.0,
        heartbeat: float = 5.0,
        poll: float = 2.0,
        results_every: float = 10.0,
        write_results: bool = True,
        artifacts: str | Path | None = None,
    ) -> None:
        self.study = study
        self.run_dir = Path(run_dir)
        self.storage_url = storage or default_storage_url(self.run_dir)
        self.device = resolve_device(device)
        self.fail_fast = fail_fast
        self.progress: Progress = progress or NoProgress()
        self.grace, self.heartbeat, self.poll = grace, heartbeat, poll
        self.results_every = results_every
        self.writes_results = write_results
        self.artifacts = Artifacts(artifacts or self.run_dir / ARTIFACTS_FOLDER)
        self._store: Store | None = None
        self._last_write = 0.0

    @property
    def store(self) -> Store:
        if self._store is None:
            if self.storage_url.startswith(("sqlite", "journal:")):
                self.run_dir.mkdir(parents=True, exist_ok=True)
            self._store = Store(self.storage_url)
        return self._store

    def check(self) -> None:
        """Refuse any (problem, solver) pair where the solver needs what the problem lacks."""
        for problem in self.study.problems:
            for solver in self.study.solvers:
                missing = solver.missing(problem)
                if missing:
                    raise CapabilityError(
                        f"solver {solver.label!r} cannot run on problem {problem.name!r}: "
                        f"the problem is not {', '.join(missing)}"
                    )

    def run(self) -> Path | None:
        """Run (or help run) every unfinished cell, then write the results; returns the results path
        (None when this runner was told not to write results)."""
        self.check()
        study, store = self.study, self.store
        log.info("study %s: %d cells, storage %s", study.name, study.n_cells, redact(self.storage_url))
        claims = Claims(store, grace=self.grace, interval=self.heartbeat) if supports_concurrent_writers(
            self.storage_url) else None
        started = time.time()
        cells = list(study.cells())
        if claims is not None:  # workers start at different cells, so they rarely race for the same claim
            offset = abs(hash(claims.worker)) % len(cells)
            cells = cells[offset:] + cells[:offset]
        studies = store.studies()
        per_cell = study.budget.evaluations  # None for a cost budget: steps unknown until run
        self.progress.start(study, study.n_cells * per_cell if per_cell else None, self._recorded(studies))
        try:
            while True:
                by_name = {s.study_name: s for s in studies}
                pending = [c for c in cells if not self._finished(by_name.get(c.key(study.name)), started)]
                if not pending:
                    break
                ran = False
                held = claims.snapshot(studies) if claims is not None else {}
                for cell in pending:
                    key = cell.key(study.name)
                    if claims is None:
                        self._run_cell(cell, None)
                        ran = True
                        continue
                    info = held.get(key)
                    if info is not None and not claims.is_stale(info):
                        continue
                    claim = claims.try_claim(key, info)
                    if claim is None:
                        continue
                    with claim:
                        self._run_cell(cell, claim)
                    ran = True
                    break  # list the storage again (cheap): others may have finished or died meanwhile
                if not ran:
                    time.sleep(self.poll)
                studies = store.studies()
                self._maybe_write_results()
        finally:
            self.progress.stop()
        return self.write_results() if self.writes_results else None

    def _recorded(self, studies: list[Any]) -> int:
        """Evaluations of finished cells (partly run cells count when they finish): no query per cell."""
        keys = {c.key(self.study.name) for c in self.study.cells()}
        per_cell = self.study.budget.evaluations or 0
        return sum(per_cell for s in studies if s.study_name in keys and finished(s.user_attrs, self.study.budget))

    def _finished(self, frozen: Any, started: float) -> bool:
        """Finished under the study's budget; or failed (the solver broke) since this run began."""
        if frozen is None:
            return False
        if finished(frozen.user_attrs, self.study.budget):
            return True
        return float(frozen.user_attrs.get("error_time", 0.0)) >= started

    def write_results(self) -> Path:
        self._last_write = time.monotonic()
        return write_results(build_results(self.study, self.store), self.run_dir / RESULTS_FILE)

    def _maybe_write_results(self) -> None:
        """Partial results for live views, at most every ``results_every`` seconds."""
        if self.writes_results and time.monotonic() - self._last_write >= self.results_every:
            self.write_results()

    def recorder(self, cell: Cell) -> Recorder:
        """The recorder of ``cell`` (its Optuna study, created with the cell's attributes if new)."""
        return Recorder(self.store, cell.key(self.study.name), space=cell.problem.space,
                        direction=cell.problem.direction, attrs={"workbench": cell_meta(self.study, cell)},
                        worker=worker_id())

    def _run_cell(self, cell: Cell, claim: Claim | None) -> None:
        key, problem = cell.key(self.study.name), cell.problem
        recorder = self.recorder(cell)
        try:
            run = CellRun(key=key, problem=problem.bind(cell.seed), solver=cell.solver, seed=cell.seed,
                          device=self.device, budget=self.study.budget, batch_size=self.study.batch_size,
                          recorder=recorder, artifacts=self.artifacts, axes=self.study.axes, events=self.progress,
                          fail_fast=self.fail_fast, claim=claim)
            self.study.family.drive(run)
            if claim is None or claim.still_held():
                run.finish()
        except (SolverError, EvaluationError) as e:
            recorder.mark("error", str(e))
            recorder.mark("error_time", time.time())
            if claim is not None:
                claim.finish()
            raise
        if claim is not None:
            claim.finish()
