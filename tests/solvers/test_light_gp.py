"""The light GP: its kernels are the textbook ones, its posterior is the closed form, its MAP loss has the
right gradient, its options do what they say, and BoTorch's acquisitions run on it."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from problems.synthetic import Branin
from workbench.errors import InvalidConfigError
from workbench.models import LightGPSurrogate
from workbench.models.light_gp import Hyperparameters, LightGP, kernel_values, squared_distances
from workbench.solvers.bo.core import standardize


@pytest.fixture(scope="module")
def data():
    problem = Branin()
    X = problem.space.sample(14, 3)
    return problem.space.to_unit(X).double(), standardize(problem.evaluate(X))


def _hp(d: int) -> Hyperparameters:
    return Hyperparameters(rho=torch.linspace(0.5, 4.0, d, dtype=torch.float64), scale=torch.tensor(1.7, dtype=torch.float64),
                           noise=torch.tensor(1e-3, dtype=torch.float64))


@pytest.mark.parametrize("kind", ["matern52", "rbf"])
def test_kernels_equal_gpytorchs(kind):
    from gpytorch.kernels import MaternKernel, RBFKernel

    g = torch.Generator().manual_seed(0)
    A, B = torch.rand(5, 3, generator=g, dtype=torch.float64), torch.rand(4, 3, generator=g, dtype=torch.float64)
    hp = _hp(3)
    ours = hp.scale * kernel_values(kind, squared_distances(A, B, hp.rho))
    ref_kernel = MaternKernel(nu=2.5, ard_num_dims=3) if kind == "matern52" else RBFKernel(ard_num_dims=3)
    ref_kernel = ref_kernel.double()
    ref_kernel.lengthscale = hp.rho.rsqrt()
    ref = hp.scale * ref_kernel(A, B).to_dense()
    torch.testing.assert_close(ours, ref.detach())


def test_posterior_is_the_closed_form_and_botorchs_view_agrees(data):
    Z, Y = data
    hp = _hp(2)
    model = LightGP(Z, Y, hp, kernel="matern52")
    g = torch.Generator().manual_seed(1)
    X = torch.rand(3, 4, 2, generator=g, dtype=torch.float64)

    def k(A, B):
        return hp.scale * kernel_values("matern52", squared_distances(A, B, hp.rho))

    C = k(Z, Z) + hp.noise * torch.eye(len(Z), dtype=torch.float64)
    Kxz = k(X, Z)
    mean = Kxz @ torch.linalg.solve(C, Y)
    cov = k(X, X) - Kxz @ torch.linalg.solve(C, Kxz.transpose(-1, -2))
    post = model.posterior(X)
    torch.testing.assert_close(post.mean, mean)
    torch.testing.assert_close(post.distribution.covariance_matrix, cov, atol=1e-8, rtol=1e-6)
    m, v = model.mean_var(X)
    torch.testing.assert_close(m, mean.squeeze(-1))
    torch.testing.assert_close(v, cov.diagonal(dim1=-2, dim2=-1), atol=1e-8, rtol=1e-6)
    noisy = model.posterior(X, observation_noise=True).variance.squeeze(-1)
    torch.testing.assert_close(noisy - post.variance.squeeze(-1), torch.full((3, 4), 1e-3, dtype=torch.float64))


@pytest.mark.parametrize("options", [{}, {"kernel": "rbf"}, {"prior": "dim-scaled"}, {"prior": "mle"},
                                     {"noise": 1e-4}])
def test_map_loss_gradient_matches_finite_differences(data, options):
    Z, Y = data
    surrogate = LightGPSurrogate(**options)
    diff = Z.unsqueeze(1) - Z.unsqueeze(0)  # zero on the diagonal: the Matérn kernel's written-out derivative
    raw = torch.tensor([0.3, -0.2, 0.1, -3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda r: surrogate.loss(r, Z, Y.reshape(-1), diff * diff, 0.0), (raw,))


def test_fit_lowers_the_loss_to_a_stationary_point_and_keeps_the_floor(data):
    Z, Y = data
    surrogate = LightGPSurrogate()
    state: dict = {}
    model = surrogate.fit(Z, Y, generator=torch.Generator().manual_seed(0), state=state)
    diff = Z.unsqueeze(1) - Z.unsqueeze(0)
    raw = torch.tensor(state["light_gp"], dtype=torch.float64, requires_grad=True)
    loss = surrogate.loss(raw, Z, Y.reshape(-1), diff * diff, 0.0)
    (grad,) = torch.autograd.grad(loss, raw)
    start = surrogate.loss(torch.tensor([0.0, 0.0, 0.0, math.log(1 - 0.99e-6)], dtype=torch.float64), Z,
                           Y.reshape(-1), diff * diff, 0.0)
    assert float(loss.detach()) < float(start) - 1.0
    assert float(grad.abs().max()) < 0.05
    assert float(model.noise) >= 1e-6
    torch.testing.assert_close(model.rho, torch.exp(raw.detach()[:2]))
    # the fit describes the data: the posterior mean at the data is close to it
    assert float(((model.mean_var(Z)[0] - Y.reshape(-1)) ** 2).mean()) < 0.05


def test_fixed_noise_stays_fixed_and_warm_start_ignores_a_state_of_another_dimension(data):
    Z, Y = data
    g = torch.Generator().manual_seed(0)
    state = {"light_gp": [0.0] * 7}  # a saved fit of another space
    model = LightGPSurrogate(noise=1e-5).fit(Z, Y, generator=g, state=state)
    assert float(model.noise) == 1e-5
    assert len(state["light_gp"]) == 4
    again = LightGPSurrogate(noise=1e-5).fit(Z, Y, generator=g, state=state)  # from the saved optimum
    torch.testing.assert_close(again.rho, model.rho, rtol=1e-3, atol=1e-6)


def test_dim_scaled_prior_is_the_lognormal_density_of_the_lengthscales():
    d = 50
    surrogate = LightGPSurrogate(prior="dim-scaled", noise=1e-6)
    lognormal = torch.distributions.LogNormal(torch.tensor(math.sqrt(2) + 0.5 * math.log(d), dtype=torch.float64),
                                           torch.tensor(math.sqrt(3), dtype=torch.float64))
    values = []
    for lengthscale in (0.5, 3.0):
        hp = Hyperparameters(rho=torch.full((d,), lengthscale ** -2, dtype=torch.float64),
                             scale=torch.tensor(1.0, dtype=torch.float64), noise=torch.tensor(1e-6, dtype=torch.float64))
        values.append((float(surrogate.log_prior(hp)), d * float(lognormal.log_prob(torch.tensor(lengthscale, dtype=torch.float64)))))
    assert values[1][0] - values[0][0] == pytest.approx(values[1][1] - values[0][1], rel=1e-9)


def test_mle_prior_leaves_the_lengthscales_free_and_starts_them_at_root_d_over_ten():
    d = 64
    surrogate = LightGPSurrogate(prior="mle", noise=1e-6)
    logs = []
    for lengthscale in (0.5, 3.0):
        hp = Hyperparameters(rho=torch.full((d,), lengthscale ** -2, dtype=torch.float64),
                             scale=torch.tensor(1.0, dtype=torch.float64), noise=torch.tensor(1e-6, dtype=torch.float64))
        logs.append(float(surrogate.log_prior(hp)))
    assert logs[0] == logs[1]  # only the output scale's prior, the same for both
    # a fit of zero iterations is its start: sqrt(64) / 10 = 0.8 in every input
    g = torch.Generator().manual_seed(0)
    Z = torch.rand(20, d, generator=g, dtype=torch.float64)
    Y = torch.randn(20, 1, generator=g, dtype=torch.float64)
    start = LightGPSurrogate(prior="mle", noise=1e-6, gtol=1e3).fit(Z, Y, generator=g, state={})
    torch.testing.assert_close(start.rho.reshape(-1) ** -0.5, torch.full((d,), 0.8, dtype=torch.float64))


@pytest.mark.parametrize("acquisition", ["logei", "qlognei", "qlogei", "qucb", "ts"])
def test_every_acquisition_runs_on_the_light_gp(acquisition, caplog):
    """No fit or acquisition failure falls back to another model or a random point, and no point repeats."""
    from workbench.solver import CellContext
    from workbench.solvers.bo import AcquisitionConfig, BayesOpt

    problem = Branin()
    solver = BayesOpt(surrogate=LightGPSurrogate(), n_initial=5,
                      acquisition=AcquisitionConfig(acquisition=acquisition, num_restarts=2, raw_samples=32,
                                                    mc_samples=32, maxiter=30))
    run = solver.start(CellContext(space=problem.space, seed=0, device=torch.device("cpu")))
    with caplog.at_level(logging.WARNING, logger="workbench"):
        for batch in (5, 1, 2, 1):
            X = run.ask(batch)
            assert bool(problem.space.contains(X).all())
            run.tell(X, problem.evaluate(X))
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert len(run.X) == 9 and len(torch.unique(run.X, dim=0)) == 9


@pytest.mark.parametrize(
    "options, field",
    [({"kernel": "matern"}, "kernel"), ({"prior": "gamma"}, "prior"), ({"noise": 0.0}, "noise"),
     ({"noise_floor": -1.0}, "noise_floor"), ({"gtol": 0}, "gtol")],
)
def test_invalid_options_are_refused_naming_the_field(options, field):
    with pytest.raises(InvalidConfigError, match=field):
        LightGPSurrogate(**options)


@pytest.mark.parametrize("kind", ["matern52", "rbf"])
def test_posterior_paths_have_the_posterior_mean_and_variance(data, kind):
    """Many pathwise draws: their mean and variance at new points approach the exact posterior's (the random
    features approximate the prior, so the tolerance is a few percent of the prior scale)."""
    Z, Y = data
    model = LightGP(Z, Y, _hp(2), kernel=kind)
    X = torch.rand(6, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    paths = model.sample_paths(4000, generator=torch.Generator().manual_seed(3), features=2000)
    F = paths(X)
    mean, var = model.mean_var(X)
    assert F.shape == (6, 4000)
    torch.testing.assert_close(F.mean(1), mean, atol=0.08, rtol=0)
    torch.testing.assert_close(F.var(1), var, atol=0.08 * 1.7, rtol=0.1)
    # at the data the draws pass through the observations (up to the noise)
    assert float((paths(Z) - Y).abs().mean()) < 0.1


@pytest.mark.parametrize("kind", ["matern52", "rbf"])
def test_random_features_reproduce_the_kernel(data, kind):
    """The prior of the pathwise draws: with many features, the features' inner products are the kernel."""
    Z, Y = data
    hp = _hp(2)
    model = LightGP(Z, Y, hp, kernel=kind)
    paths = model.sample_paths(1, generator=torch.Generator().manual_seed(4), features=40_000)
    A = torch.rand(8, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    features = torch.cos(A @ paths.omega.T + paths.phase) * torch.sqrt(2 * hp.scale / 40_000)
    exact = hp.scale * kernel_values(kind, squared_distances(A, A, hp.rho))
    torch.testing.assert_close(features @ features.T, exact, atol=0.03, rtol=0)


def test_fast_log_ei_equals_botorchs_log_ei(data):
    from botorch.acquisition import LogExpectedImprovement

    from workbench.solvers.bo.core import FastLogEI, log_expected_improvement_scaled

    Z, Y = data
    model = LightGPSurrogate().fit(Z, Y, generator=torch.Generator().manual_seed(0), state={})
    X = torch.rand(64, 1, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    for best in (Y.max(), Y.max() + 3.0, Y.min()):  # typical, deep in the tail, everywhere improving
        ours, ref = FastLogEI(model, best)(X), LogExpectedImprovement(model, best_f=best)(X)
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
    z = torch.tensor([-1e4, -300.0, -40.0, -5.0, -1.0, -0.5, 0.0, 2.0, 30.0], dtype=torch.float64, requires_grad=True)
    from botorch.acquisition.analytic import _log_ei_helper

    value = log_expected_improvement_scaled(z)
    torch.testing.assert_close(value, _log_ei_helper(z), rtol=1e-10, atol=1e-12)
    (grad,) = torch.autograd.grad(value.sum(), z)
    assert bool(torch.isfinite(grad).all()) and bool((grad > 0).all())
