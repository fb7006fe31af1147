"""A toy family, written the way a user adds a kind of problem: root finding in a bracket, cost = function
calls. Nothing here touches the core; the family registers itself when this module is imported.

* problems: :class:`RootProblem` — a function ``f`` of one variable with a sign change in ``[lo, hi]``; a
  step's value is ``|f(x)|`` at the step's point (minimized, optimum 0);
* solvers: :class:`Bisection` (the midpoint) and :class:`RegulaFalsi` (the secant through the bracket's
  ends), both keeping a bracket ``[a, b]`` with ``f(a) f(b) <= 0``;
* the loop evaluates the two ends first (two calls, recorded with the first step), then one call per step;
  it records the bracket width as a metric and the bracket as an artifact, and checkpoints the bracket after
  every step, so a killed cell resumes where it was.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from workbench import Problem, Real, Space
from workbench.cell import CellRun
from workbench.family import Family, Metric, Page, families
from workbench.solver import Solver


class RootProblem(Problem):
    """Find a root of ``fn`` in ``[lo, hi]`` (``fn(lo)`` and ``fn(hi)`` of opposite signs)."""

    family: ClassVar[str] = "bisection"
    optimum = 0.0

    def __init__(self, name: str, fn: Callable[[float], float], lo: float, hi: float, *, log: str = "",
                 delay: float = 0.0) -> None:
        self.name, self.fn, self.lo, self.hi = name, fn, float(lo), float(hi)
        self.space = Space(Real("x", self.lo, self.hi))
        self.log, self.delay = log, delay  # tests: where to note each call, and how long a call takes
        self.params = {"lo": self.lo, "hi": self.hi}

    def f(self, x: float) -> float:
        if self.log:
            with Path(self.log).open("a") as out:
                out.write(f"{x!r}\n")
        if self.delay:
            time.sleep(self.delay)
        return float(self.fn(x))


@dataclass(frozen=True, kw_only=True)
class RootSolver(Solver):
    """A bracketing method: the next point from the bracket ``(a, fa, b, fb)``."""

    family: ClassVar[str] = "bisection"

    def point(self, a: float, fa: float, b: float, fb: float) -> float:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Bisection(RootSolver):
    """The midpoint of the bracket."""

    def point(self, a: float, fa: float, b: float, fb: float) -> float:
        return 0.5 * (a + b)


@dataclass(frozen=True, kw_only=True)
class RegulaFalsi(RootSolver):
    """Where the secant through the bracket's ends crosses zero."""

    def point(self, a: float, fa: float, b: float, fb: float) -> float:
        return b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)


class BisectionFamily(Family):
    name = "bisection"
    summary = "a root of a function in a bracket; cost = function calls"
    axes = ("calls",)
    metrics = (Metric("width", "final bracket width", lambda ds: ds["width"].min("step", skipna=True), True,
                      "lower is better"),)
    pages = (Page(str(Path(__file__).with_name("brackets_page.py")), "Brackets"),)

    def drive(self, run: CellRun) -> None:
        problem: RootProblem = run.problem  # type: ignore[assignment]
        solver: RootSolver = run.solver  # type: ignore[assignment]
        state = run.restore()  # None: no checkpoint, the run starts over (recorded steps are not written twice)
        if state is None:
            a, b = problem.lo, problem.hi
            state = {"a": a, "fa": problem.f(a), "b": b, "fb": problem.f(b), "calls": 2}
        signed: dict[str, float] = {}

        def f(X: torch.Tensor) -> torch.Tensor:  # |f(x)| is the step's value; the sign moves the bracket
            signed["fx"] = problem.f(float(X[0, 0]))
            return torch.tensor([abs(signed["fx"])])

        going = not run.done
        while going:
            a, fa, b, fb = state["a"], state["fa"], state["b"], state["fb"]
            x = min(max(solver.point(a, fa, b, fb), a), b)
            X = torch.tensor([[x]], dtype=torch.float64)
            evaluation = run.evaluate(X, f)
            fx = signed["fx"] if evaluation.reasons[0] is None else math.nan
            if math.isfinite(fx):
                a, fa, b, fb = (a, fa, x, fx) if fa * fx <= 0 else (x, fx, b, fb)
            calls, state = state["calls"] + 1, {"a": a, "fa": fa, "b": b, "fb": fb, "calls": 0}
            going = run.record(X, evaluation.values, evaluation.reasons, costs={"calls": [calls]},
                               metrics={"width": [b - a]}, artifacts={"bracket": torch.tensor([a, b])})
            run.save(state)


family = families.add(BisectionFamily())
