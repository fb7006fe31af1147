"""The runner: drives every cell of a study through ask / evaluate / record / tell, once, here.

Before anything runs, every (problem, solver) pair is checked: a solver that needs a capability a
problem lacks is refused, naming both and what is missing. A cell with ``budget`` recorded evaluations
is finished and skipped; an unfinished one resumes from its recorded evaluations.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from workbench.claims import Claim, Claims, worker_id
from workbench.errors import CapabilityError, EvaluationError, SolverError, WorkbenchError
from workbench.problem import Queryable
from workbench.recorder import Recorder, Store, default_storage_url, redact, supports_concurrent_writers
from workbench.results import RESULTS_FILE, build_results, write_results
from workbench.solvers.base import CellContext
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

    def start(self, study: Study, total: int, done: int) -> None: ...
    def cell_started(self, key: str, done: int, budget: int, best: float | None) -> None: ...
    def advanced(self, key: str, n: int, best: float | None) -> None: ...
    def cell_finished(self, key: str, best: float | None, n_failed: int) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, study: Study, total: int, done: int) -> None: ...
    def cell_started(self, key: str, done: int, budget: int, best: float | None) -> None: ...
    def advanced(self, key: str, n: int, best: float | None) -> None: ...
    def cell_finished(self, key: str, best: float | None, n_failed: int) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Evaluation:
    values: Tensor  # n float64 on the CPU, NaN where failed
    reasons: list[str | None]  # None where the evaluation succeeded


def evaluate_safely(problem: Queryable, X: Tensor) -> Evaluation:
    """Evaluate a batch; an exception or a non-finite value fails only the rows it concerns.

    When a batch raises, its rows are evaluated one at a time to find which fail."""
    n = X.shape[0]
    try:
        y = _as_values(problem.evaluate(X), n)
    except Exception as e:
        if n == 1:
            return Evaluation(torch.full((1,), math.nan, dtype=torch.float64), [f"{type(e).__name__}: {e}"])
        parts = [evaluate_safely(problem, X[i : i + 1]) for i in range(n)]
        return Evaluation(torch.cat([p.values for p in parts]), [r for p in parts for r in p.reasons])
    reasons: list[str | None] = []
    for v in y.tolist():
        reasons.append(None if math.isfinite(v) else f"objective returned {v}")
    y = torch.where(torch.isfinite(y), y, torch.full_like(y, math.nan))
    return Evaluation(y, reasons)


def _as_values(y: Any, n: int) -> Tensor:
    y = torch.as_tensor(y).detach().to("cpu", torch.float64)
    if y.numel() != n:
        raise ValueError(f"evaluate returned {tuple(y.shape)} values for {n} points")
    return y.reshape(n)


class Runner:
    """Runs a study against an Optuna storage and writes ``results.nc`` into ``run_dir``.

    With a storage that supports concurrent writers (PostgreSQL and other RDBs, Optuna's journal file),
    the runner is a *worker*: it claims cells through the storage (see :mod:`workbench.claims`), so any
    number of runners on any number of machines split the study, each cell running once. It returns when
    every cell is finished: while other live workers hold cells it waits, and takes over any cell whose
    heartbeat lapses for ``grace`` seconds. With SQLite (one process) no claims are made."""

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
        self.progress.start(study, study.n_cells * study.budget, self._recorded(studies))
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
        return sum(self.study.budget for s in studies
                   if s.study_name in keys and int(s.user_attrs.get("finished_budget", 0)) >= self.study.budget)

    def _finished(self, frozen: Any, started: float) -> bool:
        """Finished: all ``budget`` evaluations recorded; or failed (the solver broke) since this run began."""
        if frozen is None:
            return False
        attrs = frozen.user_attrs
        if int(attrs.get("finished_budget", 0)) >= self.study.budget:
            return True
        return float(attrs.get("error_time", 0.0)) >= started

    def write_results(self) -> Path:
        self._last_write = time.monotonic()
        return write_results(build_results(self.study, self.store), self.run_dir / RESULTS_FILE)

    def _maybe_write_results(self) -> None:
        """Partial results for live views, at most every ``results_every`` seconds."""
        if self.writes_results and time.monotonic() - self._last_write >= self.results_every:
            self.write_results()

    def _recorder(self, cell: Cell) -> Recorder:
        attrs = {
            "workbench": {
                "study": self.study.name,
                "problem": cell.problem.name,
                "solver": cell.solver.label,
                "seed": cell.seed,
                "budget": self.study.budget,
            }
        }
        return Recorder(
            self.store, cell.key(self.study.name), space=cell.problem.space, direction=cell.problem.direction,
            attrs=attrs, worker=worker_id(),
        )

    def _run_cell(self, cell: Cell, claim: Claim | None) -> None:
        recorder = self._recorder(cell)
        try:
            self._drive(cell, recorder, claim)
        except (SolverError, EvaluationError) as e:
            recorder.mark("error", str(e))
            recorder.mark("error_time", time.time())
            if claim is not None:
                claim.finish()
            raise
        if claim is not None:
            claim.finish()

    def _drive(self, cell: Cell, recorder: Recorder, claim: Claim | None) -> None:
        from workbench.offline import OfflineSolver

        if isinstance(cell.solver, OfflineSolver):
            self._drive_offline(cell, recorder, claim)
            return
        study, key = self.study, cell.key(self.study.name)
        problem = cell.problem.bind(cell.seed)
        space, sign = problem.space, (1.0 if problem.direction == "minimize" else -1.0)
        history = recorder.history()
        step = len(history)
        ok = ~history.failed
        best = _best(history.values[ok], sign)
        self.progress.cell_started(key, step, study.budget, best)
        context = CellContext(
            space=space, seed=cell.seed, device=self.device, budget=study.budget, batch_size=study.batch_size,
            start_step=step,
        )
        run = cell.solver.start(context)
        if ok.any():
            run.tell(history.X[ok].to(self.device), sign * history.values[ok].to(self.device))
        previous = float(history.elapsed[-1]) if step and math.isfinite(history.elapsed[-1]) else 0.0
        n_failed = int(history.failed.sum())
        t0 = time.perf_counter()
        while step < study.budget:
            if claim is not None and claim.lost.is_set():
                return  # another worker has the cell now
            q = min(study.batch_size, study.budget - step)
            X = self._ask(run, cell, q)
            evaluation = evaluate_safely(problem, X)
            elapsed = previous + time.perf_counter() - t0
            if claim is not None and not claim.still_held():
                return  # taken over while this worker was evaluating (it stalled past the grace period)
            recorder.record(X, evaluation.values, evaluation.reasons, step=step, elapsed=elapsed,
                            claim=claim.generation if claim is not None else 0)
            good = torch.tensor([r is None for r in evaluation.reasons])
            for i, reason in enumerate(evaluation.reasons):
                if reason is not None:
                    n_failed += 1
                    log.warning("%s: evaluation %d failed: %s", key, step + i, reason)
                    if self.fail_fast:
                        raise EvaluationError(f"{key}: evaluation {step + i} failed: {reason} (--fail-fast)")
            step += q
            if good.any():
                y = evaluation.values[good]
                best = _better(best, _best(y, sign), sign)
                run.tell(X[good.to(X.device)], (sign * y).to(self.device))
            self.progress.advanced(key, q, best)
        recorder.mark("finished_budget", study.budget)
        self.progress.cell_finished(key, best, n_failed)

    def _drive_offline(self, cell: Cell, recorder: Recorder, claim: Claim | None) -> None:
        """An offline cell: the solver gets the visible data (never the problem) and proposes ``budget``
        designs at once; the oracle scores them here, each recorded as one trial (step = candidate index).

        A cell cut off while recording resumes by proposing again (same seed, same designs) and recording
        the candidates not yet stored."""
        from workbench.offline import OracleAccessError, scoring

        key, k = cell.key(self.study.name), self.study.budget
        problem = cell.problem.bind(cell.seed)
        step = len(recorder.history())
        self.progress.cell_started(key, step, k, None)
        data = problem.dataset()  # type: ignore[attr-defined]
        context = CellContext(space=problem.space, seed=cell.seed, device=self.device, budget=k, batch_size=k,
                              start_step=0)
        t0 = time.perf_counter()
        try:
            X = cell.solver.propose(data, k, context)  # type: ignore[attr-defined]
        except OracleAccessError as e:
            raise SolverError(f"solver {cell.solver.label!r} is refused: {e}") from e
        except WorkbenchError:
            raise
        except Exception as e:  # the solver broke: one line naming it, as for an online solver
            raise SolverError(f"solver {cell.solver.label!r} failed to propose on {cell.problem.name!r}: "
                              f"{type(e).__name__}: {e}") from e
        X = self._checked(X, cell, k, f"propose(data, {k})")
        with scoring():
            evaluation = evaluate_safely(_Oracle(problem), X.cpu())
        elapsed = time.perf_counter() - t0
        if claim is not None and not claim.still_held():
            return
        recorder.record(X[step:], evaluation.values[step:], evaluation.reasons[step:], step=step, elapsed=elapsed,
                        claim=claim.generation if claim is not None else 0)
        n_failed = sum(r is not None for r in evaluation.reasons)
        for i, reason in enumerate(evaluation.reasons):
            if reason is not None:
                log.warning("%s: candidate %d failed: %s", key, i, reason)
                if self.fail_fast:
                    raise EvaluationError(f"{key}: candidate {i} failed: {reason} (--fail-fast)")
        best = _best(evaluation.values[torch.isfinite(evaluation.values)], -1.0)
        self.progress.advanced(key, k - step, best)
        recorder.mark("finished_budget", k)
        self.progress.cell_finished(key, best, n_failed)

    def _checked(self, X: Any, cell: Cell, q: int, call: str) -> Tensor:
        space, label = cell.problem.space, cell.solver.label
        if not isinstance(X, Tensor) or X.ndim != 2 or tuple(X.shape) != (q, space.dim):
            shape = tuple(X.shape) if isinstance(X, Tensor) else type(X).__name__
            raise SolverError(f"solver {label!r} returned {shape} from {call}; expected ({q}, {space.dim})")
        X = X.detach().to(self.device, torch.float64)
        inside = space.contains(X)
        if not bool(inside.all()):
            bad = X[~inside][0].tolist()
            raise SolverError(
                f"solver {label!r} proposed a point outside the space of problem {cell.problem.name!r}: {bad}"
            )
        return X

    def _ask(self, run: Any, cell: Cell, q: int) -> Tensor:
        return self._checked(run.ask(q), cell, q, f"ask({q})")


@dataclass
class _Oracle:
    """An offline problem seen through :func:`evaluate_safely`: its oracle is the objective."""

    problem: Any

    def evaluate(self, X: Tensor) -> Tensor:
        return self.problem.oracle(X)


def _best(y: Tensor, sign: float) -> float | None:
    if y.numel() == 0:
        return None
    return float((sign * y).min()) * sign


def _better(a: float | None, b: float | None, sign: float) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if sign * a <= sign * b else b
