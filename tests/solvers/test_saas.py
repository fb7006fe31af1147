"""The SAAS GP (SAASBO): the prior switches irrelevant inputs off, the MAP mixture and the NUTS fit are
BoTorch models the BO loop runs on, and NUTS without its extra is refused when declared, naming the extra."""

from __future__ import annotations

import pytest
import torch

from problems.synthetic import Branin
from workbench.errors import InvalidConfigError, MissingExtraError
from workbench.models import SaasSurrogate
from workbench.models.saas import has_nuts
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo import AcquisitionConfig, BoSAAS
from workbench.solvers.bo.core import standardize

SEARCH = AcquisitionConfig(acquisition="qlogei", num_restarts=2, raw_samples=32, mc_samples=32, maxiter=30)


def _data(n: int = 30, d: int = 10, seed: int = 0):
    """A function of inputs 0 and 1 only, observed at ``n`` random points of the ``d``-cube."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = torch.sin(6 * X[:, 0]) + (2 * X[:, 1] - 1) ** 2
    return X, standardize(-y)


def _lengthscales(model) -> torch.Tensor:
    return model.covar_module.base_kernel.lengthscale.detach().reshape(-1, model.train_inputs[0].shape[-1])


def test_map_saas_switches_the_irrelevant_inputs_off():
    X, Y = _data()
    model = SaasSurrogate(inference="map", taus=3).fit(X, Y, generator=torch.Generator().manual_seed(0), state={})
    ls = _lengthscales(model)  # one row per global shrinkage
    assert ls.shape == (3, 10)
    active, idle = ls[:, :2].max(1).values, ls[:, 2:].min(1).values
    assert bool((idle > 5 * active).all()), ls
    post = model.posterior(X[:5])
    assert torch.allclose(post.mixture_mean.squeeze(-1), Y[:5, 0], atol=0.2)  # it interpolates the data


def test_map_saas_draws_its_shrinkages_once_per_run_and_warm_starts():
    X, Y = _data()
    state: dict = {}
    g = torch.Generator().manual_seed(1)
    first = SaasSurrogate(inference="map").fit(X[:20], Y[:20], generator=g, state=state)
    taus = state["saas_taus"].clone()
    assert taus.shape == (4,) and bool((taus > 0).all()) and "saas_map" in state
    second = SaasSurrogate(inference="map").fit(X, Y, generator=g, state=state)
    assert torch.equal(state["saas_taus"], taus) and torch.equal(second.taus, first.taus)


def test_bo_saas_map_improves_on_its_initial_design():
    problem = Branin()
    solver = solvers.get("bo-saas-map")(n_initial=5, acquisition=SEARCH, surrogate=SaasSurrogate(inference="map",
                                                                                                   taus=2))
    run = solver.start(CellContext(space=problem.space, seed=0, device=torch.device("cpu")))
    ys = []
    for _ in range(14):
        X = run.ask(1)
        y = problem.evaluate(X)
        run.tell(X, y)
        ys.append(float(y))
    assert min(ys[5:]) < min(ys[:5]), ys


def test_saas_options_are_checked_when_declared():
    for make, field in [(lambda: SaasSurrogate(inference="vi"), "inference"),
                        (lambda: SaasSurrogate(inference="map", taus=0), "taus"),
                        (lambda: SaasSurrogate(inference="map", samples=8, thinning=16), "thinning")]:
        with pytest.raises(InvalidConfigError, match=rf"SaasSurrogate\.{field}\b"):
            make()


def test_nuts_without_its_extra_is_refused_naming_the_extra(monkeypatch):
    import workbench.models.saas as saas

    monkeypatch.setattr(saas, "has_nuts", lambda: False)  # as where the saas extra is not installed
    with pytest.raises(MissingExtraError, match=r"SaasSurrogate\.inference='nuts'.*pip install -e '\.\[saas\]'"):
        BoSAAS()
    with pytest.raises(MissingExtraError):
        solvers.get("bo-saas")()


@pytest.mark.slow
@pytest.mark.skipif(not has_nuts(), reason="NUTS needs the saas extra (JAX, NumPyro)")
def test_nuts_saas_samples_hyperparameters_that_switch_the_irrelevant_inputs_off():
    X, Y = _data(n=24, d=6)
    surrogate = SaasSurrogate(warmup=64, samples=64, thinning=8)
    model = surrogate.fit(X, Y, generator=torch.Generator().manual_seed(0), state={})
    ls = model.median_lengthscale.detach().reshape(-1)
    assert model.num_mcmc_samples == 8
    assert float(ls[2:].min()) > 3 * float(ls[:2].max()), ls
    post = model.posterior(X[:5])
    assert torch.allclose(post.mixture_mean.squeeze(-1), Y[:5, 0], atol=0.3)


def test_thompson_sampling_draws_from_one_gp_of_the_mixture():
    problem = Branin()
    solver = solvers.get("bo-saas-map")(n_initial=4, acquisition=AcquisitionConfig(acquisition="ts", ts_candidates=64),
                                        surrogate=SaasSurrogate(inference="map", taus=3))
    run = solver.start(CellContext(space=problem.space, seed=0, device=torch.device("cpu")))
    for q in (4, 2, 2):
        X = run.ask(q)
        assert X.shape == (q, 2) and bool(problem.space.contains(X).all())
        run.tell(X, problem.evaluate(X))


def test_the_paper_shrinkage_hands_botorch_the_inverse_taus():
    X, Y = _data(n=20)
    fits = {}
    for shrinkage in ("botorch", "paper"):
        state: dict = {}
        fits[shrinkage] = SaasSurrogate(inference="map", taus=3, shrinkage=shrinkage).fit(
            X, Y, generator=torch.Generator().manual_seed(0), state=state)
        drawn = state["saas_taus"]
    assert torch.allclose(fits["botorch"].taus, drawn) and torch.allclose(fits["paper"].taus, 1.0 / drawn)
    with pytest.raises(InvalidConfigError, match=r"SaasSurrogate\.shrinkage\b"):
        SaasSurrogate(inference="map", shrinkage="strong")
