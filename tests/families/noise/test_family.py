"""The noise-search family: ReNO's regularizer and update as declared, best-of-iterations, equal budgets,
held-out rewards, failures, declarations, reward noise, guests, kill -9 and resume."""

from __future__ import annotations

import inspect
import math
import signal
import subprocess

import numpy as np
import pytest
import torch

from tests.conftest import trials_recorded, workbench_cmd
from tests.families.noise.toy import Toy, brightness
from workbench import Study
from workbench.budget import Budget
from workbench.errors import CapabilityError, InvalidConfigError, InvalidProblemError, InvalidStudyError
from workbench.families.noise import Counter, NoiseProblem, NoisyReward, Oracle, Reward, at_pick
from workbench.families.noise.problem import to_noise, to_unit
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solver import CellContext
from workbench.solvers.noise import BestOfN, ReNO, ReNOFromBest, clip_norm, regularizer


def run(study, tmp_path):
    Runner(study, run_dir=tmp_path / study.name, device="cpu").run()
    return load_results(tmp_path / study.name)


def oracle(problem, seed=0, cap=None):
    counter = Counter()
    if cap is not None:
        counter.caps["reward_calls"] = cap
    return Oracle(problem, counter, seed, torch.device("cpu"))


def start(solver, o):
    return solver.start(o, CellContext(space=None, seed=0, device=torch.device("cpu")))  # type: ignore[arg-type]


def test_the_regularizer_is_the_chi_negative_log_density_with_its_gradient():
    eps = torch.randn(3, 5, 7, dtype=torch.float64)
    value, grad = regularizer(eps)
    d = 35
    norm = eps.reshape(3, -1).norm(dim=1)
    np.testing.assert_allclose(value, 0.5 * norm**2 - (d - 1) * torch.log(norm), rtol=1e-12)
    x = eps.clone().requires_grad_(True)
    n = x.reshape(3, -1).norm(dim=1)
    (0.5 * n**2 - (d - 1) * torch.log(n)).sum().backward()
    np.testing.assert_allclose(grad, x.grad, rtol=1e-10)
    on_shell = torch.randn(1, 100, dtype=torch.float64)
    on_shell *= math.sqrt(99) / on_shell.norm()  # ‖ε‖² = d - 1: the density's mode, the gradient 0
    assert float(regularizer(on_shell)[1].norm()) < 1e-10


def test_gradients_are_clipped_per_noise():
    g = torch.tensor([[3.0, 4.0], [0.03, 0.04]])
    out = clip_norm(g, 0.1)
    np.testing.assert_allclose(out[0].norm(), 0.1, rtol=1e-5)
    np.testing.assert_allclose(out[1], g[1], rtol=1e-4)  # below the threshold: unchanged


def test_reno_takes_clipped_nesterov_steps_on_the_regularized_loss():
    p = Toy()
    solver = ReNO(lr=0.3, momentum=0.9, clip=0.05, reg_weight=0.01)
    o = oracle(p)
    r = start(solver, o)
    eps = o.sample(1, 0).to(torch.float64)
    buf = torch.zeros_like(eps)
    for _ in range(4):
        r.step()
        x = eps.clone().float().requires_grad_(True)
        reward = brightness(p.generate(x), p).sum()
        (g_r,) = torch.autograd.grad(reward, x)
        g = -g_r.to(torch.float64) + 0.01 * regularizer(eps)[1]
        g = g * min(1.0, 0.05 / (float(g.norm()) + 1e-6))
        buf = 0.9 * buf + g
        eps = eps - 0.3 * (g + 0.9 * buf)
        np.testing.assert_allclose(r.eps.to(torch.float64), eps, rtol=1e-5, atol=1e-6)
    plain = start(ReNO(lr=0.3, nesterov=False, clip=None, reg_weight=0.0), oracle(p))
    plain.step()
    plain.step()  # heavy ball without clipping: ε₂ = ε₁ + lr (g₁ + 0.9 g₀)... checked against the same recursion
    e0 = o.sample(1, 0).to(torch.float64)
    g0 = -_grad(p, e0)
    e1 = e0 - 0.3 * g0
    g1 = -_grad(p, e1)
    np.testing.assert_allclose(plain.eps.to(torch.float64), e1 - 0.3 * (0.9 * g0 + g1), rtol=1e-5, atol=1e-6)


def _grad(p, eps):
    x = eps.clone().float().requires_grad_(True)
    return torch.autograd.grad(brightness(p.generate(x), p).sum(), x)[0].to(torch.float64)


def closeness(images, problem):
    """Highest at grey images: a reward with an interior maximum, which long steps overshoot."""
    return -((images.reshape(images.shape[0], -1) - 0.6) ** 2).sum(dim=1)


def test_best_of_iterations_returns_the_best_iterate_not_the_last(tmp_path):
    p = Toy(dim=4, name="grey")
    p.rewards = (Reward("grey", closeness),)
    o = oracle(p, cap=12)
    r = start(ReNO(lr=20.0, clip=None, reg_weight=0.0, momentum=0.0), o)  # far too large steps: it overshoots
    for _ in range(12):
        r.step()
    rows = o.drain()
    observed = [s.observed for s in rows]
    best = int(np.argmax(observed))
    assert best != len(rows) - 1
    np.testing.assert_allclose(r.best(), rows[best].eps, rtol=1e-6)
    ds = run(Study("overshoot", problems=[p], solvers=[ReNO(lr=20.0, clip=None, reg_weight=0.0, momentum=0.0)],
                   seeds=[0], budget=Budget(reward_calls=12)), tmp_path)
    values = ds["value"].sel(problem=p.name, solver="reno", seed=0).values
    assert float(at_pick(ds, "value").sel(problem=p.name, solver="reno", seed=0)) == pytest.approx(np.nanmax(values))
    assert np.nanargmax(values) != 11


def test_every_solver_gets_the_same_reward_calls_and_pays_its_gradients(tmp_path):
    p = Toy()
    solvers = [ReNO(), ReNOFromBest(init_samples=4, top_k=2), BestOfN(batch=3), "random", "optuna-cmaes"]
    ds = run(Study("equal", problems=[p], solvers=solvers, seeds=[0, 1], budget=Budget(reward_calls=9)), tmp_path)
    ds = ds.sel(problem=p.name)
    calls = ds["cost"].sel(axis="reward_calls").max("step")  # cumulative
    assert (calls == 9).all(), calls.values
    assert int((ds["failed"] >= 0).sum("step").min()) == 9 == int((ds["failed"] >= 0).sum("step").max())
    grads = ds["cost"].sel(axis="reward_gradients").max("step")
    assert int(grads.sel(solver="reno", seed=0)) == 9  # every image scored is differentiated, the last too
    assert int(grads.sel(solver="reno-bon", seed=0)) == 9  # 4 samples, then chains of 2: 2 + 2 + 1
    assert int(grads.sel(solver="best-of-n").sum()) == 0 and int(grads.sel(solver="random").sum()) == 0
    # the same noise stream: ReNO's first image is best-of-N's first
    first = ds["value"].isel(step=0)  # (problem selected above)
    assert float(first.sel(solver="reno", seed=1)) == pytest.approx(float(first.sel(solver="best-of-n", seed=1)), rel=1e-6)


def test_a_budget_in_evaluations_or_generator_calls_ends_every_solver_exactly_there(tmp_path):
    import optuna

    from workbench.recorder import open_storage

    p = Toy()
    solvers = [BestOfN(batch=4), ReNOFromBest(init_samples=8, top_k=3)]
    for budget in (10, Budget(generator_calls=10)):
        name = f"b{'e' if isinstance(budget, int) else 'g'}"
        Runner(Study(name, problems=[p], solvers=solvers, seeds=[0], budget=budget), run_dir=tmp_path / name,
               device="cpu").run()
        storage = open_storage(f"sqlite:///{tmp_path / name / 'optuna.db'}")
        for s in ("best-of-n", "reno-bon"):
            trials = optuna.load_study(study_name=f"{name}/{p.name}/{s}/0", storage=storage).get_trials()
            assert len(trials) == 10, (budget, s, len(trials))
    with pytest.raises(InvalidStudyError, match="reward_gradients.*cannot count"):
        Study("bg", problems=[p], solvers=[BestOfN()], seeds=[0], budget=Budget(reward_gradients=5))


def test_a_cell_extended_to_a_larger_budget_goes_on_as_a_fresh_run_would(tmp_path):
    p = Toy()
    for name, budgets in (("grown", (5, 11)), ("fresh", (11,))):
        for b in budgets:
            study = Study(name, problems=[p], solvers=[ReNO(lr=0.5), ReNOFromBest(init_samples=3, top_k=1)],
                          seeds=[0], budget=Budget(reward_calls=b))
            Runner(study, run_dir=tmp_path / name, device="cpu").run()
    grown, fresh = (load_results(tmp_path / n) for n in ("grown", "fresh"))
    np.testing.assert_allclose(grown["value"].values, fresh["value"].values, rtol=1e-6)


def test_reno_optimizes_and_picks_by_its_own_reward_weights_while_the_records_keep_the_problem_s(tmp_path):
    p = Toy(held_out=False, name="two-rewards")
    p.rewards = (Reward("bright", brightness), Reward("dark", lambda images, q: -images.mean(dim=(1, 2, 3)), 0.5))
    p.declare()
    ds = run(Study("weights", problems=[p], solvers=[ReNO(lr=0.5, weights={"bright": 0.0}, name="dark-only")],
                   seeds=[0], budget=Budget(reward_calls=6)), tmp_path)
    cell = ds.sel(problem=p.name, solver="dark-only", seed=0)
    np.testing.assert_allclose(cell["observed"].values, 0.5 * cell["reward_dark"].values, rtol=1e-5)
    np.testing.assert_allclose(cell["value"].values, cell["reward_bright"].values + 0.5 * cell["reward_dark"].values,
                               rtol=1e-5)
    assert cell["reward_dark"].values[-1] > cell["reward_dark"].values[0]  # it climbed the reward it weighs
    with pytest.raises(CapabilityError, match=r"rewards named \['nope'\]"):
        run(Study("bad", problems=[p], solvers=[ReNO(weights={"nope": 1.0})], seeds=[0]), tmp_path)
    with pytest.raises(InvalidConfigError, match=r"ReNO.weights\['dark'\] must be a finite number >= 0"):
        ReNO(weights={"dark": -1.0})


def test_solvers_never_see_held_out_rewards(tmp_path):
    calls = {"family": 0}

    def watched(images, problem):
        for frame in inspect.stack():
            if "workbench/solvers" in frame.filename.replace("\\", "/"):
                raise AssertionError(f"a held-out reward was called from {frame.filename}")
        calls["family"] += 1
        return -images.mean(dim=(1, 2, 3))

    p = Toy(held_out=False)
    p.held_out = (Reward("judge", watched),)
    ds = run(Study("held", problems=[p], solvers=[ReNO(), BestOfN(), "random"], seeds=[0],
                   budget=Budget(reward_calls=5)), tmp_path)
    assert calls["family"] > 0
    assert np.isfinite(ds["judge"].values[ds["failed"].values == 0]).all()
    assert not hasattr(oracle(p), "held_out")


def test_a_nan_reward_is_a_failed_step_and_the_cell_goes_on(tmp_path):
    def flaky(images, problem):
        r = brightness(images, problem)
        return torch.where(images.reshape(images.shape[0], -1)[:, 0] > 0.5, torch.full_like(r, math.nan), r)

    p = Toy(held_out=False, name="flaky")
    p.rewards = (Reward("bright", flaky),)
    ds = run(Study("nan", problems=[p], solvers=[ReNO(lr=1.0), BestOfN(batch=2), "random"], seeds=[0],
                 budget=Budget(reward_calls=10)), tmp_path)
    failed = ds["failed"].sel(problem="flaky", seed=0)
    assert int((failed >= 0).sum("step").min()) == 10  # every cell reached its budget
    assert int((failed == 1).sum()) >= 2 and int((failed == 0).sum()) >= 2
    bad = np.isnan(ds["value"].values) & (ds["failed"].values == 1)
    assert bad.any()


def test_a_generator_that_raises_fails_its_rows_and_the_cell_goes_on(tmp_path):
    class Broken(Toy):
        def generate(self, eps):
            if float(eps.reshape(eps.shape[0], -1)[:, 0].max()) > 0.8:
                raise RuntimeError("out of memory, say")
            return super().generate(eps)

    p = Broken(name="broken")
    ds = run(Study("raises", problems=[p], solvers=[BestOfN(), "random"], seeds=[0], budget=Budget(reward_calls=12)),
             tmp_path)
    assert int((ds["failed"] == 1).sum()) >= 1 and int((ds["failed"] >= 0).sum("step").min()) == 12


def test_reno_moves_on_from_a_noise_whose_image_always_fails(tmp_path):
    class Broken(Toy):
        def generate(self, eps):
            if float(eps.detach().reshape(eps.shape[0], -1)[:, 0].abs().max()) > 1.0:
                raise RuntimeError("this noise breaks the generator")
            return super().generate(eps)

    p = Broken(name="broken", seed=2)
    ds = run(Study("restart", problems=[p], solvers=[ReNO(lr=0.01), ReNOFromBest(init_samples=4, top_k=2)],
                   seeds=[0, 1, 2], budget=Budget(reward_calls=20)), tmp_path)
    failed = ds["failed"].sel(problem="broken")
    assert int((failed >= 0).sum("step").min()) == 20
    assert float((failed == 1).mean()) < 0.5, failed.values  # it starts again elsewhere, not on the same noise


def test_a_held_out_reward_that_raises_leaves_its_scores_missing_and_the_study_goes_on(tmp_path):
    def broken(images, problem):
        raise RuntimeError("judge unavailable")

    p = Toy(held_out=False, name="nojudge")
    p.held_out = (Reward("judge", broken),)
    ds = run(Study("judge", problems=[p], solvers=[BestOfN()], seeds=[0], budget=Budget(reward_calls=4)), tmp_path)
    assert int((ds["failed"] == 0).sum()) == 4 and np.isnan(ds["judge"].values).all()


def test_declarations_fail_when_declared_naming_the_field():
    class WrongShape(Toy):
        def generate(self, eps):
            return torch.sigmoid(eps.reshape(eps.shape[0], 1, 2, 2))  # takes 4 numbers per noise

    with pytest.raises(InvalidProblemError, match=r"\.shape \(6,\) is not what the generator takes"):
        WrongShape(dim=6)
    with pytest.raises(InvalidProblemError, match=r"\.shape must be a non-empty tuple"):
        Toy(shape=(0, 3))

    class Declares(Toy):
        def noise_shape(self):
            return (4, 8, 8)

    with pytest.raises(InvalidProblemError, match=r"\.shape must be the generator's noise shape \(4, 8, 8\)"):
        Declares(shape=(4, 4, 4))

    class NoRewards(Toy):
        def __init__(self):
            self.rewards = ()
            super().__init__()

    with pytest.raises(InvalidProblemError, match=r"rewards must hold at least one reward"):
        p = Toy()
        p.rewards = (Reward("b", brightness, 0.0),)
        p.declare()
    with pytest.raises(InvalidProblemError, match=r"held_out must not share names"):
        p = Toy()
        p.held_out = (Reward("bright", brightness),)
        p.declare()
    with pytest.raises(InvalidProblemError, match=r"NoisyReward.std must be"):
        NoisyReward(Toy(), -1.0)
    with pytest.raises(InvalidConfigError, match=r"ReNO.top_k must be <= init_samples"):
        ReNO(init_samples=2, top_k=3)
    with pytest.raises(InvalidConfigError, match=r"BestOfN.batch"):
        BestOfN(batch=0)


def test_noise_maps_to_the_unit_cube_and_back():
    eps = torch.randn(5, 2, 3, dtype=torch.float64)
    np.testing.assert_allclose(to_noise(to_unit(eps), (2, 3)), eps, rtol=1e-7, atol=1e-7)
    u = torch.rand(1000, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    z = to_noise(u, (1,))
    assert abs(float(z.mean())) < 0.1 and abs(float(z.std()) - 1) < 0.1


def test_a_box_keeps_the_black_box_view_within_so_many_standard_deviations(tmp_path):
    p = Toy(box=1.0, name="boxed")
    assert float(p.space.bounds[0, 0]) == pytest.approx(0.158655, abs=1e-6)
    ds = run(Study("box", problems=[p], solvers=["random", "optuna-cmaes", ReNO(), BestOfN()], seeds=[0],
                   budget=Budget(reward_calls=10)), tmp_path)
    import optuna

    from workbench.recorder import open_storage

    storage = open_storage(f"sqlite:///{tmp_path / 'box' / 'optuna.db'}")
    for s in ("random", "optuna-cmaes", "reno", "best-of-n"):  # ReNO's steps projected, best-of-N's draws clamped
        trials = optuna.load_study(study_name=f"box/boxed/{s}/0", storage=storage).get_trials()
        U = p.space.encode([p.space.from_optuna_params(t.params) for t in trials])
        assert float(to_noise(U, p.shape).abs().max()) <= 1.0 + 1e-9
    assert int((ds["failed"] == 0).sum()) == 40
    with pytest.raises(InvalidProblemError, match=r"\.box must be a number of standard deviations > 0"):
        Toy(box=0.0)
    assert NoisyReward(p, 0.1).space.bounds.tolist() == p.space.bounds.tolist()


def test_reward_noise_is_seen_by_solvers_while_the_records_stay_clean(tmp_path):
    p = NoisyReward(Toy(), 0.5)
    study = Study("noisy", problems=[p], solvers=[BestOfN(), "random"], seeds=[0], budget=Budget(reward_calls=8))
    ds = run(study, tmp_path)
    cell = ds.sel(problem=p.name, solver="best-of-n", seed=0)
    eps = p.sample(8, 0)
    with torch.no_grad():
        clean = brightness(p.generate(eps), p.inner).double().numpy()
    np.testing.assert_allclose(cell["value"].values, clean, rtol=1e-5)
    gap = cell["observed"].values - cell["value"].values
    assert 0.2 < float(np.std(gap)) < 1.0
    again = run(Study("noisy2", problems=[p], solvers=[BestOfN()], seeds=[0], budget=Budget(reward_calls=8)), tmp_path)
    np.testing.assert_allclose(again["observed"].sel(solver="best-of-n").values.ravel(), cell["observed"].values)
    pick = int(np.nanargmax(cell["observed"].values))  # the pick follows what the solver saw
    assert float(at_pick(ds, "value").sel(problem=p.name, solver="best-of-n", seed=0)) == cell["value"].values[pick]
    rel = NoisyReward(Toy(), 0.5, relative=True)
    assert rel.noise_std > 0 and rel.name == "toy-noise+noise0.5spread"


def test_norm_ratio_is_recorded_and_the_regularizer_holds_it(tmp_path):
    p = Toy(dim=64)
    ds = run(Study("norm", problems=[p], solvers=[ReNO(lr=5.0)], seeds=[0], budget=Budget(reward_calls=30)), tmp_path)
    ratio = ds["norm_ratio"].sel(problem=p.name, solver="reno", seed=0).values
    assert np.isfinite(ratio).all() and abs(ratio[0] - 1) < 0.3
    assert isinstance(p, NoiseProblem)


STUDY = """
from tests.families.noise.toy import Toy
from workbench import Study
from workbench.budget import Budget
from workbench.solvers.noise import ReNOFromBest

study = Study("slow", problems=[Toy(delay={delay}, name="slow")], solvers=[ReNOFromBest(init_samples=3, top_k=2)],
              seeds=[0], budget=Budget(reward_calls={budget}))
"""


def test_a_killed_reno_cell_resumes_from_its_checkpoint_and_ends_where_an_uninterrupted_run_does(tmp_path, cli_env):
    budget = 40
    for name, delay in (("killed", 0.05), ("whole", 0.0)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "slow.py").write_text(STUDY.format(delay=delay, budget=budget))
    folder = tmp_path / "killed"
    proc = subprocess.Popen(workbench_cmd() + ["run", "slow.py", "--quiet"], env=cli_env, cwd=folder)
    recorded = trials_recorded(folder / "runs" / "slow" / "optuna.db", 9)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 9 <= recorded < budget
    for name in ("killed", "whole"):
        out = subprocess.run(workbench_cmd() + ["run", "slow.py", "--quiet"], env=cli_env, cwd=tmp_path / name,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
    killed, whole = (load_results(tmp_path / n / "runs" / "slow") for n in ("killed", "whole"))
    assert killed.sizes["step"] == whole.sizes["step"] == budget
    np.testing.assert_allclose(killed["value"].values, whole["value"].values, rtol=1e-6)
    for axis in ("reward_calls", "reward_gradients", "generator_calls"):
        np.testing.assert_array_equal(killed["cost"].sel(axis=axis).values, whole["cost"].sel(axis=axis).values)
