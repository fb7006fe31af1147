"""CellRun and budgets: what a family's loop can and cannot do through the handle (workbench/cell.py,
workbench/budget.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch

from tests.families.bisection import BisectionFamily, RootProblem
from workbench import Budget, Problem, Real, Space, Study
from workbench.artifacts import Artifacts
from workbench.cell import CHECKPOINT, CellRun
from workbench.errors import InvalidStudyError, SolverError
from workbench.family import Family
from workbench.recorder import Recorder, Store
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solver import Solver


class Metered(Problem):
    """A black-box problem whose evaluations cost ``per`` simulated seconds each (or what ``cost_fn`` says)."""

    space = Space(Real("x", 0.0, 1.0))
    cost_axes = ("sim",)

    def __init__(self, name: str = "metered", per: float = 1.0, cost_fn=None) -> None:
        self.name, self.per, self.cost_fn = name, per, cost_fn

    def evaluate(self, X):
        return X[:, 0] ** 2

    def cost(self, X):
        return {"sim": self.cost_fn(X) if self.cost_fn else torch.full((len(X),), self.per)}


class Plain(Problem):
    name = "plain"
    space = Space(Real("x", 0.0, 1.0))

    def evaluate(self, X):
        return X[:, 0]


def steps_of(ds, problem="metered"):
    return int((ds["failed"].sel(problem=problem).values[0, 0] >= 0).sum())


def test_costs_that_sum_to_the_budget_stop_there_and_a_batch_stops_at_its_crossing_row(tmp_path):
    tenth = Study("t", problems=[Metered(per=0.1)], solvers=["random"], budget=Budget(sim=1.0))
    assert steps_of(load_results(Runner(tenth, run_dir=tmp_path / "a", device="cpu").run())) == 10
    batched = Study("b", problems=[Metered()], solvers=["random"], budget=Budget(sim=10), batch_size=4)
    ds = load_results(Runner(batched, run_dir=tmp_path / "b", device="cpu").run())
    assert steps_of(ds) == 10 and float(ds["cost"].sel(axis="sim").max()) == 10.0


def test_a_cost_budget_every_problem_cannot_count_is_refused_and_bad_costs_stop_the_cell(tmp_path):
    with pytest.raises(InvalidStudyError, match=r"counts 'sim', which problems \['plain'\] do not record"):
        Study("m", problems=[Metered(), Plain()], solvers=["random"], budget=Budget(sim=3))
    for bad in (math.nan, 0.0, -1.0):
        study = Study("n", problems=[Metered(cost_fn=lambda X, v=bad: torch.full((len(X),), v))], solvers=["random"],
                      budget=Budget(sim=3))
        with pytest.raises(SolverError, match=r"'sim' cost must be > 0 \(it counts against the budget\)"):
            Runner(study, run_dir=tmp_path / f"n{bad}", device="cpu").run()


def run_handle(tmp_path, claim=None, **kw) -> CellRun:
    problem = RootProblem("cubic", lambda x: x**3 - 2.0, 0.0, 2.0)
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    recorder = Recorder(store, "s/cubic/b/0", space=problem.space, direction="minimize", attrs={})
    from tests.families.bisection import Bisection

    return CellRun(key="s/cubic/b/0", problem=problem, solver=Bisection(), seed=0, device=torch.device("cpu"),
                   budget=Budget(calls=10), batch_size=1, recorder=recorder, artifacts=Artifacts(tmp_path / "art"),
                   axes=("calls",), claim=claim, **kw)


def test_record_checks_its_rows_and_a_nan_value_is_a_recorded_failure(tmp_path):
    run = run_handle(tmp_path)
    X = torch.tensor([[0.5], [0.7]], dtype=torch.float64)
    with pytest.raises(SolverError, match="record got 2 rows, 2 values and 1 reasons"):
        run.record(X, torch.tensor([1.0, 2.0]), [None], costs={"calls": [1, 1]})
    assert run.record(X, torch.tensor([math.nan, 2.0]), [None, None], costs={"calls": [1, 1]})
    history = run._recorder.history()
    assert history.failed.tolist() == [True, False] and history.reasons[0] == "objective returned nan"
    with pytest.raises(SolverError, match="axis 'seconds', which the study does not record"):
        run.record(X[:1], torch.tensor([1.0]), [None], costs={"calls": [1], "seconds": [1]})


class Lost:
    generation = 1

    def still_held(self) -> bool:
        return False


def test_a_worker_that_lost_the_cell_writes_neither_steps_nor_checkpoints(tmp_path):
    owner = run_handle(tmp_path)
    X = torch.tensor([[0.5]], dtype=torch.float64)
    owner.record(X, torch.tensor([1.0]), [None], costs={"calls": [1]})
    owner.save({"a": 1})
    mark = owner._recorder.attrs()[CHECKPOINT]
    stale = run_handle(tmp_path, claim=Lost())
    assert stale.record(X, torch.tensor([3.0]), [None], costs={"calls": [1]}) is False
    stale.save({"a": 2})
    assert owner._recorder.attrs()[CHECKPOINT] == mark and len(owner._recorder.history()) == 1


def test_a_family_metric_not_recorded_yet_scores_nan_and_a_family_must_be_importable(tmp_path):
    ds = load_results(Runner(Study("p", problems=[Plain()], solvers=["random"], budget=2), run_dir=tmp_path,
                             device="cpu").run())
    (width,) = BisectionFamily.metrics
    assert np.isnan(width.scores(ds).values).all()

    class Inline(Family):
        name = "inline"

        def drive(self, run):  # pragma: no cover - refused before it runs
            pass

    Inline.__module__ = "__workbench_study__"
    from workbench.family import families

    families.add(Inline())

    class InlineProblem(Plain):
        family = "inline"
        name = "inl"

    @dataclass(frozen=True, kw_only=True)
    class InlineSolver(Solver):
        family: ClassVar[str] = "inline"

    with pytest.raises(InvalidStudyError, match="family 'inline' is defined in the study file itself"):
        Study("i", problems=[InlineProblem()], solvers=[InlineSolver()])
