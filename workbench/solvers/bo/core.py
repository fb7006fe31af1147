"""One step of Bayesian optimization, shared by the ``bo-*`` solvers and the Optuna sampler:
fit the surrogate (falling back to simpler models when a fit fails), build the acquisition function,
optimize it over the relaxed unit cube, project back onto the space."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from botorch.acquisition import (
    LogExpectedImprovement,
    qLogExpectedImprovement,
    qLogNoisyExpectedImprovement,
    qUpperConfidenceBound,
)
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.generation.sampling import MaxPosteriorSampling
from botorch.models.gpytorch import GPyTorchModel
from botorch.models.model import Model
from botorch.optim import optimize_acqf
from botorch.optim.initializers import gen_batch_initial_conditions, initialize_q_batch
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.sampling import draw_sobol_samples, manual_seed
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.models.base import FitError, Surrogate
from workbench.models.gp import GPSurrogate, default_gp
from workbench.solvers.bo.encoding import Encoding
from workbench.validation import check_choice, check_int, check_number, check_positive

log = logging.getLogger("workbench")

ACQUISITIONS = ("qlognei", "qlogei", "logei", "qucb", "ts")
OUTPUTS = ("standardize", "power")


@dataclass(frozen=True, kw_only=True)
class AcquisitionConfig:
    """How proposals are chosen: the ``acquisition`` option of the ``bo-*`` solvers and ``bo-qei``, e.g.
    ``BoGP(acquisition=AcquisitionConfig(num_restarts=4))``."""

    #: "qlognei" (noisy expected improvement, the default), "qlogei", "logei" (analytic log expected
    #: improvement over the best observed value: one point at a time, no pending points; a batch uses qLogEI),
    #: "qucb" or "ts" (Thompson sampling)
    acquisition: str = "qlognei"
    #: exploration weight of qUCB
    beta: float = 2.0
    #: quasi-Monte Carlo samples of the acquisition functions
    mc_samples: int = 128
    #: starting points of the gradient-based acquisition optimization, and the raw samples they come from
    num_restarts: int = 8
    raw_samples: int = 256
    #: L-BFGS-B iterations per restart
    maxiter: int = 100
    #: a restart stops when the acquisition's relative change per L-BFGS-B iteration falls below this
    ftol: float = 1e-6
    #: further starting points around the incumbent (the observed input with the best posterior mean): one
    #: there, the others perturbed by ``local_scale`` (a fraction of the unit cube); 0 turns them off
    local_starts: int = 2
    local_scale: float = 1e-2
    #: further raw samples near the best observed inputs (the top 5 % by posterior mean, at least one), pooled
    #: with the ``raw_samples`` Sobol points before the starts are chosen: half move every coordinate by
    #: ``N(0, around_best_scale^2)``, half only a random subset of coordinates, each with probability
    #: ``min(1, 20 / d)`` (random axis-aligned subspace perturbations); 0 turns them off. As in MSR
    #: (Papenmeier, Poloczek & Nardi, ICML 2025), which pools 512 of them with 512 Sobol points
    around_best: int = 0
    around_best_scale: float = 1e-3
    #: candidate points of Thompson sampling
    ts_candidates: int = 1000
    #: how the observed values are scaled before the fit: "standardize" (zero mean, unit variance) or "power"
    #: (centred and scaled, a Yeo-Johnson transform with its exponent by maximum likelihood, then standardized:
    #: the output warping of HEBO, Cowen-Rivers et al., JAIR 2022, which uses Box-Cox for positive values),
    #: which draws in a heavy tail of bad values so that the good ones still differ on the model's scale
    outputs: str = "standardize"

    def __post_init__(self) -> None:
        check_choice(self, "acquisition", self.acquisition, ACQUISITIONS)
        check_choice(self, "outputs", self.outputs, OUTPUTS)
        for f, low in (("mc_samples", 1), ("num_restarts", 1), ("raw_samples", 1), ("maxiter", 1),
                       ("ts_candidates", 2), ("local_starts", 0), ("around_best", 0)):
            check_int(self, f, getattr(self, f), low)
        check_positive(self, "beta", self.beta)
        check_number(self, "ftol", self.ftol, low=0, high=1, low_open=True, high_open=True)
        check_number(self, "local_scale", self.local_scale, low=0, high=1, low_open=True)
        check_number(self, "around_best_scale", self.around_best_scale, low=0, high=1, low_open=True)
        if self.raw_samples < self.num_restarts:
            raise InvalidConfigError(f"AcquisitionConfig: raw_samples >= num_restarts must hold, but got "
                                     f"(raw_samples={self.raw_samples}, num_restarts={self.num_restarts})")


def standardize(y: Tensor) -> Tensor:
    """Values to minimize (``n``) -> standardized values to maximize (``n x 1``)."""
    std = y.std() if y.numel() > 1 else torch.ones((), dtype=y.dtype, device=y.device)
    if not bool(std > 1e-12):
        std = torch.ones_like(std)
    return (-(y - y.mean()) / std).unsqueeze(-1)


def transform_outputs(y: Tensor, outputs: str = "standardize") -> Tensor:
    """Values to minimize (``n``) -> the model's targets to maximize (``n x 1``), scaled as ``outputs`` says
    (:attr:`AcquisitionConfig.outputs`). The power transform falls back to standardizing when its fit is not
    finite (constant or too few values)."""
    if outputs == "power" and y.numel() >= 3:
        from scipy import stats

        v = y.detach().cpu().double().numpy()
        if v.std() > 1e-12:
            v = (v - v.mean()) / v.std()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, lmbda = stats.yeojohnson(v)  # the exponent by maximum likelihood
            if math.isfinite(lmbda) and bool((abs(t) < 1e300).all()):
                y = torch.as_tensor(t, dtype=y.dtype, device=y.device)
    return standardize(y)


def fit_with_fallback(surrogate: Surrogate, X: Tensor, Y: Tensor, *, generator: torch.Generator,
                      state: dict[str, Any], label: str) -> Model | None:
    """Fit ``surrogate``; when that fails, retry a GP with more jitter, then fall back to BoTorch's default GP,
    then to that GP with fixed hyperparameters. Each failure is logged with its reason; None when all fail
    (the caller then proposes quasi-random points)."""
    attempts: list[tuple[str, Any]] = [(surrogate.kind, lambda: surrogate.fit(X, Y, generator=generator, state=state))]
    if surrogate.is_gp:
        attempts.append((f"{surrogate.kind} with jitter 1e-4", lambda: _with_jitter(surrogate, X, Y, generator, state)))
    if not isinstance(surrogate, GPSurrogate):
        gp = GPSurrogate()
        attempts.append(("gp", lambda: gp.fit(X, Y, generator=generator, state={})))
    attempts.append(("gp with fixed hyperparameters", lambda: default_gp(X, Y)))
    for i, (name, attempt) in enumerate(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return attempt()
        except (FitError, RuntimeError, ValueError) as e:
            then = attempts[i + 1][0] if i + 1 < len(attempts) else "quasi-random points"
            log.warning("%s: %s surrogate failed at %d observations (%s); falling back to %s",
                        label, name, X.shape[0], _short(e), then)
    return None


def _with_jitter(surrogate: Surrogate, X: Tensor, Y: Tensor, generator: torch.Generator,
                 state: dict[str, Any]) -> Model:
    state["jitter"] = 1e-4
    try:
        return surrogate.fit(X, Y, generator=generator, state=state)
    finally:
        state.pop("jitter", None)


def _short(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".splitlines()[0]
    return text if len(text) < 200 else text[:197] + "..."


def log_expected_improvement_scaled(z: Tensor) -> Tensor:
    """``log(phi(z) + z Phi(z))``: the log of the standardized expected improvement, accurate far into the
    negative tail, where the direct formula underflows (there ``phi(z) (1 - |z| Phi(z) / phi(z))`` with
    ``Phi / phi = sqrt(pi / 2) erfcx(-z / sqrt(2))``; Ament et al., NeurIPS 2023)."""
    upper = z.clamp_min(-1.0)
    direct = torch.log(torch.exp(-0.5 * upper * upper) / math.sqrt(2 * math.pi)
                       + upper * 0.5 * torch.special.erfc(-upper / math.sqrt(2)))
    lower = z.clamp(min=-1e6, max=-1.0)
    w = torch.log(-lower) + torch.log(torch.special.erfcx(-lower / math.sqrt(2))) + 0.5 * math.log(math.pi / 2)
    log1mexp = torch.where(w > -math.log(2), torch.log(-torch.expm1(w)), torch.log1p(-torch.exp(w)))
    tail = -0.5 * lower * lower - 0.5 * math.log(2 * math.pi) + log1mexp
    return torch.where(z > -1.0, direct, tail)


class FastLogEI(AcquisitionFunction):
    """Analytic log expected improvement over ``best_f`` for models with ``mean_var`` (the light GP): the
    value of BoTorch's ``LogExpectedImprovement`` without building a posterior object per evaluation."""

    def __init__(self, model: Model, best_f: Tensor) -> None:
        super().__init__(model)
        self.best_f = best_f

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        mean, var = self.model.mean_var(X.squeeze(-2))
        sigma = var.sqrt()
        return log_expected_improvement_scaled((mean - self.best_f) / sigma) + sigma.log()


def make_acquisition(config: AcquisitionConfig, model: Model, Z: Tensor, Y: Tensor, *, seed: int,
                     X_pending: Tensor | None) -> AcquisitionFunction:
    """The acquisition function named by ``config.acquisition`` (not "ts")."""
    if config.acquisition == "logei" and X_pending is None:
        if hasattr(model, "mean_var"):
            return FastLogEI(model, best_f=Y.max())
        return LogExpectedImprovement(model, best_f=Y.max())
    sampler = SobolQMCNormalSampler(torch.Size([config.mc_samples]), seed=seed)
    if config.acquisition == "qlognei":
        return qLogNoisyExpectedImprovement(model, X_baseline=Z, sampler=sampler, X_pending=X_pending,
                                            prune_baseline=True,
                                            cache_root=isinstance(model, GPyTorchModel))
    if config.acquisition in ("qlogei", "logei"):
        return qLogExpectedImprovement(model, best_f=Y.max(), sampler=sampler, X_pending=X_pending)
    if config.acquisition == "qucb":
        return qUpperConfidenceBound(model, beta=config.beta, sampler=sampler, X_pending=X_pending)
    raise ValueError(f"unknown acquisition {config.acquisition!r}")


def propose(config: AcquisitionConfig, surrogate: Surrogate, enc: Encoding, X: Tensor, y: Tensor, q: int, *,
            seed: int, state: dict[str, Any], label: str, pending: Tensor | None = None) -> Tensor:
    """``q`` native rows to evaluate next, given native rows ``X`` (``n x space.dim``) and values to minimize
    ``y`` (``n``); ``pending`` native rows are proposed but not yet evaluated. Deterministic in ``seed``."""
    device = X.device
    generator = torch.Generator().manual_seed(seed)
    Z = enc.encode(X.to(torch.float64))
    Y = transform_outputs(y.to(torch.float64), config.outputs)
    model = fit_with_fallback(surrogate, Z, Y, generator=generator, state=state, label=label)
    taken = [Z] + ([enc.encode(pending.to(torch.float64))] if pending is not None and len(pending) else [])
    if model is None:
        return enc.decode(_random(enc, q, generator, device))
    with manual_seed(seed), warnings.catch_warnings():  # library code drawing from the global RNG
        warnings.simplefilter("ignore")
        if config.acquisition == "ts":
            chosen = _thompson(config, model, enc, Z, q, generator)
        else:
            chosen = _greedy(config, model, enc, Z, Y, q, seed=seed, taken=taken, generator=generator, label=label)
    return enc.decode(chosen)


def _greedy(config: AcquisitionConfig, model: Model, enc: Encoding, Z: Tensor, Y: Tensor, q: int, *, seed: int,
            taken: list[Tensor], generator: torch.Generator, label: str) -> Tensor:
    """Sequential greedy batch: each point maximizes the acquisition given the points chosen before it."""
    bounds = torch.stack([torch.zeros(enc.dim), torch.ones(enc.dim)]).to(Z)
    chosen: list[Tensor] = []
    pending0 = torch.cat(taken[1:]) if len(taken) > 1 else None
    # the best observed inputs by posterior mean, best first: once per proposal, not per point
    best = _best_inputs(model, Z) if config.local_starts or config.around_best else None
    for i in range(q):
        parts = ([pending0] if pending0 is not None else []) + chosen
        X_pending = torch.cat(parts) if parts else None
        try:
            acq = make_acquisition(config, model, Z, Y, seed=seed + i, X_pending=X_pending)
            # a restart stopped by maxiter or ftol is still a candidate: no retry from fresh starts, which
            # tripled the late-run cost (bo-gp on Branin: 1.37 s against 0.43 s per late iteration)
            starts = _starts(config, acq, bounds, best, seed=seed + i, generator=generator)
            cands, _ = optimize_acqf(acq, bounds=bounds, q=1, num_restarts=starts.shape[0],
                                     batch_initial_conditions=starts, return_best_only=False,
                                     retry_on_optimization_warning=False,
                                     options={"seed": seed + i, "maxiter": config.maxiter, "batch_limit": 64,
                                              "ftol": config.ftol, "factr": None})
            cands = cands.reshape(-1, enc.dim)
            if enc.is_relaxed:
                cands = enc.project(cands)
            with torch.no_grad():
                values = acq(cands.unsqueeze(-2))
        except (RuntimeError, ValueError) as e:  # e.g. non-finite acquisition values from a poor model
            log.warning("%s: acquisition optimization failed at %d observations (%s); proposing a quasi-random "
                        "point", label, Z.shape[0], _short(e))
            chosen.append(_random(enc, 1, generator, Z.device))
            continue
        seen = torch.cat(taken + chosen)
        pick = None
        for j in torch.argsort(torch.nan_to_num(values, nan=-torch.inf), descending=True).tolist():
            if not bool((seen == cands[j]).all(-1).any()):
                pick = cands[j : j + 1]
                break
        if pick is None:  # every restart landed on an evaluated point (small discrete spaces)
            pick = _random(enc, 1, generator, Z.device)
        chosen.append(pick)
    return torch.cat(chosen)


def _best_inputs(model: Model, Z: Tensor) -> Tensor | None:
    """The top 5 % of the observed inputs (rows of ``Z``, at least one) by posterior mean, best first; None when
    the model cannot say."""
    try:
        with torch.no_grad():
            post = model.posterior(Z)
            mean = getattr(post, "mixture_mean", post.mean)  # a mixture over GPs (SAAS): its mean
            order = mean.reshape(Z.shape[0], -1)[:, 0].argsort(descending=True, stable=True)
            return Z[order[: max(1, round(0.05 * Z.shape[0]))]]
    except (RuntimeError, ValueError):  # the acquisition search that follows logs the model's failure
        return None


def _around(config: AcquisitionConfig, best: Tensor, generator: torch.Generator) -> Tensor:
    """``config.around_best`` points near the rows of ``best`` (each row in turn), inside the unit cube: the
    first half move every coordinate, the rest a random subset of coordinates (each with probability
    ``min(1, 20 / d)``, at least one), by ``N(0, around_best_scale^2)``."""
    n, d = config.around_best, best.shape[-1]
    base = best[torch.arange(n) % best.shape[0]]
    step = config.around_best_scale * torch.randn(n, d, generator=generator, dtype=torch.float64).to(best)
    mask = torch.rand(n, d, generator=generator, dtype=torch.float64) < min(1.0, 20.0 / d)
    forced = torch.randint(d, (n,), generator=generator)
    mask[torch.arange(n), forced] = True  # every row moves at least one coordinate
    mask[: n // 2] = True
    return (base + step * mask.to(best)).clamp(0.0, 1.0)


def _starts(config: AcquisitionConfig, acq: AcquisitionFunction, bounds: Tensor, best: Tensor | None, *,
            seed: int, generator: torch.Generator) -> Tensor:
    """Starting points of the acquisition search (``r x 1 x d``): ``num_restarts`` chosen by BoTorch's Boltzmann
    selection on the acquisition from ``raw_samples`` Sobol points (pooled with ``around_best`` points near the
    best observed inputs), plus ``local_starts`` around the incumbent (the observed input with the best
    posterior mean): one there, the others perturbed by ``local_scale`` of the cube, so the search also refines
    the best region found so far."""
    if config.around_best and best is not None:
        sobol = draw_sobol_samples(bounds, n=config.raw_samples, q=1, seed=seed)
        raw = torch.cat([sobol, _around(config, best, generator).unsqueeze(-2)])
        with torch.no_grad():
            values = torch.cat([acq(chunk) for chunk in raw.split(256)])
        starts, _ = initialize_q_batch(raw, values, config.num_restarts)
    else:
        starts = gen_batch_initial_conditions(acq, bounds, q=1, num_restarts=config.num_restarts,
                                              raw_samples=config.raw_samples, options={"seed": seed})
    if config.local_starts == 0 or best is None:
        return starts
    incumbent = best[0]
    noise = torch.randn(config.local_starts, incumbent.shape[-1], generator=generator,
                        dtype=torch.float64).to(incumbent)
    noise[0] = 0.0
    local = (incumbent + config.local_scale * noise).clamp(0.0, 1.0).unsqueeze(-2)
    return torch.cat([starts, local])


def _thompson(config: AcquisitionConfig, model: Model, enc: Encoding, Z: Tensor, q: int,
              generator: torch.Generator) -> Tensor:
    """Thompson sampling over candidates: half quasi-random, half perturbations of the best observed inputs."""
    n = config.ts_candidates
    sobol = torch.quasirandom.SobolEngine(enc.dim, scramble=True, seed=int(torch.randint(2**31 - 1, (1,),
                                                                                           generator=generator)))
    cands = sobol.draw(n // 2, dtype=torch.float64).to(Z)
    with torch.no_grad():
        post = model.posterior(Z)
        best = getattr(post, "mixture_mean", post.mean).reshape(Z.shape[0]).argsort(descending=True)[:5]
    base = Z[best][torch.randint(len(best), (n - n // 2,), generator=generator).to(Z.device)]
    noise = 0.05 * torch.randn(base.shape, generator=generator, dtype=torch.float64).to(Z)
    cands = torch.cat([cands, (base + noise).clamp(0, 1)])
    if enc.is_relaxed:
        cands = enc.project(cands)
    with torch.no_grad():
        chosen = MaxPosteriorSampling(model, replacement=False)(cands, num_samples=q)
    if chosen.ndim == 3:  # a mixture of GPs (SAAS) answers per component: a draw of the mixture is one of them
        chosen = chosen[int(torch.randint(chosen.shape[0], (1,), generator=generator))]
    return chosen


def _random(enc: Encoding, q: int, generator: torch.Generator, device: torch.device) -> Tensor:
    U = torch.rand(q, enc.space.dim, generator=generator, dtype=torch.float64).to(device)
    return enc.encode(enc.space.from_unit(U))
