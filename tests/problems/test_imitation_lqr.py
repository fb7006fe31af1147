"""imitation-lqr: online imitation of an LQR expert, one rollout of the current policy per batch, paid for in
environment steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch

from problems.training import ImitationLQR
from workbench.budget import Budget
from workbench.errors import InvalidProblemError, SolverError
from workbench.families.training import FixedData, Trainer, TrainingSolver, generator
from workbench.problem import catalog
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers.training import SGD
from workbench.study import Study

H, R = 5, 4  # a tiny problem: 4 rollouts of 5 steps per epoch


def tiny(**kw) -> ImitationLQR:
    return ImitationLQR(**{"state_dim": 4, "action_dim": 2, "horizon": H, "rollouts": R, "eval_rollouts": 4,
                           "eval_horizon": 20, **kw})


def expert_policy(problem: ImitationLQR) -> torch.nn.Module:
    model = problem.model(generator(0, 1))
    with torch.no_grad():
        model.weight.copy_(problem.expert_gain)
    return model


def test_the_expert_policy_scores_zero_loss_and_a_cost_ratio_of_one():
    problem = tiny()
    assert problem.optimum == 0.0 and problem.expert_radius < 1.0
    assert float(np.max(np.abs(np.linalg.eigvals(problem.A.numpy())))) == pytest.approx(1.05)  # open loop unstable
    scores = problem.scores(expert_policy(problem))
    assert scores["train_loss"] == 0.0 and scores["test_loss"] == 0.0
    assert scores["cost_ratio"] == pytest.approx(1.0, rel=1e-9)
    start = problem.scores(problem.model(generator(0, 1)))
    assert start["train_loss"] > 0 and start["test_loss"] > 0 and start["cost_ratio"] > 1.0


def test_an_epoch_is_the_declared_rollouts_of_the_current_policy_each_costing_its_steps():
    problem = tiny()
    assert problem.batch_size == H and problem.steps_per_epoch(123) == R
    assert problem.cost_axes == ("env_steps",) and not isinstance(problem, FixedData)
    assert not hasattr(problem, "splits")
    model = problem.model(generator(0, 1))
    batches = list(problem.batches(model, 123, generator(0, 2)))
    assert len(batches) == R
    for b in batches:
        assert b.env_steps == H == b.size
        torch.testing.assert_close(b.y, problem.expert(b.X))
    again = list(problem.batches(model, 123, generator(0, 2)))
    assert all(torch.equal(a.X, b.X) for a, b in zip(batches, again))  # the generator draws everything
    # the policy is read when each batch is drawn: a changed policy visits other states
    lazy = problem.batches(model, 123, generator(0, 2))
    first = next(lazy)
    with torch.no_grad():
        model.weight.mul_(-5.0)
    assert torch.equal(first.X, batches[0].X) and not torch.equal(next(lazy).X, batches[1].X)


def test_an_unstable_policy_stops_its_rollouts_at_the_bound_and_pays_only_the_steps_taken():
    problem = tiny(horizon=50, state_bound=10.0)
    model = problem.model(generator(0, 1))
    with torch.no_grad():
        model.weight.copy_(problem.expert_gain * -6.0)  # pushes the state away
    for b in problem.batches(model, 50, generator(0, 2)):
        assert b.env_steps == b.size < 50
        assert bool((b.X.norm(dim=1) <= 10.0).all())
    scores = problem.scores(model)
    assert all(np.isfinite(v) for v in scores.values())
    assert scores["cost_ratio"] > 10.0 and scores["train_loss"] > 1.0


def _run(study: Study, tmp_path):
    return load_results(Runner(study, run_dir=tmp_path / study.name, device="cpu").run())


def test_sgd_lowers_the_loss_and_the_results_count_environment_steps(tmp_path):
    problem = tiny()
    study = Study("imit", problems=[problem], solvers=[SGD(lr=0.05)], seeds=[0], budget=3)
    assert "env_steps" in study.axes
    ds = _run(study, tmp_path)
    value = ds.value.values[0, 0, 0]
    start = problem.scores(problem.model(generator(0, 1)))["train_loss"]
    assert np.isfinite(value).all() and value[-1] < value[0] < start
    env = ds["cost"].sel(axis="env_steps").values[0, 0, 0]
    assert env.tolist() == [H * R, 2 * H * R, 3 * H * R]
    assert np.isfinite(ds["cost_ratio"].values[0, 0, 0]).all() and np.isfinite(ds["test_loss"].values[0, 0, 0]).all()


def test_a_budget_in_environment_steps_stops_in_the_epoch_that_spends_it(tmp_path):
    budget = 2 * H * R + 2 * H  # two epochs and two rollouts of the third
    study = Study("imit-env", problems=[tiny()], solvers=[SGD(lr=0.05)], seeds=[0], budget=Budget(env_steps=budget))
    ds = _run(study, tmp_path)
    env = ds["cost"].sel(axis="env_steps").values[0, 0, 0]
    env = env[np.isfinite(env)]
    assert env.tolist() == [H * R, 2 * H * R, budget]
    epochs = ds["cost"].sel(axis="epochs").values[0, 0, 0]
    assert epochs[np.isfinite(epochs)][-1] == pytest.approx(2 + 2 / R)


@dataclass(frozen=True, kw_only=True)
class FullBatch(TrainingSolver):
    full_batch: ClassVar[bool] = True

    def start(self, model, setup) -> Trainer:  # pragma: no cover - refused before it starts
        raise AssertionError("a full-batch solver must not start on imitation-lqr")


def test_a_full_batch_solver_is_refused(tmp_path):
    study = Study("imit-full", problems=[tiny()], solvers=[FullBatch(name="full")], seeds=[0], budget=1)
    with pytest.raises(SolverError, match="does not have"):
        Runner(study, run_dir=tmp_path / "full", device="cpu", fail_fast=True).run()


def test_it_is_registered_with_its_defaults():
    problem = catalog.get("imitation-lqr")()
    assert problem.name == "imitation-lqr" and problem.state_dim == 6 and problem.action_dim == 2
    assert problem.horizon == problem.batch_size == 20 and problem.steps_per_epoch(1) == 10
    assert problem.describe()["params"]["noise_std"] == 0.1 and problem.smoothness == 1.0
    assert ImitationLQR(l2=1e-3).optimum is None


@pytest.mark.parametrize("field, value", [
    ("state_dim", 0), ("action_dim", 1.5), ("horizon", 0), ("rollouts", True), ("noise_std", -0.1),
    ("noise_std", float("nan")), ("system_seed", -1), ("spectral_radius", 0.0), ("state_bound", float("inf")),
    ("eval_rollouts", 0), ("eval_horizon", "50"), ("l2", -1.0),
])
def test_bad_options_name_their_field(field, value):
    with pytest.raises(InvalidProblemError, match=rf"ImitationLQR\.{field} must be"):
        ImitationLQR(**{field: value})
