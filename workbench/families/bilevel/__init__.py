"""The bilevel family: tune hyperparameters θ of a lower-level problem, counting the lower-level work.

A cell drives either a :class:`BilevelSolver` (one outer iteration per step: MAID, HOAG, ...) or, as a
guest, any black-box solver (``random``, ``optuna-tpe``, ``bo-gp``, ...) on the problem seen as a black box
``θ -> g(x̂(θ))``: each query solves the lower level to the problem's certified ``lower_tol``, warm-started
from the previous query's solution, and evaluates ``g`` once. Either way every evaluation goes through the
counted :class:`Oracle`, and each step records what it spent on the family's axes:

* ``lower_iterations`` — lower-level gradients (or values) of ``h``;
* ``adjoint_iterations`` — Hessian-vector and mixed products (conjugate-gradient iterations);
* ``upper_evaluations`` — values or gradients of ``g``;
* ``solver_seconds`` — the wall time of the step's own work (scoring excluded).

A budget may count any of them (``Budget(lower_iterations=10_000)``), so that every solver, BO included,
stops at the same work: a step (or query) that would pass the budget is cut where the budget ends and not
recorded, so a cell ends after its last whole step, within one step of the budget, and a later run with a
larger budget goes on from there. A step's recorded row is its θ; its **value** is the upper-level loss at θ scored by
the family: for a strongly convex lower level, ``g`` at the lower-level solution refined from the solver's
iterate to the problem's ``score_tol`` (uncounted), so that every solver is scored the same way whatever
accuracy it ran at; otherwise ``g`` at the solver's iterate. The problem's test metrics (``psnr``,
``test_accuracy``) are computed there too, and a solver's ``info`` (its tolerances, step size) is recorded
as metrics.

A step that raises (a lower level that turns NaN, a solve that does not converge) is recorded as failed with
its reason: a black-box query's cell goes on with the next query; a gradient method's cell ends there (its
state has nothing better to try). The loop checkpoints the solver's state (or the black-box warm start)
after every step, so a killed cell resumes from its last step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import xarray as xr
from torch import Tensor

from workbench.budget import Budget
from workbench.cell import CellRun
from workbench.errors import WorkbenchError
from workbench.families.bilevel.lower import Solve, conjugate_gradient, fista
from workbench.families.bilevel.oracle import BudgetSpent, Counter, LowerLevelError, Oracle
from workbench.families.bilevel.problem import (
    ADJOINT,
    LOWER,
    SOLVER_SECONDS,
    UPPER,
    BilevelProblem,
    check_bilevel,
)
from workbench.families.bilevel.solver import BilevelRun, BilevelSolver, Iterate
from workbench.family import Family, Metric, Page, at_incumbent, families
from workbench.problem import Problem


def at_best(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """``variable`` at each cell's incumbent: the successful step of least upper-level loss (NaN for a cell
    with none). A gradient method's incumbent is usually its last step; a black-box solver's, its best query."""
    return at_incumbent(ds, variable, "value", lowest=True)


METRICS = (
    Metric("upper_loss", "upper-level loss of the incumbent", lambda ds: at_best(ds, "value"), True,
           "lower is better; g at the lower-level solution of the incumbent θ, scored by the family"),
    Metric("psnr", "test PSNR at the incumbent (dB)", lambda ds: at_best(ds, "psnr"), False,
           "higher is better; denoising problems"),
    Metric("test_accuracy", "test accuracy at the incumbent", lambda ds: at_best(ds, "test_accuracy"), False,
           "higher is better; classification problems"),
    Metric("theta_error", "‖θ - θ*‖ / ‖θ*‖ at the incumbent", lambda ds: at_best(ds, "theta_error"), True,
           "lower is better; problems with a known θ*"),
)


class BilevelFamily(Family):
    name = "bilevel"
    summary = ("tune hyperparameters θ of a lower-level problem; cost = lower-level, adjoint and upper-level "
               "iterations")
    axes = (LOWER, ADJOINT, UPPER, SOLVER_SECONDS)
    metrics = METRICS
    guests = ("blackbox",)
    pages = (Page(str(Path(__file__).resolve().parents[3] / "dashboards" / "views" / "bilevel.py"), "Bilevel"),)

    def default_budget(self, problems: Sequence[Problem]) -> Budget:  # type: ignore[override]
        return Budget(lower_iterations=10_000)

    problem_class = BilevelProblem

    def validate(self, problem: Problem, where: str) -> None:
        check_bilevel(problem, where)  # type: ignore[arg-type]

    def drive(self, run: CellRun) -> None:
        problem: BilevelProblem = run.problem.to(run.device)  # type: ignore[attr-defined]
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda):  # anything drawn from torch's global state: the cell's seed
            torch.manual_seed(run.seed)
            if isinstance(run.solver, BilevelSolver):
                _drive_bilevel(run, problem)
            else:
                _drive_blackbox(run, problem)


class Scorer:
    """The family's scoring of a step (uncounted): ``g`` at the lower-level solution refined to the
    problem's ``score_tol``, the test metrics there, and ``‖θ - θ*‖ / ‖θ*‖`` where θ* is known."""

    def __init__(self, problem: BilevelProblem) -> None:
        self.problem = problem
        self.oracle = Oracle(problem)  # its own counter: nothing it spends is charged to the solver
        self.theta_star = getattr(problem, "theta_star", None)

    def __call__(self, theta: Tensor, x: Tensor) -> tuple[float, dict[str, float]]:
        if self.problem.strongly_convex:
            x = fista(self.oracle, x, theta, self.problem.score_tol).x
        with torch.no_grad():
            value = float(self.problem.upper(x))
            metrics = {k: float(v) for k, v in self.problem.report(x, theta).items()}
            metrics.update({k: float(v) for k, v in self.problem.hyperparameters(theta).items()})
        if self.theta_star is not None:
            star = self.theta_star.to(theta)
            metrics["theta_error"] = float(torch.linalg.vector_norm(theta - star) / torch.linalg.vector_norm(star))
        return value, metrics


def _row(theta: Tensor) -> Tensor:
    return theta.detach().to(torch.float64).reshape(1, -1)


def _costs(before: Mapping[str, int], counter: Counter, seconds: float, budget_axis: str) -> dict[str, float]:
    spent = counter.snapshot()
    costs: dict[str, float] = {a: float(spent[a] - before[a]) for a in spent}
    costs[SOLVER_SECONDS] = max(seconds, 1e-9)
    if budget_axis in costs and costs[budget_axis] <= 0:
        costs[budget_axis] = 1.0  # a step that failed before it spent anything still counts once
    return costs


def _cap(run: CellRun, counter: Counter) -> None:
    """Cap the counter at what is left of a budget counted in lower, adjoint or upper iterations, so that a
    step stops where the budget ends (:class:`BudgetSpent`) instead of overshooting it."""
    counter.caps.clear()
    axis = run.budget.axis
    if axis in (LOWER, ADJOINT, UPPER):
        counter.caps[axis] = getattr(counter, axis) + max(run.budget.amount - run.spent.get(axis, 0.0), 0.0)


def _reason(e: Exception) -> str:
    """A failed step's reason; a ``WorkbenchError`` that is no lower-level failure (a solver's own bug) is
    raised instead, to stop the cell as the other families do."""
    if isinstance(e, WorkbenchError) and not isinstance(e, LowerLevelError):
        raise e
    return f"{type(e).__name__}: {e}"


def _drive_bilevel(run: CellRun, problem: BilevelProblem) -> None:
    solver: BilevelSolver = run.solver  # type: ignore[assignment]
    counter = Counter()
    oracle = Oracle(problem, counter)
    scorer = Scorer(problem)
    state: BilevelRun = solver.start(oracle, run.context)
    saved = run.restore()
    if saved is not None:
        state.load_state_dict(saved["state"])
    theta = saved["theta"] if saved is not None else oracle.project(oracle.theta0().to(run.device))
    going = not run.done
    while going:
        before, reason, it = counter.snapshot(), None, None
        _cap(run, counter)
        t0 = time.perf_counter()
        try:
            it = state.step()
        except BudgetSpent:
            return  # the budget ends inside this step: the cell stops after its last whole step
        except Exception as e:  # the problem raised or turned NaN inside the step
            reason = _reason(e)
        seconds = time.perf_counter() - t0
        value, metrics = math.nan, {}
        if it is not None:
            theta = oracle.project(it.theta)
            metrics = {k: float(v) for k, v in it.info.items() if math.isfinite(float(v))}
            try:
                value, scores = scorer(theta, it.x)
                metrics.update(scores)
            except Exception as e:  # the step stands; only its score is missing
                value, reason = math.nan, f"scoring failed: {type(e).__name__}: {e}"
        going = run.record(_row(theta), torch.tensor([value], dtype=torch.float64), [reason],
                           costs=_costs(before, counter, seconds, run.budget.axis), metrics=metrics)
        if it is None:
            return  # a gradient method has nothing better to try from a broken state: the cell ends here
        run.save({"state": state.state_dict(), "theta": theta})


def _drive_blackbox(run: CellRun, problem: BilevelProblem) -> None:
    """A black-box solver on ``θ -> g(x̂(θ))``: each query solves the lower level to ``lower_tol`` from the
    last query's solution (a non-convex problem: its own ``solve``) and pays one upper-level evaluation; the
    solver is told that value, the record holds the family's score. The solver's own time (``ask``, ``tell``)
    is charged to ``solver_seconds`` with the next query."""
    from workbench.families.blackbox import BlackBoxSolver

    solver: BlackBoxSolver = run.solver  # type: ignore[assignment]
    counter = Counter()
    oracle = Oracle(problem, counter)
    scorer = Scorer(problem)
    history = run.history
    overhead = time.perf_counter()
    ask_tell = solver.start(run.context)
    ok = ~history.failed
    if ok.any():
        ask_tell.tell(history.X[ok].to(run.device), run.sign * history.values[ok].to(run.device))
    saved = run.restore(rewind=False)  # the warm start only: the run goes on after its recorded steps
    x = saved["x"].to(run.device) if saved is not None else oracle.x0()
    going = not run.done
    while going and (q := run.next_batch()) > 0:
        X = run.checked(ask_tell.ask(q), q, f"ask({q})")
        overhead = time.perf_counter() - overhead
        told: list[int] = []
        paid = torch.full((q,), math.nan, dtype=torch.float64)
        for i in range(q):
            before, reason, value, metrics = counter.snapshot(), None, math.nan, {}
            _cap(run, counter)
            t0 = time.perf_counter()
            theta = X[i].to(torch.float64)
            try:
                solved = solve_lower(oracle, problem, x, theta, problem.lower_tol)
                paid[i] = oracle.upper(solved.x)  # the query's value, as the solver pays for it
                x = solved.x
                told.append(i)
            except BudgetSpent:
                return  # the budget ends inside this query: the cell stops after its last whole query
            except Exception as e:
                reason = _reason(e)
            seconds = time.perf_counter() - t0 + (overhead if i == 0 else 0.0)
            if reason is None:
                try:
                    value, metrics = scorer(theta, x)
                    metrics["lower_bound"] = solved.bound
                except Exception as e:
                    reason = f"scoring failed: {type(e).__name__}: {e}"
            going = run.record(X[i : i + 1], torch.tensor([value], dtype=torch.float64), [reason],
                               costs=_costs(before, counter, seconds, run.budget.axis), metrics=metrics)
            if not going:
                break
        run.save({"x": x})
        overhead = time.perf_counter()
        if going and told:
            idx = torch.tensor(told, device=X.device)
            ask_tell.tell(X[idx], (run.sign * paid[told]).to(run.device))


def solve_lower(oracle: Oracle, problem: BilevelProblem, x: Tensor, theta: Tensor, tol: float) -> Solve:
    """The lower level at ``theta`` from ``x``: certified FISTA to ``tol`` when strongly convex, else the
    problem's own ``solve``."""
    if problem.strongly_convex:
        return fista(oracle, x, theta, tol)
    return problem.solve(oracle, x, theta)  # type: ignore[attr-defined]


family = families.add(BilevelFamily())

__all__ = ["BilevelFamily", "BilevelProblem", "BilevelRun", "BilevelSolver", "BudgetSpent", "Counter", "Iterate",
           "LowerLevelError",
           "Oracle", "Scorer", "Solve", "conjugate_gradient", "family", "fista", "solve_lower"]
