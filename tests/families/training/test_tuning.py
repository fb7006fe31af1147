"""A training problem as a queryable black box (:class:`Tuning`): its declaration checked against the
solver's options, a tiny tuning study through the runner with its costs, diverging learning rates as
recorded failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import workbench.families.training.tuning as tuning
from problems.training import SyntheticLogistic
from workbench import Categorical, Real, Study
from workbench.budget import Budget
from workbench.cell import evaluate_safely
from workbench.errors import InvalidProblemError
from workbench.families.training.tuning import Tuning
from workbench.problem import Costed, Queryable, catalog
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers.training import SGD, Adam

LR = Real("lr", 1e-3, 1.0, log=True)


def tiny() -> SyntheticLogistic:
    """120 training examples in 3 batches: one epoch is 3 oracle calls and 6 model passes."""
    return SyntheticLogistic(n=200, d=5, batch_size=50, name="tiny-logistic")


def test_the_space_is_checked_against_the_solvers_options(monkeypatch):
    t = Tuning(tiny(), SGD(), [LR, Real("momentum", 0.0, 0.9)], epochs=1)
    assert isinstance(t, Queryable) and isinstance(t, Costed) and t.family == "blackbox"
    assert t.name == "tune-sgd-tiny-logistic" and t.space.names == ("lr", "momentum")
    assert t.cost_axes == ("oracle_calls", "epochs", "model_passes")
    assert Tuning(tiny(), SGD(name="sgd(lr=0.1)"), [LR], epochs=1).name == "tune-sgd-lr-0.1-tiny-logistic"
    with pytest.raises(InvalidProblemError, match=r"Tuning.space\[1\]: 'beta1' is neither an option of solver 'sgd' "
                                                  r"\(its options: lr, momentum\) nor a parameter of problem "
                                                  r"'tiny-logistic' \(its parameters: batch_size, l2, data_seed, n, d, "
                                                  r"condition\)"):
        Tuning(tiny(), SGD(), [LR, Real("beta1", 0.0, 0.9)], epochs=1)
    with pytest.raises(InvalidProblemError, match=r"Tuning.space\[0\]: 'name' is neither an option"):
        Tuning(tiny(), SGD(), [Categorical("name", ("a", "b"))], epochs=1)
    with pytest.raises(InvalidProblemError, match="Tuning.epochs must be an int >= 1, but got epochs=0"):
        Tuning(tiny(), SGD(), [LR], epochs=0)
    with pytest.raises(InvalidProblemError, match="Tuning.problem must be a TrainingProblem"):
        Tuning("branin", SGD(), [LR], epochs=1)
    with pytest.raises(InvalidProblemError, match="Tuning.solver must be a TrainingSolver"):
        Tuning(tiny(), "random", [LR], epochs=1)
    with pytest.raises(InvalidProblemError, match="Tuning.space must be a Space or a list of parameters"):
        Tuning(tiny(), SGD(), "lr", epochs=1)
    catalog.names()  # loaded, then a cheap stand-in registered for this test only (the digits' f* takes seconds)
    monkeypatch.setitem(catalog._entries, "tiny-logistic", tiny)
    assert Tuning("tiny-logistic", "adam", [LR], epochs=1).name == "tune-adam-tiny-logistic"  # registered names


def test_a_batch_with_a_diverging_row_trains_each_row_once(monkeypatch):
    calls = []
    real = tuning.train
    monkeypatch.setattr(tuning, "train", lambda *a, **k: calls.append(k) or real(*a, **k))
    t = Tuning(tiny(), SGD(), [Real("lr", 1e-3, 1e300, log=True), Real("momentum", -0.5, 0.5)], epochs=2).bind(7)
    X = torch.tensor([[0.1, 0.0], [1e200, 0.0], [0.1, -0.5], [0.2, 0.0]], dtype=torch.float64)
    ev = evaluate_safely(t.evaluate, X)
    assert np.isfinite(ev.values[[0, 3]].numpy()).all() and ev.values[[1, 2]].isnan().all()
    assert ev.reasons[0] is None and "training diverged" in ev.reasons[1]
    assert "SGD.momentum must be a number in [0, 1)" in ev.reasons[2]
    assert len(calls) == 3 and {c["seed"] for c in calls} == {7}  # the invalid row trains nothing
    cost = t.cost(X)
    assert cost["oracle_calls"].tolist() == [6, 3, 1, 6]  # the diverged row stopped after its first epoch
    assert cost["epochs"].tolist() == [2, 1, 1, 2] and cost["model_passes"].tolist() == [12, 6, 1, 12]
    again = t.bind(7).evaluate(X[[0, 3]])
    assert torch.equal(again, ev.values[[0, 3]])  # the same seed, the same training: deterministic in lr


def test_a_tiny_tuning_study_records_costs_and_goes_on_past_a_diverging_lr(tmp_path):
    problems = [Tuning(tiny(), SGD(), [LR], epochs=1),
                Tuning(tiny(), Adam(), [Categorical("lr", (0.1, 1e300))], epochs=1, name="adam-diverges")]
    study = Study("tune", problems=problems, solvers=["random"], seeds=[0], budget=3)
    ds = load_results(Runner(study, run_dir=tmp_path / "tune", device="cpu").run())
    assert ds.axis.values.tolist() == ["oracle_calls", "epochs", "model_passes"]
    assert ds["finished"].values.all()
    sgd = ds.sel(problem="tune-sgd-tiny-logistic", solver="random", seed=0)
    assert np.isfinite(sgd["value"].values).all() and (sgd["failed"].values == 0).all()
    assert sgd["cost"].sel(axis="oracle_calls").values.tolist() == [3, 6, 9]  # 3 batches per epoch, cumulative
    assert sgd["cost"].sel(axis="epochs").values.tolist() == [1, 2, 3]
    adam = ds.sel(problem="adam-diverges", solver="random", seed=0)
    failed = adam["failed"].values
    assert failed.tolist().count(1) >= 1 and failed.tolist().count(0) >= 1, failed  # failed, and went on
    assert np.isfinite(adam["best"].values[-1])
    assert adam["cost"].sel(axis="oracle_calls").values[-1] > 0


def test_a_budget_in_epochs_counts_the_tuning_trainings(tmp_path):
    study = Study("tune-epochs", problems=[Tuning(tiny(), SGD(), [LR], epochs=2)], solvers=["random"], seeds=[1],
                  budget=Budget(epochs=5))
    ds = load_results(Runner(study, run_dir=tmp_path / "t", device="cpu").run())
    epochs = ds["cost"].sel(axis="epochs").values.reshape(-1)
    assert epochs[np.isfinite(epochs)].tolist() == [2, 4, 6]  # the training that reaches the budget is the last


def test_a_problem_without_a_validation_loss_fails_each_row_saying_so():
    class NoValidation(SyntheticLogistic):
        def scores(self, model):
            return {k: v for k, v in super().scores(model).items() if k != "val_loss"}

    t = Tuning(NoValidation(n=200, d=5, batch_size=50, name="no-val"), SGD(), [LR], epochs=1)
    with pytest.raises(ValueError, match=r"problem 'no-val' reports no val_loss \(its scores: train_loss, test_loss"):
        t.evaluate(torch.tensor([[0.1]], dtype=torch.float64))
