"""Self-Tuning Networks and the fixed-θ baseline on the dropout problem: the structured layer, what is
counted, the learned schedule, the refusal of certified methods, checkpoints."""

from __future__ import annotations

import pytest
import torch

from problems.bilevel import DropoutMlpDigits
from workbench import Study
from workbench.budget import Budget
from workbench.errors import CapabilityError, InvalidConfigError
from workbench.families.bilevel import Oracle
from workbench.families.bilevel.views import schedule
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solver import CellContext
from workbench.solvers.bilevel import HOAG, MAID, STN, Fixed, HyperLinear


@pytest.fixture(scope="module")
def problem() -> DropoutMlpDigits:
    return DropoutMlpDigits(hidden=16, batch_size=100, epochs=2)


def context(problem, seed=0):
    return CellContext(space=problem.space, seed=seed, device=torch.device("cpu"))


def test_an_stn_layer_with_zero_scales_is_the_plain_linear_layer():
    layer = HyperLinear(5, 3, 4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer.scales.zero_()
    x, hyper = torch.randn(7, 5), torch.randn(7, 4)
    torch.testing.assert_close(layer(x, hyper), x @ layer.elem_w.T + layer.elem_b)
    W, b = layer.at(hyper[0])
    torch.testing.assert_close(W, layer.elem_w)
    torch.testing.assert_close(b, layer.elem_b)


def test_an_stn_layer_at_one_lambda_is_the_batch_layer_for_that_lambda():
    layer = HyperLinear(5, 3, 4, torch.Generator().manual_seed(1))
    x, lam = torch.randn(6, 5), torch.randn(4)
    W, b = layer.at(lam)
    torch.testing.assert_close(layer(x, lam.expand(6, -1)), x @ W.T + b)


def test_stn_counts_training_steps_and_hyper_steps_and_learns_a_schedule(problem):
    oracle = Oracle(problem)
    run = STN(warmup_epochs=1, hyper_lr=0.05).start(oracle, context(problem))
    per_epoch = -(-len(problem.ytr) // problem.batch_size)
    thetas = [run.step().theta for _ in range(4)]
    spent = oracle.counter.snapshot()
    assert spent["lower_iterations"] == 4 * per_epoch
    assert spent["upper_evaluations"] == 3 * (per_epoch // 2)  # one hyper step per two training steps, after warm-up
    torch.testing.assert_close(thetas[0], oracle.theta0())  # the warm-up epoch leaves λ alone
    assert not torch.equal(thetas[-1], thetas[0])


def test_fixed_keeps_theta_and_refuses_a_wrong_length(problem):
    oracle = Oracle(problem)
    theta = problem.theta_for(0.3)
    run = Fixed(theta=theta).start(oracle, context(problem))
    it = run.step()
    torch.testing.assert_close(it.theta, torch.tensor(theta, dtype=torch.float64))
    assert oracle.counter.lower_iterations == -(-len(problem.ytr) // problem.batch_size)
    with pytest.raises(InvalidConfigError, match="must hold 4 values"):
        Fixed(theta=(0.0,)).start(oracle, context(problem))


def test_certified_methods_refuse_the_dropout_problem_and_the_others_run_on_it(tmp_path, problem):
    with pytest.raises(CapabilityError, match="strongly convex"):
        Runner(Study("refuse", problems=[problem], solvers=[MAID()], seeds=[0], budget=2), run_dir=tmp_path / "r",
               device="cpu").run()
    with pytest.raises(CapabilityError, match="strongly convex"):
        Runner(Study("refuse2", problems=[problem], solvers=[HOAG()], seeds=[0], budget=2), run_dir=tmp_path / "r2",
               device="cpu").run()
    study = Study("dropout", problems=[problem], solvers=[STN(warmup_epochs=1), Fixed(), "random"], seeds=[0],
                  budget=Budget(lower_iterations=28))  # 4 epochs of 7 steps; 2 black-box queries of 2 epochs
    Runner(study, run_dir=tmp_path / "dropout", device="cpu").run()
    ds = load_results(tmp_path / "dropout")
    for solver in ("stn", "fixed", "random"):
        cell = ds.sel(problem=problem.name, solver=solver, seed=0)
        assert float(cell["cost"].sel(axis="lower_iterations").max()) == 28
        assert (cell["failed"] == 0).sum() >= 1
        assert float(cell["test_accuracy"].max()) > 0.1
    assert "input_dropout" in ds and "hidden2_dropout" in ds  # the schedule, in the problem's own terms
    frame = schedule(ds, problem.name, 0, ["input_dropout", "hidden1_dropout"], ["stn", "fixed"])
    fixed = frame[frame["solver"] == "fixed"]
    assert set(frame["solver"]) == {"stn", "fixed"} and fixed["value"].to_numpy() == pytest.approx(0.05)


def test_stn_resumes_from_its_state(problem):
    a = STN(warmup_epochs=1, hyper_lr=0.05).start(Oracle(problem), context(problem, 3))
    a.step()
    state = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in a.state_dict().items()}
    import copy

    state = copy.deepcopy(state)
    first = a.step()
    b = STN(warmup_epochs=1, hyper_lr=0.05).start(Oracle(problem), context(problem, 3))
    b.load_state_dict(state)
    second = b.step()
    torch.testing.assert_close(first.theta, second.theta)
    torch.testing.assert_close(first.x, second.x)


def test_stn_without_tuning_keeps_lambda_and_spends_no_validation(problem):
    oracle = Oracle(problem)
    run = STN(tune=False, warmup_epochs=0).start(oracle, context(problem))
    thetas = [run.step().theta for _ in range(2)]
    assert oracle.counter.upper_evaluations == 0
    torch.testing.assert_close(thetas[-1], oracle.theta0().to(thetas[-1]))
