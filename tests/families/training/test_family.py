"""The training family's loop: records, costs, budgets, failures, declarations, kill -9 and resume."""

from __future__ import annotations

import signal
import sqlite3
import subprocess

import numpy as np
import pytest
import torch

from problems.training import LogregBreastCancer, LogregDigits, SquaredDigits
from tests.conftest import trials_recorded, workbench_cmd
from workbench import Study
from workbench.budget import Budget
from workbench.errors import InvalidProblemError, InvalidStudyError
from workbench.family import family_for
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers.training import SGD, SSO, Adam


def run(study, tmp_path):
    Runner(study, run_dir=tmp_path / study.name, device="cpu").run()
    return load_results(tmp_path / study.name)


def test_a_cell_records_one_step_per_epoch_with_its_costs_and_scores(tmp_path):
    problem = LogregBreastCancer(batch_size=50)
    ds = run(Study("epochs", problems=[problem], solvers=[SGD(lr=0.5), SSO(m=3, inner="fixed", inner_lr=0.5)],
                   seeds=[0], budget=4), tmp_path)
    per_epoch = problem.steps_per_epoch(50)
    assert per_epoch == 7 and ds.sizes["step"] == 4
    calls = ds["cost"].sel(problem=problem.name, seed=0, axis="oracle_calls")
    assert calls.sel(solver="sgd").values.tolist() == [7, 14, 21, 28]
    assert calls.sel(solver="sso").values.tolist() == [7, 14, 21, 28]
    passes = ds["cost"].sel(problem=problem.name, seed=0, axis="model_passes")
    assert passes.sel(solver="sgd").values[-1] == 2 * 28 and passes.sel(solver="sso").values[-1] == 28 * (1 + 3 * 2)
    assert ds["cost"].sel(axis="epochs").values[0, 0, 0].tolist() == [1, 2, 3, 4]
    value = ds["value"].sel(problem=problem.name, solver="sgd", seed=0).values
    assert value[-1] < value[0] and (value > ds["optimum"].sel(problem=problem.name).item()).all()
    acc = ds["test_accuracy"].sel(problem=problem.name, solver="sgd", seed=0).values
    assert (acc > 0.9).all() and (acc <= 1).all()
    assert np.isfinite(ds["test_loss"].values).all() and np.isfinite(ds["val_loss"].values).all()
    assert (ds["optimizer_bytes"].sel(solver="sgd").values == 0).all()  # plain SGD keeps no state


def test_a_budget_in_oracle_calls_stops_inside_an_epoch(tmp_path):
    problem = LogregBreastCancer(batch_size=25)  # 14 batches an epoch
    ds = run(Study("calls", problems=[problem], solvers=[Adam(lr=0.01)], seeds=[0], budget=Budget(oracle_calls=30)),
             tmp_path)
    calls = ds["cost"].sel(axis="oracle_calls").values.reshape(-1)
    epochs = ds["cost"].sel(axis="epochs").values.reshape(-1)
    assert calls[np.isfinite(calls)].tolist() == [14, 28, 30]
    assert epochs[np.isfinite(epochs)][-1] == pytest.approx(2 + 2 / 14)
    assert bool(ds["finished"].values.all())


class Squared(SquaredDigits):
    optimum = None  # not needed here: spare the reference solve


def test_a_budget_of_a_fraction_of_an_epoch_stops_inside_it(tmp_path):
    problem = LogregBreastCancer(batch_size=25)  # 14 batches an epoch
    ds = run(Study("half", problems=[problem], solvers=[SGD(lr=0.5)], seeds=[0], budget=Budget(epochs=2.5)), tmp_path)
    epochs = ds["cost"].sel(axis="epochs").values.reshape(-1)
    calls = ds["cost"].sel(axis="oracle_calls").values.reshape(-1)
    assert epochs[np.isfinite(epochs)].tolist() == [1, 2, 2.5] and calls[np.isfinite(calls)].tolist() == [14, 28, 35]


def test_a_diverging_training_is_a_recorded_failure_and_the_study_goes_on(tmp_path):
    problem = Squared(batch_size=20)
    ds = run(Study("diverge", problems=[problem], solvers=[SGD(lr=50.0, name="too-big"), SGD(lr=0.01, name="fine")],
                   seeds=[0], budget=3), tmp_path)
    bad = ds["failed"].sel(problem=problem.name, solver="too-big", seed=0).values
    good = ds["failed"].sel(problem=problem.name, solver="fine", seed=0).values
    first = int(np.flatnonzero(bad == 1)[0])  # the epoch where the loss overflowed: recorded, failed
    assert (bad[:first] == 0).all() and (bad[first + 1:] == -1).all()  # then the cell ended
    assert (good == 0).all() and np.isfinite(ds["value"].sel(solver="fine").values).all()
    assert bool(ds["finished"].values.all())
    # the leaderboard does not rank a diverged cell by its loss before it diverged
    final = family_for(ds).metric("train_loss").scores(ds).sel(problem=problem.name, seed=0)
    assert np.isnan(float(final.sel(solver="too-big"))) and np.isfinite(float(final.sel(solver="fine")))


class RaisingLoss(LogregBreastCancer):
    """A loss with a bug that shows in the third epoch."""

    def __init__(self) -> None:
        super().__init__(batch_size=100, name="raising")
        self.epoch = 0

    def batches(self, model, batch_size, generator):
        self.epoch += 1
        yield from super().batches(model, batch_size, generator)

    def loss(self, z, y):
        if getattr(self, "epoch", 0) >= 3:
            raise ValueError("the simulator crashed")
        return super().loss(z, y)


def test_a_loss_that_raises_fails_its_epoch_and_ends_the_cell(tmp_path):
    ds = run(Study("raises", problems=[RaisingLoss()], solvers=[SGD(lr=0.1)], seeds=[0], budget=6), tmp_path)
    failed = ds["failed"].values.reshape(-1)
    assert failed.tolist() == [0, 0, 1, -1, -1, -1]  # -1: never run


def test_declarations_are_checked_when_declared():
    with pytest.raises(InvalidProblemError, match="batch_size must be an int >= 1"):
        LogregBreastCancer(batch_size=0)
    with pytest.raises(InvalidProblemError, match="l2 must be a finite number >= 0"):
        LogregBreastCancer(l2=-1.0)
    with pytest.raises(InvalidProblemError, match="LogregBreastCancer.data_seed must be an int >= 0"):
        LogregBreastCancer(data_seed=-1)
    with pytest.raises(InvalidStudyError, match="mixes families: training"):
        Study("mixed", problems=["logreg-digits", "branin"], solvers=[SGD()], seeds=[0])
    with pytest.raises(InvalidStudyError, match="env_steps"):
        Study("axis", problems=["logreg-digits"], solvers=[SGD()], seeds=[0], budget=Budget(env_steps=100))


class SquaredAsSoftmax(LogregDigits):
    """Same class name pattern, same data and labels as a softmax problem, another loss: another f*."""

    loss_kind = "squared"


def test_f_star_is_keyed_by_the_objective_not_only_the_class_and_data():
    from workbench.families.training.reference import _key

    softmax, squared = LogregDigits(), SquaredAsSoftmax()
    assert _key(softmax) != _key(squared) and softmax.optimum != pytest.approx(squared.optimum, rel=1e-3)
    assert _key(LogregDigits(batch_size=125)) == _key(softmax)  # the batch size does not change f*


def test_the_results_know_f_star_for_convex_problems_only():
    assert LogregBreastCancer().optimum == pytest.approx(LogregBreastCancer().optimum, abs=0)
    assert 0 < LogregBreastCancer().optimum < 0.1
    from problems.training import MlpDigits

    assert MlpDigits().optimum is None


STUDY = """
import time
from problems.training import LogregBreastCancer
from workbench import Study
from workbench.solvers.training import SSO, Adam


class Slow(LogregBreastCancer):
    def batches(self, model, batch_size, generator):
        with open({log!r}, "a") as out:
            out.write("epoch\\n")
        time.sleep({delay})
        yield from super().batches(model, batch_size, generator)


study = Study("slow", problems=[Slow(batch_size=50, name="slow")], solvers=[Adam(lr=0.01), SSO(m=3)], seeds=[0],
              budget={epochs})
"""


def test_a_killed_cell_resumes_from_its_last_epoch_and_ends_where_an_uninterrupted_run_does(tmp_path, cli_env):
    epochs = 20
    for name, delay in (("killed", 0.05), ("whole", 0.0)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "slow.py").write_text(STUDY.format(log=str(folder / "epochs.log"), delay=delay, epochs=epochs))
    folder = tmp_path / "killed"
    proc = subprocess.Popen(workbench_cmd() + ["run", "slow.py", "--quiet"], env=cli_env, cwd=folder)
    db = folder / "runs" / "slow" / "optuna.db"
    recorded = trials_recorded(db, 8)
    assert 8 <= recorded < 2 * epochs, "the run did not get going, or ended before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for name in ("killed", "whole"):
        out = subprocess.run(workbench_cmd() + ["run", "slow.py", "--quiet"], env=cli_env, cwd=tmp_path / name,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
    killed, whole = (load_results(tmp_path / n / "runs" / "slow") for n in ("killed", "whole"))
    assert killed.sizes["step"] == whole.sizes["step"] == epochs and int(killed["failed"].sum()) == 0
    # the resumed run continued from its checkpoint: the same model, optimizer state and data order
    np.testing.assert_allclose(killed["value"].values, whole["value"].values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(killed["cost"].sel(axis="oracle_calls").values,
                                  whole["cost"].sel(axis="oracle_calls").values)
    # at most the epoch in flight at the kill ran twice
    ran = len((folder / "epochs.log").read_text().splitlines())
    assert 2 * epochs <= ran <= 2 * epochs + 1, ran
    with sqlite3.connect(db) as con:
        steps = con.execute("select count(*), count(distinct t.study_id || ':' || a.value_json) "
                            "from trial_user_attributes a join trials t on a.trial_id = t.trial_id "
                            "where a.key = 'step'").fetchone()
    assert steps[0] == steps[1] == 2 * epochs, "an epoch was recorded twice or lost"


def test_models_are_float64_and_seeded():
    problem = LogregBreastCancer()
    a = problem.model(torch.Generator().manual_seed(3))
    b = problem.model(torch.Generator().manual_seed(3))
    assert all(p.dtype == torch.float64 for p in a.parameters())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
