"""The bilevel family: certified solves, the hypergradient, MAID's guarantee, records, failures, declarations,
guests, kill -9 and resume."""

from __future__ import annotations

import math
import signal
import subprocess

import numpy as np
import pytest
import torch

from problems.bilevel import BilevelQuadratic, DropoutMlpDigits, LogregL2Digits, TVDenoising
from tests.conftest import trials_recorded, workbench_cmd
from workbench import Study
from workbench.budget import Budget
from workbench.errors import CapabilityError, InvalidConfigError, InvalidProblemError, InvalidStudyError
from workbench.families.bilevel import BilevelProblem, LowerLevelError, Oracle, conjugate_gradient, fista
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solver import CellContext
from workbench.solvers.bilevel import HOAG, MAID, STN, Fixed, hypergradient
from workbench.space import Real, Space


@pytest.fixture(scope="module")
def quad() -> BilevelQuadratic:
    return BilevelQuadratic(n=60, m=4, seed=3)


def x_hat(p: BilevelQuadratic, theta: torch.Tensor) -> torch.Tensor:
    return torch.linalg.solve(p.A2.T @ p.A2, p.A2.T @ (p.b2 - p.A3 @ theta))


def true_f(p: BilevelQuadratic, theta: torch.Tensor) -> float:
    return float(p.upper(x_hat(p, theta)))


def run(study, tmp_path):
    Runner(study, run_dir=tmp_path / study.name, device="cpu").run()
    return load_results(tmp_path / study.name)


def test_the_reference_quadratic_has_the_reference_solution():
    p = BilevelQuadratic()  # n = 1000, m = 10, seed 29: the reference experiments' draw
    assert float(torch.linalg.vector_norm(p.theta_star)) == pytest.approx(56.0789, abs=1e-3)
    assert p.optimum == pytest.approx(0.049513, abs=1e-5)
    assert true_f(p, p.theta_start()) == pytest.approx(2053.30, abs=0.01)


def test_fista_stops_only_when_the_certified_distance_is_within_eps(quad):
    theta = quad.theta_start()
    oracle = Oracle(quad)
    for eps in (1e-1, 1e-4, 1e-8):
        solve = fista(oracle, quad.x0(), theta, eps)
        true = float(torch.linalg.vector_norm(solve.x - x_hat(quad, theta)))
        assert solve.bound <= eps and true <= solve.bound * (1 + 1e-9)
    with pytest.raises(LowerLevelError, match="not 1e-14"):
        fista(Oracle(quad), quad.x0(), theta, 1e-14, max_iterations=3)


def test_cg_stops_at_a_true_residual_within_delta(quad):
    theta, oracle = quad.theta_start(), Oracle(quad)
    x = fista(oracle, quad.x0(), theta, 1e-6).x
    b = torch.linspace(-1, 1, quad.m, dtype=torch.float64)
    for delta, q0 in ((1e-2, None), (1e-9, None), (1e-9, torch.ones(quad.m, dtype=torch.float64))):
        solve = conjugate_gradient(oracle, x, theta, b, q0, delta)
        residual = float(torch.linalg.vector_norm(quad.A2.T @ quad.A2 @ solve.x - b))
        assert residual <= delta * (1 + 1e-6)


def test_the_hypergradient_matches_the_closed_form_and_finite_differences(quad):
    theta = quad.theta_start() + torch.tensor([0.3, -0.2, 0.1, 0.0], dtype=torch.float64)
    hg = hypergradient(Oracle(quad), quad.x0(), theta, 1e-10, 1e-10, None)
    A2, A1 = quad.A2, quad.A1
    solve = torch.linalg.solve(A2.T @ A2, A2.T @ quad.A3)
    residual = A1 @ x_hat(quad, theta) - quad.b1
    closed = -(A1 @ solve).T @ residual
    torch.testing.assert_close(hg.z, closed, rtol=1e-6, atol=1e-6)
    h = 1e-5
    fd = torch.tensor([(true_f(quad, theta + h * e) - true_f(quad, theta - h * e)) / (2 * h)
                       for e in torch.eye(quad.m, dtype=torch.float64)], dtype=torch.float64)
    torch.testing.assert_close(hg.z, fd, rtol=1e-5, atol=1e-4)


def test_the_true_upper_loss_never_increases_over_accepted_maid_steps(quad):
    run_ = MAID().start(Oracle(quad), CellContext(space=quad.space, seed=0, device=torch.device("cpu")))
    before, accepted = true_f(quad, quad.theta_start()), 0
    for _ in range(40):
        it = run_.step()
        now = true_f(quad, it.theta)
        if it.info["accepted"]:
            accepted += 1
            assert now <= before + 1e-12
        else:
            assert now == before
        before = now
    assert accepted >= 30 and before < 0.5 * true_f(quad, quad.theta_start())


def test_a_cell_records_theta_costs_scores_and_the_solver_state(tmp_path, quad):
    study = Study("quad", problems=[quad], solvers=[MAID(), HOAG(schedule="cubic")], seeds=[0],
                  budget=Budget(lower_iterations=300))
    ds = run(study, tmp_path)
    lower = ds["cost"].sel(axis="lower_iterations").max("step")  # cumulative per step
    # the step that would pass the budget is cut and not recorded: each cell ends within one step of it
    assert bool((lower <= 300).all()) and bool((lower >= 250).all())
    assert int((ds["failed"] == 1).sum()) == 0
    for axis in ("adjoint_iterations", "upper_evaluations", "solver_seconds"):
        assert float(ds["cost"].sel(axis=axis).max()) > 0
    ok = ds["failed"] == 0
    assert int(ok.sum()) > 10
    # the recorded value is the true upper-level loss at the recorded θ (the family's scoring solve)
    cell = ds.sel(problem=quad.name, solver="maid", seed=0)
    steps = [int(s) for s in cell.step.values if cell["failed"].sel(step=s) == 0][-3:]
    regret = cell["regret"].sel(step=steps).values
    assert np.all(regret >= -1e-9)
    assert np.all(np.isfinite(cell["theta_error"].sel(step=steps).values))
    assert np.all(np.isfinite(cell["eps"].sel(step=steps).values))


class Partial(BilevelQuadratic):
    """The quadratic with a lower level that turns NaN beyond θ₀ > 1.5."""

    def lower(self, x, theta):
        out = super().lower(x, theta)
        return out * torch.where(theta[0] > 1.5, torch.tensor(math.nan, dtype=torch.float64), torch.tensor(1.0))


def test_a_lower_level_that_turns_nan_is_a_recorded_failure_and_the_study_goes_on(tmp_path):
    problem = Partial(n=40, m=2, bound=3.0, name="partial")
    study = Study("nan", problems=[problem], solvers=["random"], seeds=[0], budget=8)
    ds = run(study, tmp_path)
    failed = ds["failed"].sel(problem="partial", solver="random", seed=0).values
    assert failed.sum() >= 1 and (failed == 0).sum() >= 1 and len(failed) == 8  # failed rows, and it went on
    import optuna

    trials = optuna.load_study(study_name="nan/partial/random/0",
                               storage=f"sqlite:///{tmp_path / 'nan' / 'optuna.db'}").trials
    reasons = [t.user_attrs.get("fail_reason", "") for t in trials if t.state.name == "FAIL"]
    assert reasons and all("not finite" in r for r in reasons)


def test_a_gradient_step_that_fails_is_recorded_with_its_reason_and_the_cell_ends(tmp_path):
    problem = Partial(n=40, m=2, bound=3.0, name="partial")
    problem.theta0 = (2.0, 1.0)  # the lower level is NaN from the start
    study = Study("nan2", problems=[problem], solvers=[HOAG()], seeds=[0], budget=Budget(lower_iterations=100))
    ds = run(study, tmp_path)
    failed = ds["failed"].sel(problem="partial", solver="hoag", seed=0).values
    assert failed[0] == 1 and int((failed >= 0).sum()) == 1  # recorded, and the cell ended there


def test_declarations_are_checked_when_declared():
    with pytest.raises(InvalidProblemError, match="theta0 must lie inside the space"):
        TVDenoising(theta0=(-20.0, -5.0))
    with pytest.raises(InvalidProblemError, match="TVDenoising.size"):
        TVDenoising(size=3)

    class NegativeMu(BilevelQuadratic):
        def mu(self, theta):
            return -1.0

    with pytest.raises(InvalidProblemError, match=r"mu\(theta0\) must be a finite number > 0"):
        NegativeMu(n=20, m=2)
    with pytest.raises(InvalidConfigError, match="MAID.rho must be < 1"):
        MAID(rho=1.5)
    with pytest.raises(InvalidConfigError, match="HOAG.schedule"):
        HOAG(schedule="linear")


class NotConvex(BilevelProblem):
    name = "not-convex"
    space = Space(Real("t", -1.0, 1.0))
    theta0 = (0.0,)
    strongly_convex = False

    def x0(self):
        return torch.zeros(2, dtype=torch.float64)

    def lower(self, x, theta):
        return ((x - theta) ** 2).sum() ** 2

    def upper(self, x):
        return (x * x).sum()

    def solve(self, oracle, x, theta):
        from workbench.families.bilevel import Solve

        for _ in range(20):
            x = x - 0.1 * oracle.lower_grad(x, theta)
        return Solve(x, 20, math.nan)


def test_a_method_that_needs_strong_convexity_refuses_a_problem_without_it_before_anything_runs(tmp_path):
    study = Study("nc", problems=[NotConvex()], solvers=[MAID(), "random"], seeds=[0], budget=3)
    with pytest.raises(CapabilityError, match="strongly convex"):
        Runner(study, run_dir=tmp_path / "nc", device="cpu").run()
    ds = run(Study("nc2", problems=[NotConvex()], solvers=["random"], seeds=[0], budget=3), tmp_path)
    assert int((ds["failed"] == 0).sum()) == 3  # its own lower-level rule serves the black-box solvers


def test_black_box_solvers_join_a_bilevel_study_and_pay_for_their_lower_levels(tmp_path, quad):
    study = Study("bb", problems=[quad], solvers=["random", "optuna-tpe", MAID()], seeds=[0],
                  budget=Budget(lower_iterations=200))
    ds = run(study, tmp_path)
    for solver in ("random", "optuna-tpe", "maid"):
        cell = ds.sel(problem=quad.name, solver=solver, seed=0)
        spent = cell["cost"].sel(axis="lower_iterations").values
        steps = np.diff(spent[np.isfinite(spent)], prepend=0.0)
        assert 200 - steps.max() < spent[np.isfinite(spent)][-1] <= 200  # within one query or step of the budget
    with pytest.raises(InvalidStudyError, match="also drives blackbox"):
        Study("bad", problems=[quad], solvers=["sgd"], seeds=[0])


def watched(cls, reads: list[str]):
    """``cls`` with its test split watched: a read of ``Xte`` / ``yte`` outside ``report`` is noted in ``reads``."""

    class Watched(cls):
        reporting = False

        def report(self, x, theta):
            type(self).reporting = True
            try:
                return super().report(x, theta)
            finally:
                type(self).reporting = False

        def __getattribute__(self, name):
            if name in ("Xte", "yte") and not type(self).reporting:
                reads.append(name)
            return super().__getattribute__(name)

    return Watched


def test_solvers_never_read_the_test_split(tmp_path):
    reads: list[str] = []
    problem = watched(LogregL2Digits, reads)(low=-4.0, high=-2.0, name="watched")
    ds = run(Study("split", problems=[problem], solvers=[MAID(), HOAG(), "random"], seeds=[0],
                   budget=Budget(lower_iterations=100)), tmp_path)
    net = watched(DropoutMlpDigits, reads)(hidden=8, batch_size=200, epochs=1, name="watched-net")
    ds2 = run(Study("split2", problems=[net], solvers=[STN(warmup_epochs=0), Fixed(), "random"], seeds=[0],
                    budget=Budget(lower_iterations=8)), tmp_path)
    assert not reads
    assert np.isfinite(ds["test_accuracy"].values).any() and np.isfinite(ds2["test_accuracy"].values).any()


def test_the_denoising_problem_reports_psnr_and_improves_it(tmp_path):
    problem = TVDenoising(size=16)
    study = Study("tv", problems=[problem], solvers=[MAID()], seeds=[0], budget=Budget(lower_iterations=300))
    ds = run(study, tmp_path)
    cell = ds.sel(problem="tv-denoising", solver="maid", seed=0)
    value, psnr, noisy = cell["value"].values, cell["psnr"].values, cell["noisy_psnr"].values
    best = int(np.nanargmin(value))  # the incumbent
    assert np.isfinite(psnr).sum() >= 3 and psnr[best] > noisy[best] + 0.5
    assert cell["alpha"].values[best] > np.exp(-5.0)  # it raised the TV weight from θ₀


STUDY = """
import time
from problems.bilevel import TVDenoising
from workbench import Study
from workbench.budget import Budget
from workbench.solvers.bilevel import MAID


class Slow(TVDenoising):
    def upper_smoothness(self):
        time.sleep({delay})
        return super().upper_smoothness()


study = Study("slow", problems=[Slow(size=12, name="slow")], solvers=[MAID(step0=None)], seeds=[0],
              budget=Budget(upper_evaluations={budget}))
"""


def test_a_killed_maid_cell_resumes_from_its_checkpoint_and_ends_where_an_uninterrupted_run_does(tmp_path, cli_env):
    """On a problem whose bound constants MAID estimates (its random directions are part of the state)."""
    budget = 60
    for name, delay in (("killed", 0.03), ("whole", 0.0)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "slow.py").write_text(STUDY.format(delay=delay, budget=budget))
    folder = tmp_path / "killed"
    proc = subprocess.Popen(workbench_cmd() + ["run", "slow.py", "--quiet"], env=cli_env, cwd=folder)
    db = folder / "runs" / "slow" / "optuna.db"
    recorded = trials_recorded(db, 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert recorded >= 6
    for name in ("killed", "whole"):
        out = subprocess.run(workbench_cmd() + ["run", "slow.py", "--quiet"], env=cli_env, cwd=tmp_path / name,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
    killed, whole = (load_results(tmp_path / n / "runs" / "slow") for n in ("killed", "whole"))
    assert killed.sizes["step"] == whole.sizes["step"] and int(killed["failed"].sum()) <= 1
    np.testing.assert_allclose(killed["value"].values, whole["value"].values, rtol=1e-9, atol=1e-12)
    for axis in ("lower_iterations", "adjoint_iterations", "upper_evaluations"):
        np.testing.assert_array_equal(killed["cost"].sel(axis=axis).values, whole["cost"].sel(axis=axis).values)


def test_the_contract_catches_a_wrong_strong_convexity_or_smoothness():
    from workbench.families.bilevel.testing import check_bilevel_problem

    class TooConvex(BilevelQuadratic):
        def mu(self, theta):
            return 10 * super().mu(theta)

    class TooSmooth(BilevelQuadratic):
        def smoothness(self, theta):
            return 0.5 * super().smoothness(theta)

    check_bilevel_problem(BilevelQuadratic(n=30, m=3))
    with pytest.raises(AssertionError, match="strongly convex"):
        check_bilevel_problem(TooConvex(n=30, m=3))
    with pytest.raises(AssertionError, match="changes faster than L"):
        check_bilevel_problem(TooSmooth(n=30, m=3))


def test_a_black_box_solver_is_told_the_value_it_paid_for_and_the_record_holds_the_score(tmp_path):
    from dataclasses import dataclass

    from workbench.families.blackbox import BlackBoxSolver, SolverRun

    told: list[float] = []

    class Remember(SolverRun):
        def __init__(self, space, seed):
            self.space, self.seed, self.k = space, seed, 0

        def ask(self, n):
            self.k += 1
            return self.space.sample(n, self.seed + self.k)

        def tell(self, X, y):
            told.extend(y.tolist())

    @dataclass(frozen=True, kw_only=True)
    class Teller(BlackBoxSolver):
        def start(self, cell):
            return Remember(cell.space, cell.seed)

    class Loose(BilevelQuadratic):
        lower_tol = 0.5  # the solver pays for a coarse solve; the family scores a tight one

    problem = Loose(n=40, m=2, bound=3.0, name="loose")
    ds = run(Study("told", problems=[problem], solvers=[Teller(name="teller")], seeds=[0], budget=6), tmp_path)
    recorded = ds["value"].sel(problem="loose", solver="teller", seed=0).values
    assert len(told) == 5 and np.all(np.isfinite(recorded))  # the last query ends the budget: nothing to tell
    assert not np.allclose(told, recorded[:5], rtol=0, atol=1e-9)  # told: g at the coarse solve
    assert np.allclose(told, recorded[:5], rtol=0.05)
    upper = ds["cost"].sel(problem="loose", solver="teller", seed=0, axis="upper_evaluations").values
    assert np.array_equal(np.diff(upper), np.ones(5))  # one paid upper-level evaluation per query


def test_network_methods_refuse_other_problems_and_a_wrong_theta_before_anything_runs(tmp_path, quad):
    with pytest.raises(CapabilityError, match="network-training lower level"):
        Runner(Study("stn-quad", problems=[quad], solvers=[STN()], seeds=[0], budget=2), run_dir=tmp_path / "a",
               device="cpu").run()
    net = DropoutMlpDigits(hidden=8, batch_size=200, epochs=1)
    with pytest.raises(CapabilityError, match="of 2 hyperparameters"):
        Runner(Study("fixed-len", problems=[net], solvers=[Fixed(theta=(0.0, 0.0))], seeds=[0], budget=2),
               run_dir=tmp_path / "b", device="cpu").run()
