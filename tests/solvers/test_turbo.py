"""TuRBO: the trust region grows, shrinks and restarts by the paper's rules, its candidates stay in the region,
a resumed run replays to the same state, and it optimizes."""

from __future__ import annotations

import logging

import pytest
import torch

from problems.synthetic import Ackley, Branin
from workbench.errors import InvalidConfigError
from workbench.models import EnsembleSurrogate, LightGPSurrogate
from workbench.solver import CellContext
from workbench.solvers.bo import BoTuRBO


def _start(solver, problem, seed=0):
    return solver.start(CellContext(space=problem.space, seed=seed, device=torch.device("cpu")))


def _drive(run, problem, steps, q=1):
    for _ in range(steps):
        X = run.ask(q)
        run.tell(X, problem.evaluate(X))


def test_region_doubles_after_successes_halves_after_failures_and_restarts_below_the_minimum():
    problem = Branin()
    solver = BoTuRBO(n_initial=4, success_tolerance=2, failure_tolerance=2, length_min=0.1)
    run = _start(solver, problem)
    _drive(run, problem, 4)
    assert run.length == 0.8 and run.y.numel() == 4
    best = float(run.y.min())
    X = problem.space.sample(1, 0)
    run.tell(X, torch.tensor([best - 10.0]))
    run.tell(X, torch.tensor([best - 20.0]))  # two improvements in a row: doubled
    assert run.length == pytest.approx(1.6) and run.successes == 0
    run.tell(X, torch.tensor([best - 20.0 + 1e-6]))  # not better by 1e-3 |best|: a failure
    assert run.failures == 1
    run.tell(X, torch.tensor([best + 5.0]))  # second failure: halved
    assert run.length == pytest.approx(0.8) and run.failures == 0
    first_design = run.Z[:4].clone()
    for _ in range(8):  # two failures per halving: 0.8 -> 0.4 -> 0.2 -> 0.1 -> 0.05 < 0.1: restart
        run.tell(X, torch.tensor([best + 5.0]))
    assert run.restart == 1 and run.y.numel() == 0 and run.length == 0.8
    fresh = run.enc.encode(run.ask(4))
    assert not torch.allclose(fresh, first_design)  # the restart's design is a new one


def test_candidates_stay_in_the_region_and_perturb_the_chosen_share_of_coordinates(monkeypatch):
    from workbench.models.light_gp import LightGP

    problem = Ackley(dim=40)
    solver = BoTuRBO(n_initial=30, perturbation=0.25, candidates=2000)
    run = _start(solver, problem)
    X = run.ask(30)
    U = problem.space.to_unit(X)
    run.tell(X, 50 * (U[:, 0] - 0.3) ** 2 + U[:, 1])  # depends on two of the 40 inputs: a long box elsewhere
    run.length = 0.3
    seen = {}
    original = LightGP.sample_paths

    def spy(self, num, *, generator, features):
        paths = original(self, num, generator=generator, features=features)

        def evaluate(X):
            seen["cands"], seen["model"] = X, self
            return paths(X)

        return evaluate

    monkeypatch.setattr(LightGP, "sample_paths", spy)
    run.ask(1)
    cands = seen["cands"]
    centre = run.Z[run.y.argmin()]
    assert cands.shape == (2000, 40)
    moved = (cands != centre).double().mean()
    assert 0.2 < float(moved) < 0.3
    ls = seen["model"].lengthscales
    weights = ls / ls.log().mean().exp()
    low, high = (centre - 0.15 * weights).clamp(0, 1), (centre + 0.15 * weights).clamp(0, 1)
    assert bool((cands >= low - 1e-12).all() and (cands <= high + 1e-12).all())  # inside the weighted box
    assert float(weights.max() / weights.min()) > 1.5  # the box is not a cube: the test would see a wrong axis
    assert bool((cands >= 0).all() and (cands <= 1).all())


@pytest.mark.parametrize("failed", [(), (2, 6)])
def test_a_resumed_run_replays_to_the_same_state_and_next_proposal(failed):
    """Resumed after 14 points (some of which failed and were never told, as the driver does), a run told its
    history at once is in the uninterrupted run's state and proposes the same next point."""
    problem = Branin()
    # restarts within the run; no warm start of the model, whose fits otherwise depend on the run's history
    solver = BoTuRBO(n_initial=4, failure_tolerance=1, length_min=0.3, surrogate=LightGPSurrogate(warm_start=False))
    run = _start(solver, problem)
    X_all, y_all = [], []
    for step in range(14):
        X = run.ask(1)
        if step in failed:
            continue
        y = problem.evaluate(X)
        run.tell(X, y)
        X_all.append(X), y_all.append(y)
    assert run.restart >= 1
    resumed = solver.start(CellContext(space=problem.space, seed=0, device=torch.device("cpu"), start_step=14))
    resumed.tell(torch.cat(X_all), torch.cat(y_all))
    for key in ("restart", "design_asked", "length", "successes", "failures", "asked"):
        assert getattr(resumed, key) == getattr(run, key), key
    torch.testing.assert_close(resumed.Z, run.Z)
    torch.testing.assert_close(resumed.ask(1), run.ask(1))


def test_turbo_beats_its_initial_design_in_batches(caplog):
    problem = Branin()
    run = _start(BoTuRBO(n_initial=5), problem)
    with caplog.at_level(logging.WARNING, logger="workbench"):
        _drive(run, problem, 5)
        _drive(run, problem, 5, q=2)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert run.asked == 15 and len(torch.unique(run.Z, dim=0)) == 15
    assert float(run.y[5:].min()) < float(run.y[:5].min())


def test_turbo_with_a_neural_surrogate_samples_its_functions_and_improves(caplog):
    """A deep ensemble as the local model (Thompson samples are ensemble members): it improves on its
    5-point design within 10 more points in at least 2 of 3 seeds, with no fallback."""
    problem = Branin()
    solver = BoTuRBO(n_initial=5, surrogate=EnsembleSurrogate(hidden=(16,), members=5, steps=200))
    improved = 0
    with caplog.at_level(logging.WARNING, logger="workbench"):
        for seed in range(3):
            run = _start(solver, problem, seed)
            _drive(run, problem, 15)
            improved += float(run.y[5:].min()) < float(run.y[:5].min())
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert improved >= 2


@pytest.mark.parametrize(
    "options, field",
    [({"n_initial": 1}, "n_initial"), ({"length_min": 0.0}, "length_min"), ({"length_init": 2.0}, "length_max"),
     ({"success_tolerance": 0}, "success_tolerance"), ({"failure_tolerance": 0}, "failure_tolerance"),
     ({"candidates": 0}, "candidates"), ({"perturbation": 1.5}, "perturbation"), ({"surrogate": "gp"}, "surrogate")],
)
def test_invalid_options_are_refused_naming_the_field(options, field):
    with pytest.raises(InvalidConfigError, match=field):
        BoTuRBO(**options)
