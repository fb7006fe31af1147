from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import optuna
import pytest
import torch

from problems.synthetic import Branin
from workbench import CapabilityError, EvaluationError, Problem, Real, SolverError, Space, Study, problem
from workbench.budget import Budget
from workbench.cell import evaluate_safely
from workbench.families.blackbox import BlackBoxSolver, SolverRun
from workbench.recorder import open_storage
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solver import CellContext


@dataclass(frozen=True, kw_only=True)
class Spy(BlackBoxSolver):
    """Random points; remembers everything it was told (shared list, so tests can read it)."""

    told: list = field(default_factory=list, compare=False, hash=False)
    outside: bool = False

    def start(self, cell: CellContext) -> SolverRun:
        spy = self

        class Run(SolverRun):
            def __init__(self):
                self.g = torch.Generator().manual_seed(cell.seed)

            def ask(self, n):
                U = torch.rand(n, cell.space.dim, generator=self.g, dtype=torch.float64)
                X = cell.space.from_unit(U)
                return X + 10.0 if spy.outside else X

            def tell(self, X, y):
                spy.told.extend(y.tolist())

        return Run()


def _flaky():
    @problem(space=Space(Real("x", 0.0, 1.0)), name="flaky", optimum=0.0)
    def flaky(r):
        x = r["x"]
        if x < 0.2:
            raise RuntimeError("simulator crashed")
        if x < 0.4:
            return float("nan")
        if x < 0.5:
            return float("inf")
        return x

    return flaky


def test_failed_evaluations_are_recorded_with_reasons_and_never_told(tmp_path):
    spy = Spy()
    study = Study(name="s", problems=[_flaky()], solvers=[spy], seeds=[0], budget=40)
    Runner(study, run_dir=tmp_path).run()
    trials = optuna.load_study(study_name="s/flaky/Spy/0", storage=open_storage(f"sqlite:///{tmp_path}/optuna.db")).trials
    assert len(trials) == 40
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    reasons = {t.user_attrs["fail_reason"] for t in failed}
    assert "RuntimeError: simulator crashed" in reasons
    assert {"objective returned nan", "objective returned inf"} <= reasons
    assert all(t.params["x"] < 0.5 for t in failed) and len(failed) > 10
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(spy.told) == sorted(t.value for t in complete)  # the solver saw successes only
    assert all(math.isfinite(v) for v in spy.told)
    ds = load_results(tmp_path)
    assert int((ds.failed == 1).sum()) == len(failed)
    assert sorted(t.user_attrs["step"] for t in trials) == list(range(40))


def test_a_raising_batch_fails_only_the_rows_that_raise():
    flaky = _flaky()
    X = torch.tensor([[0.1], [0.9], [0.3]], dtype=torch.float64)
    ev = evaluate_safely(flaky.evaluate, X)
    assert ev.reasons[0].startswith("RuntimeError") and ev.reasons[1] is None and "nan" in ev.reasons[2]
    assert ev.values[1] == 0.9 and math.isnan(ev.values[0])


def test_fail_fast_stops_after_recording_the_failure(tmp_path):
    study = Study(name="s", problems=[_flaky()], solvers=[Spy()], seeds=[0], budget=40)
    with pytest.raises(EvaluationError, match="evaluation .* failed"):
        Runner(study, run_dir=tmp_path, fail_fast=True).run()
    trials = optuna.load_study(study_name="s/flaky/Spy/0", storage=f"sqlite:///{tmp_path}/optuna.db").trials
    assert trials[-1].state == optuna.trial.TrialState.FAIL and len(trials) < 40


def test_a_point_outside_the_space_is_an_error_naming_the_solver(tmp_path):
    study = Study(name="s", problems=[Branin()], solvers=[Spy(outside=True, name="wild")], seeds=[0], budget=5)
    with pytest.raises(SolverError, match="solver 'wild' proposed a point outside the space of problem 'branin'"):
        Runner(study, run_dir=tmp_path).run()


def test_capability_mismatch_is_refused_before_anything_runs(tmp_path):
    class OfflineOnly(Problem):
        name = "offline-only"
        space = Space(Real("x", 0, 1))

    study = Study(name="s", problems=[OfflineOnly()], solvers=["random"], seeds=[0], budget=5)
    with pytest.raises(CapabilityError, match="solver 'random' cannot run on problem 'offline-only'.*Queryable"):
        Runner(study, run_dir=tmp_path).run()
    assert not (tmp_path / "optuna.db").exists()


def test_resume_continues_from_recorded_evaluations(tmp_path):
    study = Study(name="s", problems=[Branin()], solvers=["random", "optuna-tpe"], seeds=[0, 1], budget=10)
    short = Study(name="s", problems=[Branin()], solvers=["random", "optuna-tpe"], seeds=[0, 1], budget=4)
    Runner(short, run_dir=tmp_path).run()  # the same cells, stopped after 4 evaluations
    Runner(study, run_dir=tmp_path).run()
    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db")
    for cell in study.cells():
        trials = optuna.load_study(study_name=cell.key("s"), storage=storage).trials
        assert sorted(t.user_attrs["step"] for t in trials) == list(range(10))
    # random continues the very Sobol sequence an uninterrupted run draws
    fresh = tmp_path / "fresh"
    Runner(study, run_dir=fresh).run()
    a, b = load_results(tmp_path), load_results(fresh)
    np.testing.assert_array_equal(a.value.sel(solver="random").values, b.value.sel(solver="random").values)
    # a finished study runs nothing more
    Runner(study, run_dir=tmp_path).run()
    assert len(optuna.load_study(study_name="s/branin/random/0", storage=storage).trials) == 10


def test_results_hold_best_regret_and_elapsed(tmp_path):
    study = Study(name="s", problems=[Branin()], solvers=["random"], seeds=[0, 1], budget=8)
    ds = load_results(Runner(study, run_dir=tmp_path).run())
    assert dict(ds.sizes) == {"problem": 1, "solver": 1, "seed": 2, "step": 8}
    v = ds.value.values[0, 0]
    np.testing.assert_allclose(ds.best.values[0, 0], np.minimum.accumulate(v, axis=-1))
    np.testing.assert_allclose(ds.regret.values[0, 0], np.minimum.accumulate(v, axis=-1) - 0.397887)
    assert (np.diff(ds.elapsed.values, axis=-1) >= 0).all()
    assert '"budget": {"evaluations": 8}' in ds.attrs["study"] and "optuna" in ds.attrs["versions"]


def test_partial_results_leave_steps_not_run_empty(tmp_path):
    short = Study(name="s", problems=[Branin()], solvers=["random"], seeds=[0], budget=3)
    Runner(short, run_dir=tmp_path).run()
    full = Study(name="s", problems=[Branin()], solvers=["random"], seeds=[0], budget=6)
    ds = Runner(full, run_dir=tmp_path).write_results()
    ds = load_results(ds)
    assert np.isfinite(ds.best.values[0, 0, 0, :3]).all() and np.isnan(ds.best.values[0, 0, 0, 3:]).all()
    assert ds.failed.values[0, 0, 0].tolist() == [0, 0, 0, -1, -1, -1]


class Simulated(Problem):
    """A black-box problem whose evaluations cost simulated seconds (more near x = 1): a Costed problem."""

    name = "simulated"
    space = Space(Real("x", 0.0, 1.0))
    optimum = 0.0
    cost_axes = ("sim_seconds",)

    def evaluate(self, X):
        return (X[:, 0] - 0.3) ** 2

    def cost(self, X):
        return {"sim_seconds": 1.0 + X[:, 0]}


def test_a_black_box_problem_with_costs_records_them_and_stops_at_a_cost_budget(tmp_path):
    study = Study(name="c", problems=[Simulated()], solvers=["random"], seeds=[0, 1], budget=Budget(sim_seconds=10.0))
    assert study.axes == ("sim_seconds",)
    ds = load_results(Runner(study, run_dir=tmp_path, device="cpu").run())
    for seed in (0, 1):
        c = ds["cost"].sel(axis="sim_seconds", seed=seed).values[0, 0]
        c = c[np.isfinite(c)]
        per_step = np.diff(c, prepend=0.0)
        assert ((1.0 <= per_step) & (per_step <= 2.0)).all()  # 1 + x for x in [0, 1]
        assert c[-1] >= 10.0 > c[-2]  # the evaluation that reaches the budget is the last
    board = ds["best"].values[0, 0]
    assert np.isfinite(board).any()
