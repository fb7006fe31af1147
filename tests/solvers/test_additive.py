"""Add-GP-UCB (``bo-add``): the additive GP recovers additive functions and learns their split, the group
posteriors add up to the sum's, and the solver optimizes, batches and falls back as every bo-* solver does."""

from __future__ import annotations

import logging

import pytest
import torch

from problems.synthetic import StyblinskiTang
from workbench.errors import InvalidConfigError
from workbench.models import AdditiveGPSurrogate, LightGPSurrogate
from workbench.models.base import FitError
from workbench.solver import CellContext
from workbench.solvers.bo import BoAdd


def _data(f, n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = f(X)
    return X, ((y - y.mean()) / y.std()).unsqueeze(-1), y


def _r2(model, f, y, d):
    Xt = torch.rand(400, d, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    mean, _ = model.mean_var(Xt)
    pred = mean * y.std() + y.mean()
    return float(1 - ((pred - f(Xt)) ** 2).mean() / f(Xt).var())


def _additive(X):
    return torch.sin(6 * X[:, 0]) + 4 * (X[:, 1] - 0.3) ** 2 + torch.cos(5 * X[:, 2])


def test_one_input_per_group_recovers_an_additive_function_better_than_one_group():
    X, Y, y = _data(_additive, 120, 6)
    fits = {g: AdditiveGPSurrogate(group_size=g).fit(X, Y, generator=torch.Generator().manual_seed(1), state={})
            for g in (1, 6)}
    r2 = {g: _r2(m, _additive, y, 6) for g, m in fits.items()}
    assert r2[1] > 0.99 and r2[1] > r2[6] + 0.05, r2


def test_the_split_with_the_highest_likelihood_is_kept():
    def paired(X):  # three interacting pairs: (0, 3), (1, 4), (2, 5)
        return sum(torch.sin(4 * X[:, i] + 3 * X[:, i + 3]) * torch.cos(3 * X[:, i] - 4 * X[:, i + 3]) for i in range(3))

    X, Y, _ = _data(paired, 150, 6)
    state: dict = {}
    model = AdditiveGPSurrogate(group_size=2, decompositions=60).fit(X, Y, generator=torch.Generator().manual_seed(0),
                                                                     state=state)
    groups = {frozenset(torch.nonzero(model.assign[:, j]).reshape(-1).tolist()) for j in range(model.groups)}
    assert groups == {frozenset({0, 3}), frozenset({1, 4}), frozenset({2, 5})}


def test_group_posteriors_add_up_to_the_posterior_of_the_sum():
    X, Y, _ = _data(_additive, 40, 6)
    model = AdditiveGPSurrogate(group_size=2).fit(X, Y, generator=torch.Generator().manual_seed(0), state={})
    Z = torch.rand(7, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    gm, gv = model.group_mean_var(Z)
    mean, var = model.mean_var(Z)
    post = model.posterior(Z.unsqueeze(-2))
    assert gm.shape == gv.shape == (7, 3)
    assert torch.allclose(gm.sum(-1), mean) and torch.allclose(post.mean.reshape(-1), mean)
    assert torch.allclose(post.variance.reshape(-1), var, atol=1e-8)
    assert bool((gv > 0).all()) and bool((gv <= model.scale + 1e-8).all())
    # at an observed point the sum is pinned near its value
    m0, v0 = model.mean_var(X[:3])
    assert torch.allclose(m0, Y[:3, 0], atol=0.2) and bool((v0 < 0.05).all())


def test_split_and_hyperparameters_are_relearned_every_relearn_every_fits():
    X, Y, _ = _data(_additive, 30, 6)
    surrogate, state = AdditiveGPSurrogate(group_size=2, relearn_every=5), {}
    g = torch.Generator().manual_seed(0)
    surrogate.fit(X[:20], Y[:20], generator=g, state=state)
    assert state["additive_gp"]["n"] == 20
    surrogate.fit(X[:24], Y[:24], generator=g, state=state)
    assert state["additive_gp"]["n"] == 20
    surrogate.fit(X[:25], Y[:25], generator=g, state=state)
    assert state["additive_gp"]["n"] == 25


def _start(solver, problem, seed=0):
    return solver.start(CellContext(space=problem.space, seed=seed, device=torch.device("cpu")))


def test_bo_add_improves_on_its_design_in_ten_dimensions():
    problem = StyblinskiTang(dim=10)
    run = _start(BoAdd(surrogate=AdditiveGPSurrogate(group_size=1), n_initial=8), problem)
    for _ in range(40):
        X = run.ask(1)
        assert bool(problem.space.contains(X).all())
        run.tell(X, problem.evaluate(X))
    assert float(run.y[8:].min()) < float(run.y[:8].min()) - 20, run.y.tolist()


def test_a_batch_holds_distinct_points_in_the_space():
    problem = StyblinskiTang(dim=6)
    run = _start(BoAdd(n_initial=4, candidates=200), problem)
    X = run.ask(4)
    run.tell(X, problem.evaluate(X))
    X = run.ask(3)
    assert X.shape == (3, 6) and bool(problem.space.contains(X).all())
    assert torch.unique(X, dim=0).shape[0] == 3


def test_a_failed_fit_is_logged_and_a_quasi_random_point_proposed(monkeypatch, caplog):
    problem = StyblinskiTang(dim=4)
    run = _start(BoAdd(n_initial=3, candidates=100), problem)
    X = run.ask(3)
    run.tell(X, problem.evaluate(X))

    def fail(self, *args, **kwargs):
        raise FitError("not positive definite")

    monkeypatch.setattr(AdditiveGPSurrogate, "fit", fail)
    with caplog.at_level(logging.WARNING, logger="workbench"):
        X = run.ask(2)
    assert X.shape == (2, 4) and bool(problem.space.contains(X).all())
    assert "additive GP failed at 3 observations" in caplog.text


@pytest.mark.parametrize("make, field", [
    (lambda: AdditiveGPSurrogate(group_size=0), "group_size"),
    (lambda: AdditiveGPSurrogate(noise=0.0), "noise"),
    (lambda: AdditiveGPSurrogate(bandwidth_range=(5.0, 1.0)), "bandwidth_range"),
    (lambda: AdditiveGPSurrogate(scale_range=(0.0, 1.0)), "scale_range"),
    (lambda: BoAdd(beta_scale=-1.0), "beta_scale"),
    (lambda: BoAdd(candidates=0), "candidates"),
    (lambda: BoAdd(surrogate=LightGPSurrogate()), "surrogate"),
])
def test_a_wrong_declaration_fails_naming_the_field(make, field):
    with pytest.raises(InvalidConfigError, match=field):
        make()
