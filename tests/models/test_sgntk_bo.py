"""The sign-network BO surrogates: the SG-NTK model's posterior is the trained infinite-width network's
distribution, interpolates, serves BoTorch acquisitions, and bo-sgntk / bo-nngp-sign run a study."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from problems.synthetic import Branin
from workbench import Study
from workbench.errors import InvalidConfigError
from workbench.models import NNGPSignSurrogate, SGNTKSurrogate
from workbench.models.kernels.empirical import trained_gp
from workbench.models.kernels.sgntk import Architecture
from workbench.models.sgntk import SGNTKModel
from workbench.results import load_results
from workbench.runner import Runner


def data(n=12, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    Y = torch.sin(4 * X).sum(-1, keepdim=True)
    return X, (Y - Y.mean()) / Y.std(), g


def test_the_sgntk_model_is_the_trained_networks_distribution():
    X, Y, g = data()
    T = torch.rand(7, 2, generator=g, dtype=torch.float64)
    model = SGNTKModel(X, Y, depth=2, k=1.0, weight_var=1.3, bias_var=0.2, outputscale=2.0, ridge=1e-3, constant=0.1)
    arch = Architecture(depth=2, sigma_w=math.sqrt(1.3), sigma_b=math.sqrt(0.2), m=math.inf, k=1.0,
                        readout_scale=math.sqrt(2.0))
    # trained_gp has no ridge: compare at a ridge small against I(X, X) and at many steps of gradient descent
    small = SGNTKModel(X, Y, depth=2, k=1.0, weight_var=1.3, bias_var=0.2, outputscale=2.0, ridge=1e-10, constant=0.1)
    mean, cov = trained_gp(2 * X - 1, Y.reshape(-1) - 0.1, 2 * T - 1, arch)
    post = small.posterior(T)
    assert torch.allclose(post.mean.reshape(-1), mean + 0.1, atol=1e-5)
    assert torch.allclose(post.mvn.covariance_matrix, cov + 1e-6 * torch.eye(7, dtype=torch.float64), atol=1e-4)
    at_data = model.posterior(X)
    assert torch.allclose(at_data.mean.reshape(-1), Y.reshape(-1), atol=0.02)  # it interpolates (ridge 1e-3)
    assert float(at_data.variance.max()) < 0.01 < float(model.posterior(T).variance.min())


def test_the_surrogates_fit_and_serve_a_botorch_acquisition():
    from botorch.acquisition import qLogNoisyExpectedImprovement

    X, Y, g = data(n=15)
    for surrogate in (SGNTKSurrogate(), NNGPSignSurrogate(depth=3)):
        model = surrogate.fit(X, Y, generator=g, state={})
        acq = qLogNoisyExpectedImprovement(model, X_baseline=X, cache_root=surrogate.is_gp)
        values = acq(torch.rand(5, 2, 2, generator=g, dtype=torch.float64))
        assert values.shape == (5,) and bool(torch.isfinite(values).all())
    with pytest.raises(InvalidConfigError, match=r"SGNTKSurrogate.depth must be an int >= 1, but got depth=0"):
        SGNTKSurrogate(depth=0)
    with pytest.raises(InvalidConfigError, match=r"SGNTKSurrogate.k must be a finite number > 0"):
        SGNTKSurrogate(k=0.0)


def test_bo_sgntk_and_bo_nngp_sign_run_a_study_without_falling_back(tmp_path, caplog):
    study = Study("sign-bo", problems=[Branin()], solvers=["bo-sgntk", "bo-nngp-sign"], seeds=[0], budget=12)
    with caplog.at_level(logging.WARNING, logger="workbench"):
        Runner(study, run_dir=tmp_path / "r", device="cpu").run()
    assert not [r for r in caplog.records if "fail" in r.getMessage()], caplog.text
    ds = load_results(tmp_path / "r")
    assert bool(ds["finished"].all()) and ds.sizes["step"] == 12
