"""The infinite-width kernels of erf_m and sign networks: closed forms against Monte Carlo and against wide
random networks, the m -> inf limits, and the GPyTorch / BoTorch plumbing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from problems.training import SignCircleRegression
from problems.training.circle import circle
from workbench.errors import InvalidConfigError
from workbench.models.kernels.infinite_width import ErfNTKKernel, NNGPKernel, SGNTKKernel
from workbench.models.kernels.sgntk import Architecture, derf_derf, erf_erf, nngp, ntk, sgntk

ROOT = Path(__file__).resolve().parents[2]
ANGLES = torch.tensor([0.0, 0.3, 1.0, 2.5, -2.0], dtype=torch.float64)


def jacobian(X, *, slope, width, seed, readout_scale=1.0):
    """Autograd's Jacobian of an ``erf_2`` network of ``sign-circle-regression`` at ``X`` (a row per input),
    the activation's derivative replaced by ``erf_slope'`` (``slope = 2``: the true derivative); and the
    network."""
    p = SignCircleRegression(width=width, activation="erf", m=2.0, surrogate="erf", slope=slope,
                             readout_scale=readout_scale)
    model = p.model(torch.Generator().manual_seed(seed))
    rows = []
    for x in X:
        model.zero_grad()
        model(x[None]).sum().backward()
        rows.append(torch.cat([q.grad.reshape(-1) for q in model.parameters()]))
    return torch.stack(rows), model


@pytest.mark.parametrize("m,k", [(2.0, 1.0), (0.7, 3.0), (math.inf, 1.0)])
def test_the_closed_form_expectations_match_monte_carlo(m, k):
    g = torch.Generator().manual_seed(0)
    s11, s22, s12 = 0.8, 1.3, 0.6
    L = torch.linalg.cholesky(torch.tensor([[s11, s12], [s12, s22]], dtype=torch.float64))
    u, v = (torch.randn(2_000_000, 2, generator=g, dtype=torch.float64) @ L.T).unbind(-1)
    phi = (lambda x: torch.sign(x)) if math.isinf(m) else (lambda x: torch.erf(m * x))
    mc = (phi(u) * phi(v)).mean()
    t = torch.tensor
    assert float(erf_erf(t(s11), t(s22), t(s12), m)) == pytest.approx(float(mc), rel=1e-2)
    if not math.isinf(m):
        d = (2 * m / math.sqrt(math.pi) * torch.exp(-(m * u) ** 2)) * (2 * k / math.sqrt(math.pi) * torch.exp(-(k * v) ** 2))
        assert float(derf_derf(t(s11), t(s22), t(s12), m, k)) == pytest.approx(float(d.mean()), rel=1e-2)


def test_the_sign_nngp_matches_wide_random_networks():
    """The empirical output covariance of sign networks of width 2,000 (the mean over 25 draws: the NNGP is
    an expectation over networks) within 2 % of the kernel's scale."""
    g = torch.Generator().manual_seed(1)
    X = torch.cat([circle(ANGLES), torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64)])
    analytic = nngp(X, X, Architecture(depth=2, sigma_w=1.0, sigma_b=0.1))
    n, draws, empirical = 2000, 25, torch.zeros(len(X), len(X), dtype=torch.float64)
    for _ in range(draws):
        W1, b1 = torch.randn(n, 2, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
        W2, b2 = torch.randn(n, n, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
        a1 = torch.sign(X @ W1.T / math.sqrt(2) + 0.1 * b1)
        a2 = torch.sign(a1 @ W2.T / math.sqrt(n) + 0.1 * b2)
        empirical += (a2 @ a2.T / n + 0.01) / draws  # the readout's covariance given the last hidden layer
    assert float((empirical - analytic).abs().max()) < 0.02 * float(analytic.diagonal().max())


def test_the_empirical_sgntk_of_a_wide_erf_network_is_the_analytic_one():
    """``I(x, y) = J f(x) · J̃ f(y)``: the true Jacobian (surrogate ``erf_m'`` = the true derivative) against
    the surrogate one (``erf_k'``), from one network of width 2000 at initialization."""
    m, k = 2.0, 1.0
    X = circle(ANGLES)
    true, _ = jacobian(X, slope=m, width=2000, seed=3)
    surrogate, _ = jacobian(X, slope=k, width=2000, seed=3)
    empirical = true @ surrogate.T
    analytic = sgntk(X, X, Architecture(depth=2, m=m, k=k))
    assert torch.allclose(empirical, analytic, rtol=0.05, atol=0.05)


def test_the_erf_kernels_tend_to_the_sign_limit_and_the_ntk_diagonal_diverges():
    X = circle(ANGLES)
    sign = Architecture(m=math.inf)
    gaps = {f: [] for f in ("nngp", "sgntk")}
    for m in (2.0, 5.0, 20.0, 100.0, 1000.0):
        a = Architecture(m=m)
        gaps["nngp"].append(float((nngp(X, X, a) - nngp(X, X, sign)).abs().max()))
        gaps["sgntk"].append(float((sgntk(X, X, a) - sgntk(X, X, sign)).abs().max()))
    for g in gaps.values():
        assert all(b < a for a, b in zip(g, g[1:])) and g[-1] < 0.02
    diag = [float(ntk(X[:1], X[:1], Architecture(m=m))) for m in (10.0, 100.0, 1000.0)]
    assert diag[1] / diag[0] == pytest.approx(100, rel=0.25) and diag[2] / diag[1] == pytest.approx(100, rel=0.1)
    off = [float(ntk(X[:1], X[1:2], Architecture(m=m))) for m in (100.0, 1000.0, 10000.0)]
    assert abs(off[2] - off[1]) < abs(off[1] - off[0]) < 0.1  # off the diagonal the NTK converges
    assert math.isinf(float(ntk(X[:1], X[:1], sign))) and math.isfinite(float(sgntk(X[:1], X[:1], sign)))


def test_the_kernels_fit_in_an_exact_gp_and_serve_a_botorch_acquisition():
    from botorch.acquisition import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.kernels import ScaleKernel
    from gpytorch.mlls import ExactMarginalLogLikelihood

    g = torch.Generator().manual_seed(0)
    X = torch.rand(12, 3, generator=g, dtype=torch.float64)
    Y = torch.sin(3 * X).sum(-1, keepdim=True)
    for kernel in (NNGPKernel(depth=3), ErfNTKKernel(m=2.0)):  # symmetric PSD (the SG-NTK is not)
        gp = SingleTaskGP(X, Y, covar_module=ScaleKernel(kernel))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
        acq = qLogNoisyExpectedImprovement(gp, X_baseline=X)
        values = acq(torch.rand(4, 2, 3, generator=g, dtype=torch.float64))
        assert values.shape == (4,) and bool(torch.isfinite(values).all())
    K = NNGPKernel(depth=2, weight_var=1.0, bias_var=0.01)
    Z = circle(ANGLES)
    with torch.no_grad():
        assert torch.allclose(K(Z, Z).to_dense(), nngp(Z, Z, Architecture()))


def test_kernel_declarations_fail_naming_the_field():
    with pytest.raises(InvalidConfigError, match=r"Architecture.depth must be an int >= 1.*depth=0"):
        Architecture(depth=0)
    with pytest.raises(InvalidConfigError, match=r"Architecture.m must be a number > 0"):
        Architecture(m=0)
    with pytest.raises(InvalidConfigError, match=r"NNGPKernel.depth must be an int >= 1"):
        NNGPKernel(depth=0)
    with pytest.raises(InvalidConfigError, match=r"ErfNTKKernel.m must be finite"):
        ErfNTKKernel(m=math.inf)
    with pytest.raises(InvalidConfigError, match=r"SGNTKKernel.k must be"):
        SGNTKKernel(k=0.0)


def test_the_ensembles_tangent_kernels_are_autograds_jacobian_products():
    from workbench.models.kernels.empirical import Ensemble, activation, erf_derivative

    X = circle(ANGLES)
    true, _ = jacobian(X, slope=2.0, width=12, seed=5, readout_scale=0.5)
    surrogate, model = jacobian(X, slope=1.0, width=12, seed=5, readout_scale=0.5)
    layers = [model[i] for i in (0, 2, 4)]
    ens = Ensemble([q.weight.detach()[None] for q in layers], [q.bias.detach()[None] for q in layers], 1.0, 0.1,
                   readout_scale=0.5)
    K = ens.tangent_kernel(X, X, activation(2.0), erf_derivative(2.0), erf_derivative(1.0))[0]
    assert torch.allclose(K, true @ surrogate.T, atol=1e-12)
    assert torch.allclose(ens.forward(X, activation(2.0))[0][0], model(X).reshape(-1).detach(), atol=1e-14)


def test_the_trained_gp_after_s_steps_is_the_linearized_gradient_descent():
    """``f_s = f_0 − (η/N) Σ_t I(·, X)(f_t(X) − Y)``, iterated, has the mean and covariance trained_gp gives."""
    from workbench.models.kernels.empirical import trained_gp

    X, T = circle(ANGLES[:3]), circle(torch.tensor([0.1, -1.0], dtype=torch.float64))
    Y = torch.tensor([0.5, -0.2, 1.0], dtype=torch.float64)
    arch, lr, steps = Architecture(), 0.1, 40
    I_XX, I_TX = sgntk(X, X, arch), sgntk(T, X, arch)
    # f_s is affine in (f_0(X), f_0(T)): iterate the map on the mean and on each unit initial value
    def run(f0_X, f0_T, y):
        fX, fT = f0_X.clone(), f0_T.clone()
        for _ in range(steps):
            r = fX - y
            fX, fT = fX - lr / 3 * I_XX @ r, fT - lr / 3 * I_TX @ r
        return fT
    zeros3, zeros2 = torch.zeros(3, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    mean = run(zeros3, zeros2, Y)
    B = torch.stack([run(e, zeros2, torch.zeros(3, dtype=torch.float64)) for e in torch.eye(3, dtype=torch.float64)], 1)
    C = torch.stack([run(zeros3, e, torch.zeros(3, dtype=torch.float64)) for e in torch.eye(2, dtype=torch.float64)], 1)
    S = nngp(torch.cat([X, T]), torch.cat([X, T]), arch)
    M = torch.cat([B, C], 1)  # f_s(T) = M [f_0(X); f_0(T)] + mean
    gp_mean, gp_cov = trained_gp(X, Y, T, arch, lr=lr, steps=steps)
    assert torch.allclose(gp_mean, mean, atol=1e-12) and torch.allclose(gp_cov, M @ S @ M.T, atol=1e-12)
    with pytest.raises(InvalidConfigError, match=r"trained_gp.steps must be an int >= 0"):
        trained_gp(X, Y, T, arch, lr=lr, steps=-1)


def test_the_reproduction_script_runs_at_a_tiny_size(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "r"
    subprocess.run([sys.executable, f"{ROOT}/scripts/sgntk_reproduction.py", "--out", str(out), "--init-widths", "8,16",
                    "--init-m", "2", "--init-networks", "3", "--widths", "8", "--networks", "4", "--steps", "5",
                    "--divergence-m", "1,10", "--divergence-width", "16"], check=True, capture_output=True)
    results = json.loads((tmp_path / "r.json").read_text())
    assert [r["width"] for r in results["init"]] == [8, 16] and len(results["trained"]) == 2
    assert results["divergence"][1]["ntk_analytic"] > 10 * results["divergence"][0]["ntk_analytic"]
    assert all((tmp_path / f"r-{part}.png").stat().st_size > 1000 for part in ("init", "trained", "divergence"))
