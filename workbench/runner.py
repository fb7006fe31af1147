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

from workbench.errors import CapabilityError, EvaluationError, SolverError
from workbench.problem import Problem
from workbench.recorder import Recorder, default_storage_url, open_storage, redact
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


def evaluate_safely(problem: Problem, X: Tensor) -> Evaluation:
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
    """Runs a study against an Optuna storage and writes ``results.nc`` into ``run_dir``."""

    def __init__(
        self,
        study: Study,
        *,
        run_dir: str | Path,
        storage: str | None = None,
        device: str | torch.device = "auto",
        fail_fast: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.study = study
        self.run_dir = Path(run_dir)
        self.storage_url = storage or default_storage_url(self.run_dir)
        self.device = resolve_device(device)
        self.fail_fast = fail_fast
        self.progress: Progress = progress or NoProgress()
        self._storage: Any = None

    @property
    def storage(self) -> Any:
        if self._storage is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._storage = open_storage(self.storage_url)
        return self._storage

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

    def run(self) -> Path:
        """Run every unfinished cell, then write the results; returns the results path."""
        self.check()
        log.info("study %s: %d cells, storage %s", self.study.name, self.study.n_cells, redact(self.storage_url))
        recorders = {cell.key(self.study.name): self._recorder(cell) for cell in self.study.cells()}
        histories = {key: rec.history() for key, rec in recorders.items()}
        total = self.study.n_cells * self.study.budget
        done = sum(min(len(h), self.study.budget) for h in histories.values())
        self.progress.start(self.study, total, done)
        try:
            for cell in self.study.cells():
                key = cell.key(self.study.name)
                if len(histories[key]) < self.study.budget:
                    self._run_cell(cell, recorders[key])
        finally:
            self.progress.stop()
        return self.write_results()

    def write_results(self) -> Path:
        ds = build_results(self.study, self.storage, storage_url=self.storage_url)
        return write_results(ds, self.run_dir / RESULTS_FILE)

    def _recorder(self, cell: Cell) -> Recorder:
        attrs = {
            "workbench_study": self.study.name,
            "problem": cell.problem.name,
            "solver": cell.solver.label,
            "seed": cell.seed,
            "budget": self.study.budget,
        }
        return Recorder(
            self.storage, cell.key(self.study.name), space=cell.problem.space, direction=cell.problem.direction,
            attrs=attrs,
        )

    def _run_cell(self, cell: Cell, recorder: Recorder) -> None:
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
            q = min(study.batch_size, study.budget - step)
            X = self._ask(run, cell, q)
            evaluation = evaluate_safely(problem, X)
            recorder.record(X, evaluation.values, evaluation.reasons, step=step, elapsed=previous + time.perf_counter() - t0)
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
        self.progress.cell_finished(key, best, n_failed)

    def _ask(self, run: Any, cell: Cell, q: int) -> Tensor:
        space, label = cell.problem.space, cell.solver.label
        X = run.ask(q)
        if not isinstance(X, Tensor) or X.ndim != 2 or tuple(X.shape) != (q, space.dim):
            shape = tuple(X.shape) if isinstance(X, Tensor) else type(X).__name__
            raise SolverError(f"solver {label!r} returned {shape} from ask({q}); expected ({q}, {space.dim})")
        X = X.detach().to(self.device, torch.float64)
        inside = space.contains(X)
        if not bool(inside.all()):
            bad = X[~inside][0].tolist()
            raise SolverError(
                f"solver {label!r} proposed a point outside the space of problem {cell.problem.name!r}: {bad}"
            )
        return X


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
