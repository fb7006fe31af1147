"""Every surrogate is a BoTorch Model with sensible posteriors; HMC hits its acceptance target."""

from __future__ import annotations

import math

import pytest
import torch

from problems.synthetic import Branin
from workbench.errors import InvalidConfigError
from workbench.models import (
    DKLSurrogate,
    EnsembleSurrogate,
    GPSurrogate,
    HMCSurrogate,
    IBNNSurrogate,
    LaplaceSurrogate,
    NNGPSignSurrogate,
    SGHMCSurrogate,
    SGNTKSurrogate,
)
from workbench.models.hmc import hmc
from workbench.solvers.bo.core import standardize

TINY = {
    "gp": GPSurrogate(),
    "gp-fixed-noise": GPSurrogate(noise=1e-6),
    "gp-low-floor": GPSurrogate(min_noise=1e-6),
    "gp-matern52": GPSurrogate(kernel="matern52"),
    "ibnn": IBNNSurrogate(),
    "ibnn-fixed-variances": IBNNSurrogate(fit_variances=False),
    "dkl": DKLSurrogate(hidden=(8,), features=2, steps=30, warm_steps=5),
    "ensemble": EnsembleSurrogate(hidden=(16,), members=3, steps=200),
    "hmc": HMCSurrogate(hidden=(8,), chains=2, warmup=30, samples=10, thin=2, leapfrog=5, map_steps=50),
    "sghmc": SGHMCSurrogate(hidden=(8,), chains=2, burnin=100, samples=20, thin=5),
    "laplace": LaplaceSurrogate(hidden=(8,), steps=100, samples=8),
    "nngp-sign": NNGPSignSurrogate(),
    "sgntk": SGNTKSurrogate(),
}


@pytest.fixture(scope="module")
def branin_data():
    problem = Branin()
    X = problem.space.sample(16, 0)
    y = problem.evaluate(X)
    return problem.space.to_unit(X), standardize(y)


@pytest.mark.parametrize("kind", sorted(TINY))
def test_posterior_shapes_and_positive_variances(kind, branin_data):
    Z, Y = branin_data
    model = TINY[kind].fit(Z, Y, generator=torch.Generator().manual_seed(0), state={})
    X = torch.rand(3, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    post = model.posterior(X)
    assert post.mean.shape == (3, 4, 1)
    assert post.variance.shape == (3, 4, 1)
    assert bool((post.variance > 0).all()) and bool(torch.isfinite(post.mean).all())
    samples = post.rsample(torch.Size([5]))
    assert samples.shape == (5, 3, 4, 1) and bool(torch.isfinite(samples).all())
    # the mean tracks the data better than a constant would (the fit learned something)
    fitted = model.posterior(Z.unsqueeze(-2)).mean.reshape(-1)
    assert float(((fitted.detach() - Y.reshape(-1)) ** 2).mean()) < 0.8 * float(Y.var())


def test_hmc_samples_a_gaussian_at_its_target_acceptance():
    g = torch.Generator().manual_seed(0)
    scales = torch.linspace(0.5, 2.0, 10)
    result = hmc(lambda z: 0.5 * ((z / scales) ** 2).sum(-1), torch.zeros(4, 10), step_size=torch.full((4,), 0.01),
                 warmup=200, samples=600, leapfrog=10, thin=2, target_accept=0.8, generator=g)
    assert 0.65 <= result.accept_rate <= 0.95
    var = result.samples.var(0)
    assert torch.allclose(var.sqrt(), scales, rtol=0.3), var.sqrt()
    assert float(result.samples.mean(0).abs().max()) < 0.5


def test_hmc_surrogate_acceptance_within_target_band(branin_data):
    Z, Y = branin_data
    surrogate = HMCSurrogate(hidden=(8,), chains=2, warmup=150, samples=40, thin=4, leapfrog=8, map_steps=100)
    state: dict = {}
    surrogate.fit(Z, Y, generator=torch.Generator().manual_seed(0), state=state)
    assert abs(state["accept_rate"] - surrogate.target_accept) <= 0.15, state["accept_rate"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: HMCSurrogate(target_accept=1.5),
        lambda: EnsembleSurrogate(members=1),
        lambda: SGHMCSurrogate(lr=-1.0),
        lambda: LaplaceSurrogate(hidden=()),
        lambda: DKLSurrogate(features=0),
        lambda: IBNNSurrogate(depth=0),
        lambda: EnsembleSurrogate(noise_var=0.0),
        lambda: GPSurrogate(noise=0.0),
        lambda: GPSurrogate(min_noise=-1e-6),
        lambda: GPSurrogate(kernel="matern"),
    ],
)
def test_invalid_surrogate_options_are_refused(make):
    with pytest.raises(InvalidConfigError):
        make()


def test_gp_noise_options_set_the_fitted_noise(branin_data):
    Z, Y = branin_data
    g = torch.Generator().manual_seed(0)
    fixed = GPSurrogate(noise=1e-6).fit(Z, Y, generator=g, state={})
    noise = fixed.likelihood.noise.detach().reshape(-1)  # after the outcome transform: standardized units
    torch.testing.assert_close(noise, torch.full((16,), 1e-6, dtype=torch.float64))
    low = GPSurrogate(min_noise=1e-7).fit(Z, Y, generator=g, state={})
    assert float(low.likelihood.noise_covar.raw_noise_constraint.lower_bound) == pytest.approx(1e-7)


def test_gp_kernel_option_builds_that_kernel_with_the_dimension_scaled_prior(branin_data):
    from gpytorch.kernels import MaternKernel, RBFKernel

    Z, Y = branin_data
    g = torch.Generator().manual_seed(0)
    rbf = GPSurrogate().fit(Z, Y, generator=g, state={})
    matern = GPSurrogate(kernel="matern52").fit(Z, Y, generator=g, state={})
    assert type(rbf.covar_module) is RBFKernel
    assert type(matern.covar_module) is MaternKernel and matern.covar_module.nu == 2.5
    assert matern.covar_module.lengthscale_prior.loc == rbf.covar_module.lengthscale_prior.loc


def test_ibnn_fixed_variances_stay_at_their_values(branin_data):
    Z, Y = branin_data
    g = torch.Generator().manual_seed(0)
    fixed = IBNNSurrogate(fit_variances=False, weight_var=5.0, bias_var=2.0).fit(Z, Y, generator=g, state={})
    assert float(fixed.covar_module.weight_var) == pytest.approx(5.0)
    assert float(fixed.covar_module.bias_var) == pytest.approx(2.0)
    fitted = IBNNSurrogate(weight_var=5.0, bias_var=2.0).fit(Z, Y, generator=g, state={})
    moved = fitted.covar_module.base_kernel
    assert (float(moved.weight_var), float(moved.bias_var)) != pytest.approx((5.0, 2.0))


def test_laplace_evidence_picks_a_finite_prior_precision(branin_data):
    Z, Y = branin_data
    state: dict = {}
    TINY["laplace"].fit(Z, Y, generator=torch.Generator().manual_seed(0), state=state)
    assert math.isfinite(state["laplace"]["prior_precision"]) and state["laplace"]["noise"] > 0
