"""CellRun: the handle a family's loop gets for one cell (problem, solver, seed).

Everything a loop needs and nothing about how it is stored: the bound problem, the solver, the seed, the
device, the budget, what was recorded before (``history``), and

* :meth:`CellRun.checked` — a solver's proposal checked (shape, inside the space), or one ``SolverError``;
* :meth:`CellRun.evaluate` — values of a batch, where an exception or a non-finite value fails only its row;
* :meth:`CellRun.record` — one step per row, with its costs, metrics and artifacts; False once the budget is
  spent or another worker has taken the cell over (the loop then stops);
* :meth:`CellRun.save` / :meth:`CellRun.restore` — a checkpoint of the loop's state, so a killed cell resumes
  from its last checkpoint. Steps a resumed loop runs again are not written twice: ``record`` skips the
  steps already recorded (their first record stands) and only counts them.
"""

from __future__ import annotations

import io
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from workbench.artifacts import ArtifactRef, Artifacts
from workbench.budget import FINISHED, Budget
from workbench.errors import EvaluationError, SolverError
from workbench.problem import Costed, Problem
from workbench.recorder import History, Recorder
from workbench.solver import CellContext, Solver

log = logging.getLogger("workbench")
CHECKPOINT = "checkpoint"  # the cell attribute naming its last checkpoint
NOTES = "notes"  # the cell attribute holding what the solver put on record (CellContext.notes)
#: names the results' own variables and coordinates take: a recorded metric may not use them
RESERVED = frozenset({"value", "best", "regret", "elapsed", "failed", "finished", "optimum", "direction", "cost", "axis",
                      "problem", "solver", "seed", "step"})


@dataclass
class Evaluation:
    values: Tensor  # n float64 on the CPU, NaN where failed
    reasons: list[str | None]  # None where the evaluation succeeded


def evaluate_safely(fn: Callable[[Tensor], Any], X: Tensor) -> Evaluation:
    """Evaluate a batch with ``fn``; an exception or a non-finite value fails only the rows it concerns.
    When a batch raises, its rows are evaluated one at a time to find which fail."""
    n = X.shape[0]
    try:
        y = _as_values(fn(X), n)
    except Exception as e:
        if n == 1:
            return Evaluation(torch.full((1,), math.nan, dtype=torch.float64), [f"{type(e).__name__}: {e}"])
        parts = [evaluate_safely(fn, X[i : i + 1]) for i in range(n)]
        return Evaluation(torch.cat([p.values for p in parts]), [r for p in parts for r in p.reasons])
    reasons = [None if math.isfinite(v) else f"objective returned {v}" for v in y.tolist()]
    return Evaluation(torch.where(torch.isfinite(y), y, torch.full_like(y, math.nan)), reasons)


def _as_values(y: Any, n: int) -> Tensor:
    y = torch.as_tensor(y).detach().to("cpu", torch.float64)
    if y.numel() != n:
        raise ValueError(f"evaluate returned {tuple(y.shape)} values for {n} points")
    return y.reshape(n)


class Events:
    """What a cell reports while it runs (the runner passes its progress display)."""

    def cell_started(self, key: str, done: int, budget: int | None, best: float | None) -> None: ...
    def advanced(self, key: str, n: int, best: float | None) -> None: ...
    def cell_finished(self, key: str, best: float | None, n_failed: int) -> None: ...


class CellRun:
    """One cell as its family's loop sees it (see the module docstring)."""

    def __init__(self, *, key: str, problem: Problem, solver: Solver, seed: int, device: torch.device,
                 budget: Budget, batch_size: int, recorder: Recorder, artifacts: Artifacts,
                 axes: Sequence[str] = (), events: Events | None = None, fail_fast: bool = False,
                 claim: Any = None) -> None:
        self.key, self.problem, self.solver, self.seed = key, problem, solver, seed
        self.device, self.budget, self.batch_size = device, budget, batch_size
        self.events = events or Events()
        self.fail_fast = fail_fast
        self._recorder, self._artifacts, self._claim = recorder, artifacts, claim
        self._mark: dict[str, Any] | None = None  # the last checkpoint's mark, once read
        self._lost = False  # another worker took the cell over: nothing more is written
        self.history: History = recorder.history()
        self.sign = 1.0 if problem.direction == "minimize" else -1.0
        self.cost_axes: tuple[str, ...] = tuple(getattr(problem, "cost_axes", ())) if isinstance(problem, Costed) else ()
        #: the axes a step may record costs on (the study's)
        self.axes = frozenset(axes) | set(self.cost_axes)
        self._recorded = len(self.history)
        self.step = self._recorded  # the next step's index
        #: each step's cost by axis, steps 0 .. step - 1 (sums are exact sums, the same on every path)
        self._costs: dict[str, list[float]] = {a: c.tolist() for a, c in self.history.costs.items()}
        ok = ~self.history.failed
        self.best = _best(self.history.values[ok], self.sign)
        self.n_failed = int(self.history.failed.sum())
        self._elapsed0 = _last_finite(self.history.elapsed)
        self._t0 = time.perf_counter()
        #: what the solver put on record through its context (stored when the cell finishes)
        self.notes: dict[str, Any] = {}
        self.events.cell_started(key, self.step, budget.evaluations, self.best)

    # ------------------------------------------------------------------------------------------ budget
    @property
    def context(self) -> CellContext:
        """What the solver is told of the cell."""
        return CellContext(space=self.problem.space, seed=self.seed, device=self.device, start_step=self.step,
                           notes=self.notes)

    @property
    def spent(self) -> dict[str, float]:
        """Cumulative cost on each axis over the steps so far."""
        return {a: math.fsum(c[: self.step]) for a, c in self._costs.items()}

    @property
    def done(self) -> bool:
        """The budget is spent."""
        return self.budget.spent(self.step, self.spent)

    def next_batch(self, q: int | None = None) -> int:
        """How many rows the next step batch may have: ``q`` (the study's batch size by default), fewer when
        the budget counts evaluations and fewer are left."""
        q = self.batch_size if q is None else q
        left = self.budget.evaluations
        return q if left is None else max(0, min(q, left - self.step))

    # ------------------------------------------------------------------------------------------ steps
    def checked(self, X: Any, q: int, call: str) -> Tensor:
        """``X`` as a ``q x dim`` float64 tensor on the device, or a ``SolverError`` naming the solver."""
        space, label = self.problem.space, self.solver.label
        if not isinstance(X, Tensor) or X.ndim != 2 or tuple(X.shape) != (q, space.dim):
            shape = tuple(X.shape) if isinstance(X, Tensor) else type(X).__name__
            raise SolverError(f"solver {label!r} returned {shape} from {call}; expected ({q}, {space.dim})")
        X = X.detach().to(self.device, torch.float64)
        inside = space.contains(X)
        if not bool(inside.all()):
            bad = X[~inside][0].tolist()
            raise SolverError(f"solver {label!r} proposed a point outside the space of problem "
                              f"{self.problem.name!r}: {bad}")
        return X

    def evaluate(self, X: Tensor, fn: Callable[[Tensor], Any] | None = None) -> Evaluation:
        """The problem's values of ``X`` (or ``fn``'s), failing only the rows that raise or are not finite."""
        return evaluate_safely(fn or self.problem.evaluate, X)  # type: ignore[attr-defined]

    def record(self, X: Tensor, values: Tensor, reasons: Sequence[str | None], *,
               costs: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
               artifacts: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None) -> bool:
        """Record ``len(X)`` steps: rows, values (NaN where failed), failure reasons (None where ok; a value
        that is not finite is a failure too), and per row: ``costs`` (axis -> n numbers >= 0; a
        :class:`~workbench.problem.Costed` problem's are added here), ``metrics`` (name -> n numbers),
        ``artifacts`` (name -> value, or one such mapping per row). Rows of a batch after the one that spends
        a cost budget are not recorded. Returns False when the loop must stop: the budget is spent, or the
        cell was taken over."""
        n = int(X.shape[0])
        values = torch.as_tensor(values, dtype=torch.float64).detach().cpu().reshape(-1)
        reasons = list(reasons)
        if values.numel() != n or len(reasons) != n:
            raise SolverError(f"{self.key}: record got {n} rows, {values.numel()} values and {len(reasons)} reasons")
        reasons = [r if r is not None or math.isfinite(v) else f"objective returned {v}"
                   for r, v in zip(reasons, values.tolist())]
        values = torch.where(torch.isfinite(values), values, torch.full_like(values, math.nan))
        costs = dict(costs or {})
        if self.cost_axes and not all(a in costs for a in self.cost_axes):
            costs = {**self._problem_costs(X), **costs}
        rows_costs = [{a: self._cost(_row(c, i, n, a), a) for a, c in costs.items()} for i in range(n)]
        n = self._within_budget(rows_costs)
        reserved = RESERVED.intersection(metrics or {})
        if reserved:
            raise SolverError(f"{self.key}: metric names {sorted(reserved)} are taken by the results' own variables")
        rows_metrics = [{m: float(_row(v, i, len(values), m)) for m, v in (metrics or {}).items()} for i in range(n)]
        rows_artifacts = _artifact_rows(artifacts, len(values))[:n]
        X, values, reasons, rows_costs = X[:n], values[:n], reasons[:n], rows_costs[:n]
        elapsed = self._elapsed0 + time.perf_counter() - self._t0
        if self._lost or (self._claim is not None and not self._claim.still_held()):
            self._lost = True
            return False  # another worker has the cell now
        new = max(0, self._recorded - self.step)  # rows already recorded by an earlier run of this cell
        if new < n:
            refs = [[self._artifacts.put(name, value) for name, value in row.items()] for row in rows_artifacts[new:]]
            self._recorder.record(X[new:], values[new:], reasons[new:], step=self.step + new, elapsed=elapsed,
                                  claim=getattr(self._claim, "generation", 0), costs=rows_costs[new:],
                                  metrics=rows_metrics[new:], artifacts=refs)
            self._recorded = self.step + n
        for i, reason in enumerate(reasons):
            if reason is not None:
                self.n_failed += 1
                if i < new:
                    continue  # a failure recorded (and reported) by an earlier run of this cell
                log.warning("%s: evaluation at step %d failed: %s", self.key, self.step + i, reason)
                if self.fail_fast:
                    raise EvaluationError(f"{self.key}: evaluation at step {self.step + i} failed: {reason} (--fail-fast)")
        for i, row in enumerate(rows_costs):
            for axis in set(row) | set(self._costs):
                column = self._costs.setdefault(axis, [0.0] * self.step)
                del column[self.step + i:]
                column.append(row.get(axis, 0.0))
        ok = torch.isfinite(values)
        self.best = _better(self.best, _best(values[ok], self.sign), self.sign)
        self.step += n
        self.events.advanced(self.key, n, self.best)
        return not self.done

    def _cost(self, value: float, axis: str) -> float:
        if axis not in self.axes:
            raise SolverError(f"{self.key}: a cost on axis {axis!r}, which the study does not record "
                              f"(its axes: {', '.join(sorted(self.axes)) or 'none'})")
        if not (math.isfinite(value) and value >= 0) or (axis == self.budget.axis and value <= 0):
            rule = "> 0 (it counts against the budget)" if axis == self.budget.axis else "finite and >= 0"
            raise SolverError(f"{self.key}: a step's {axis!r} cost must be {rule}, but got {value!r}")
        return value

    def _within_budget(self, rows_costs: list[dict[str, float]]) -> int:
        """How many of a batch's rows to record: up to the one that spends a cost budget."""
        if self.budget.evaluations is not None:
            return len(rows_costs)
        steps = list(self._costs.get(self.budget.axis, [])[: self.step])
        for i, row in enumerate(rows_costs):
            steps.append(row.get(self.budget.axis, 0.0))
            if self.budget.spent(self.step + i + 1, {self.budget.axis: math.fsum(steps)}):
                return i + 1
        return len(rows_costs)

    def _problem_costs(self, X: Tensor) -> dict[str, Any]:
        try:
            return dict(self.problem.cost(X))  # type: ignore[attr-defined]
        except Exception as e:
            raise SolverError(f"problem {self.problem.name!r} could not say what evaluating costs: "
                              f"{type(e).__name__}: {e}") from e

    def finish(self) -> None:
        """Mark the cell finished under its budget (the loop has returned with the budget spent), with the
        solver's notes, if it left any."""
        if self.notes:
            try:
                notes = json.loads(json.dumps(self.notes, allow_nan=False))
            except (TypeError, ValueError) as e:
                raise SolverError(f"solver {self.solver.label!r} put notes on record that are not plain JSON "
                                  f"(str, numbers, lists, dicts; no NaN): {e}") from e
            self._recorder.mark(NOTES, notes)
        self._recorder.mark(FINISHED, self.budget.describe())
        self.events.cell_finished(self.key, self.best, self.n_failed)

    # ------------------------------------------------------------------------------------------ checkpoints
    def save(self, state: Any) -> None:
        """Checkpoint ``state`` (anything ``torch.save`` takes) as of the steps recorded so far; a resumed
        cell gets it back from :meth:`restore`. The previous checkpoint is removed once this one is in place."""
        if self._lost or (self._claim is not None and not self._claim.still_held()):
            self._lost = True
            return  # the cell is another worker's now: its checkpoints are not to be touched
        buf = io.BytesIO()
        torch.save(state, buf)
        ref = self._artifacts.put_bytes(f"{CHECKPOINT}-{self.step}.pt", buf.getvalue())
        previous = self._checkpoint()
        mark = {"artifact_id": ref.artifact_id, "step": self.step, "best": self.best, "n_failed": self.n_failed,
                "claim": getattr(self._claim, "generation", 0)}
        self._recorder.mark(CHECKPOINT, mark)
        self._mark = mark
        if previous:
            self._artifacts.remove(previous["artifact_id"])

    def _checkpoint(self) -> dict[str, Any] | None:
        """The cell's last checkpoint mark (read from the storage once, then kept)."""
        if self._mark is None:
            mark = self._recorder.attrs().get(CHECKPOINT)
            self._mark = mark if isinstance(mark, dict) and mark.get("artifact_id") else {}
        return self._mark or None

    def restore(self, *, rewind: bool = True) -> Any | None:
        """The last checkpoint's state, the run continuing from its step; None when there is none, the run
        then starting over from step 0 (see :meth:`replay_from_start`). With ``rewind=False`` the run stays
        after its recorded steps whatever the checkpoint's step (a loop that replays its history itself and
        keeps only auxiliary state in checkpoints, such as a warm start)."""
        mark = self._checkpoint()
        if mark is None or int(mark.get("step", -1)) > self._recorded:
            if rewind:
                self.replay_from_start()
            return None
        try:
            state = torch.load(io.BytesIO(self._artifacts.get(mark["artifact_id"])), map_location=self.device,
                               weights_only=False)
        except Exception as e:  # a checkpoint file lost with its folder: start over, recorded steps stand
            log.warning("%s: checkpoint %s unreadable (%s); starting from scratch", self.key, mark.get("artifact_id"), e)
            if rewind:
                self.replay_from_start()
            return None
        if rewind:
            self.step = int(mark["step"])
            self.best = mark.get("best")
            self.n_failed = int(mark.get("n_failed", 0))
        return state

    def replay_from_start(self) -> None:
        """Run again from step 0 (no checkpoint): recorded steps are counted again, not written again."""
        self.step, self.best, self.n_failed = 0, None, 0


def _row(value: Any, i: int, n: int, name: str) -> float:
    t = torch.as_tensor(value, dtype=torch.float64).reshape(-1)
    if t.numel() not in (1, n):
        raise SolverError(f"{name!r} has {t.numel()} entries for {n} rows")
    return float(t[i] if t.numel() == n else t[0])


def _artifact_rows(artifacts: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None, n: int) -> list[dict[str, Any]]:
    if artifacts is None:
        return [{} for _ in range(n)]
    if isinstance(artifacts, Mapping):
        if n != 1:
            raise SolverError(f"artifacts for {n} rows must be one mapping per row")
        return [dict(artifacts)]
    rows = [dict(a) for a in artifacts]
    if len(rows) != n:
        raise SolverError(f"artifacts for {n} rows must be one mapping per row, but got {len(rows)}")
    return rows


def _last_finite(elapsed: Tensor) -> float:
    return float(elapsed[-1]) if len(elapsed) and math.isfinite(float(elapsed[-1])) else 0.0


def _best(y: Tensor, sign: float) -> float | None:
    return None if y.numel() == 0 else float((sign * y).min()) * sign


def _better(a: float | None, b: float | None, sign: float) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return a if sign * a <= sign * b else b


__all__ = ["ArtifactRef", "CellRun", "Evaluation", "Events", "evaluate_safely"]
