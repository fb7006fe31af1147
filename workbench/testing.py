"""Contract checks every problem and every solver must pass; the test suite runs them over the registries,
and users can run them on their own problems and solvers (``check_problem(MyProblem())``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from workbench.problem import Problem, Queryable, validate_problem
from workbench.recorder import trials_to_history
from workbench.runner import Runner
from workbench.solver import Solver
from workbench.solvers import resolve_solver
from workbench.study import Study


def check_problem(problem: Problem, *, n: int = 64, seed: int = 0, rtol: float = 1e-4) -> None:
    """Raise ``AssertionError`` unless ``problem`` keeps the problem contract:

    declaration valid; ``evaluate`` batched, finite, and equal row by row; records round-trip; the
    known optimizers attain the known optimum; no sampled point beats the optimum."""
    validate_problem(problem)
    assert isinstance(problem, Queryable), f"{problem.name}: has no evaluate"
    space = problem.space
    X = space.sample(n, seed)
    assert bool(space.contains(X).all()), f"{problem.name}: sampled points outside the space"
    assert torch.equal(space.encode(space.decode(X)), X), f"{problem.name}: records do not round-trip"
    y = problem.evaluate(X)
    assert tuple(y.shape) == (n,), f"{problem.name}: evaluate returned shape {tuple(y.shape)} for {n} points"
    assert bool(torch.isfinite(y).all()), f"{problem.name}: non-finite values inside the space"
    rows = torch.cat([problem.evaluate(X[i : i + 1]) for i in range(min(n, 8))])
    torch.testing.assert_close(rows, y[: len(rows)], msg=f"{problem.name}: batched and row-wise values differ")
    if problem.optimum is None:
        return
    sign = 1.0 if problem.direction == "minimize" else -1.0
    tol = rtol * max(1.0, abs(problem.optimum))
    assert bool((sign * y >= sign * problem.optimum - tol).all()), (
        f"{problem.name}: a sampled point beats the declared optimum {problem.optimum}: {float(sign * (sign * y).min())}"
    )
    if problem.optimizers:
        at = problem.evaluate(space.encode(problem.optimizers))
        err = (at - problem.optimum).abs().max().item()
        assert err <= tol, f"{problem.name}: known optimizers give {at.tolist()}, optimum is {problem.optimum}"


def run_cells(
    problem: Problem, solver: str | Solver, *, seeds: tuple[int, ...] = (0,), budget: int = 12, batch_size: int = 1,
    run_dir: str | Path | None = None,
) -> dict[int, list[list[float]]]:
    """Run ``solver`` on ``problem`` for each seed; return the recorded native rows per seed, in step order."""
    study = Study(name="contract", problems=[problem], solvers=[solver], seeds=seeds, budget=budget,
                  batch_size=batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(study, run_dir=run_dir or tmp, device="cpu")
        runner.run()
        store = runner.store
        out = {}
        for cell in study.cells():
            trials = store.trials(store.study_id(cell.key(study.name)))
            history = trials_to_history(trials, problem.space)
            assert len(trials) == budget, f"{cell.key(study.name)}: {len(trials)} trials, budget {budget}"
            out[cell.seed] = history.X.tolist()
        return out


_FRESH = """
import json, sys
from workbench.testing import run_cells
from workbench.solvers import resolve_solver
from problems.synthetic import Branin
names = json.loads(sys.argv[1])
seed = int(sys.argv[3])
print(json.dumps({n: run_cells(Branin(), n, seeds=(seed,), budget=int(sys.argv[2]))[seed] for n in names}))
"""


def trials_in_fresh_process(solver_names: list[str], budget: int, *, seed: int = 3) -> dict[str, list[list[float]]]:
    """Run each registered solver on Branin (``seed``) in a new Python process; the recorded rows per solver."""
    out = subprocess.run(
        [sys.executable, "-c", _FRESH, json.dumps(solver_names), str(budget), str(seed)],
        capture_output=True, text=True, check=False, timeout=900,
    )
    if out.returncode:
        raise AssertionError(f"fresh process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_solver(solver: str | Solver, problem: Problem, *, budget: int = 12, batch_size: int = 1) -> Any:
    """Raise ``AssertionError`` unless ``solver`` keeps the solver contract on ``problem``: exactly ``budget``
    evaluations recorded, all inside the space, the same rows for the same seed, other rows for another."""
    solver = resolve_solver(solver)
    first = run_cells(problem, solver, seeds=(0, 1), budget=budget, batch_size=batch_size)
    again = run_cells(problem, solver, seeds=(0,), budget=budget, batch_size=batch_size)
    X = torch.tensor(first[0], dtype=torch.float64)
    assert bool(problem.space.contains(X).all()), f"{solver.label}: recorded points outside the space"
    assert first[0] == again[0], f"{solver.label}: the same seed gave different trials"
    assert first[0] != first[1], f"{solver.label}: seeds 0 and 1 gave the same trials"
    assert all(math.isfinite(v) for row in first[0] for v in row)
    return first
