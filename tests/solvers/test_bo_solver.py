"""The bo-* solvers: improvement over the initial design, acquisitions, batches, mixed spaces, fallbacks,
the Optuna sampler, and the benchmark table."""

from __future__ import annotations

import logging
import math

import numpy as np
import optuna
import pytest
import torch
import xarray as xr

from problems.synthetic import Branin
from workbench.errors import InvalidConfigError
from workbench.models.base import FitError
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo import AcquisitionConfig, BayesOpt, BoGP
from workbench.solvers.bo.optuna_sampler import BoSampler
from workbench.solvers.bo.tables import benchmark_tables
from workbench.testing import run_cells

from .test_bo_models import TINY

SEARCH = dict(num_restarts=2, raw_samples=32, mc_samples=32, maxiter=30)
FAST = dict(n_initial=5, acquisition=AcquisitionConfig(**SEARCH))
NAMES = {"gp": "bo-gp", "ibnn": "bo-ibnn", "dkl": "bo-dkl", "ensemble": "bo-ensemble", "hmc": "bo-hmc",
         "sghmc": "bo-sghmc", "laplace": "bo-laplace", "nngp-sign": "bo-nngp-sign", "sgntk": "bo-sgntk"}


def _run(solver: BayesOpt, problem, budget: int, *, batch: int = 1, seed: int = 0):
    run = solver.start(CellContext(space=problem.space, seed=seed, device=torch.device("cpu")))
    X_all, y_all = [], []
    while sum(len(x) for x in X_all) < budget:
        X = run.ask(batch)
        assert X.shape == (batch, problem.space.dim) and bool(problem.space.contains(X).all())
        y = problem.evaluate(X)
        run.tell(X, y)
        X_all.append(X), y_all.append(y)
    return torch.cat(X_all), torch.cat(y_all), run


def test_every_bo_solver_is_registered():
    from workbench.families.offline import OfflineSolver

    online = {n for n in solvers.names() if n.startswith("bo-") and not issubclass(solvers.get(n), OfflineSolver)}
    assert online == set(NAMES.values()) | {"bo-turbo", "bo-saas", "bo-saas-map", "bo-add"}


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_short_run_improves_on_its_initial_design(kind):
    solver = solvers.get(NAMES[kind])(surrogate=TINY[kind], **FAST)
    _, y, _ = _run(solver, Branin(), 15)
    assert float(y[5:].min()) < float(y[:5].min()), y.tolist()


@pytest.mark.parametrize("acquisition", ["qlogei", "qucb", "ts"])
def test_other_acquisitions_propose_batches(acquisition):
    solver = BoGP(n_initial=5, acquisition=AcquisitionConfig(acquisition=acquisition, ts_candidates=200, **SEARCH))
    X, y, _ = _run(solver, Branin(), 11, batch=3)
    assert len(X) == 12 and len({tuple(r) for r in X.tolist()}) == 12
    assert float(y[6:].min()) < float(y[:6].max())


def test_mixed_space_with_a_sequence_runs_in_batches_without_repeats(mixed_problem):
    for seed in (0, 1, 2):  # 14 BO proposals after a 6-point design; one seed alone is too noisy a judge
        X, y, _ = _run(BoGP(**FAST), mixed_problem, 20, batch=2, seed=seed)
        assert len({tuple(r) for r in X.tolist()}) == len(X)
        assert bool(mixed_problem.space.contains(X).all())
        assert float(y[6:].min()) < float(y[:6].min()), (seed, y.tolist())


def test_same_seed_same_proposals():
    a, _, _ = _run(BoGP(**FAST), Branin(), 8, seed=4)
    b, _, _ = _run(BoGP(**FAST), Branin(), 8, seed=4)
    c, _, _ = _run(BoGP(**FAST), Branin(), 8, seed=5)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("surrogate", ["light-gp", "gp"])
def test_a_failed_gp_fit_falls_back_and_the_run_goes_on(monkeypatch, caplog, surrogate):
    import workbench.models.gp as gp
    import workbench.models.light_gp as light_gp
    from workbench.models import GPSurrogate

    def broken(*args, **kwargs):
        raise FitError("NotPSDError: forced for the test")

    def broken_loss(*args, **kwargs):
        raise RuntimeError("linalg.cholesky: forced for the test")

    monkeypatch.setattr(gp, "fit_gpytorch_mll", broken)
    monkeypatch.setattr(light_gp.LightGPSurrogate, "loss", broken_loss)
    solver = BoGP(**FAST) if surrogate == "light-gp" else BoGP(surrogate=GPSurrogate(), **FAST)
    with caplog.at_level(logging.WARNING, logger="workbench"):
        rows = run_cells(Branin(), solver, seeds=(0,), budget=8)[0]
    assert len(rows) == 8
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"falling back to {surrogate} with jitter" in m for m in messages), messages
    if surrogate == "light-gp":
        assert any("light-gp with jitter 1e-4 surrogate failed" in m and "falling back to gp" in m
                   for m in messages), messages
    assert any("falling back to gp with fixed hyperparameters" in m for m in messages), messages


def test_a_failed_neural_fit_falls_back_to_the_gp(monkeypatch, caplog):
    from workbench.models.ensemble import EnsembleSurrogate

    def broken(self, *args, **kwargs):
        raise FitError("training loss is not finite (forced)")

    monkeypatch.setattr(EnsembleSurrogate, "fit", broken)
    with caplog.at_level(logging.WARNING, logger="workbench"):
        X, y, _ = _run(solvers.get("bo-ensemble")(**FAST), Branin(), 7)
    assert len(X) == 7
    assert any("ensemble surrogate failed" in r.getMessage() and "falling back to gp" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("options", [dict(acquisition="ei"), dict(n_initial=0), dict(surrogate="gp")])
def test_invalid_options_are_refused_naming_the_field(options):
    with pytest.raises(InvalidConfigError, match=next(iter(options))):
        BoGP(**options)


@pytest.mark.parametrize(
    "options",
    [dict(acquisition="ei"), dict(beta=-1.0), dict(num_restarts=10, raw_samples=5), dict(ftol=0.0),
     dict(local_starts=-1), dict(local_scale=0.0), dict(local_scale=2), dict(outputs="log")],
)
def test_invalid_acquisition_options_are_refused_naming_the_field(options):
    with pytest.raises(InvalidConfigError, match=rf"AcquisitionConfig\b.*{next(iter(options))}"):
        BoGP(acquisition=AcquisitionConfig(**options))


def test_the_optuna_sampler_runs_inside_a_plain_optuna_study(monkeypatch):
    import workbench.solvers.bo.optuna_sampler as adapter

    calls = []
    real = adapter.propose
    monkeypatch.setattr(adapter, "propose", lambda *a, **k: calls.append(1) or real(*a, **k))

    def objective(trial):
        x = trial.suggest_float("x", -5.0, 10.0)
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        n = trial.suggest_int("n", 1, 4)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        return (x - 1) ** 2 + (math.log10(lr) + 2) ** 2 + n + (act == "relu")

    study = optuna.create_study(sampler=BoSampler(BoGP(**FAST), seed=0, n_startup_trials=4))
    study.optimize(objective, n_trials=8)
    assert len(calls) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < max(t.value for t in study.trials[:4])


def test_the_optuna_sampler_is_seeded():
    def run(seed):
        study = optuna.create_study(sampler=BoSampler(BoGP(**FAST), seed=seed, n_startup_trials=3))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=5)
        return [t.params["x"] for t in study.trials]

    assert run(1) == run(1) != run(2)


def test_benchmark_table_has_median_regret_ratio_and_time():
    regret = np.array([[[[1.0, 0.5], [1.0, 0.1]], [[1.0, 0.2], [1.0, 0.2]]]])  # problem, solver, seed, step
    elapsed = np.array([[[[1.0, 2.0], [1.0, 4.0]], [[0.5, 1.0], [0.5, 1.0]]]])
    dims = ("problem", "solver", "seed", "step")
    ds = xr.Dataset({"regret": (dims, regret), "elapsed": (dims, elapsed)},
                    coords={"problem": ["p"], "solver": ["bo-gp", "optuna-gp"], "seed": [0, 1], "step": [0, 1]})
    table = benchmark_tables(ds)
    assert "| bo-gp | 0.3 (1.5×) [2] |" in table
    assert "| optuna-gp | 0.2 (1×) [2] |" in table
    assert "| bo-gp | 1.5 (2) |" in table


def test_benchmark_table_reads_regret_after_n_evaluations_and_time_around_n_observations():
    steps = np.arange(60)
    per_step = np.where(steps < 30, 0.1, 0.3)  # an iteration costs 0.1 s up to 30 observations, then 0.3 s
    elapsed = np.broadcast_to(np.cumsum(per_step), (1, 1, 2, 60)).copy()
    regret = np.broadcast_to(100.0 / (1 + steps), (1, 1, 2, 60)).copy()
    dims = ("problem", "solver", "seed", "step")
    ds = xr.Dataset({"regret": (dims, regret), "elapsed": (dims, elapsed)},
                    coords={"problem": ["p"], "solver": ["optuna-gp"], "seed": [0, 1], "step": steps})
    table = benchmark_tables(ds, at=10, observations=(25, 50))
    assert "| optuna-gp | 10 (1×) [2] |" in table  # regret after 10 evaluations: 100 / 10
    assert "p s/iter at 25 / 50 obs." in table and "| optuna-gp | 0.1 / 0.3 |" in table


def test_a_failed_acquisition_optimization_proposes_a_random_point(monkeypatch, caplog):
    import workbench.solvers.bo.core as core

    def broken(*args, **kwargs):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")

    monkeypatch.setattr(core, "optimize_acqf", broken)
    with caplog.at_level(logging.WARNING, logger="workbench"):
        X, _, _ = _run(BoGP(**FAST), Branin(), 7)
    assert len(X) == 7 and bool(Branin().space.contains(X).all())
    assert sum("acquisition optimization failed" in r.getMessage() for r in caplog.records) == 2


def test_the_acquisition_search_also_starts_at_the_incumbent():
    from botorch.acquisition import qLogNoisyExpectedImprovement

    from workbench.models import GPSurrogate
    from workbench.solvers.bo.core import AcquisitionConfig, _best_inputs, _starts, standardize

    gen = torch.Generator().manual_seed(0)
    Z = torch.rand(12, 2, generator=gen, dtype=torch.float64)
    Y = standardize(((Z - 0.3) ** 2).sum(-1))  # smallest at (0.3, 0.3), standardized to maximize
    model = GPSurrogate().fit(Z, Y, generator=gen, state={})
    acq = qLogNoisyExpectedImprovement(model, X_baseline=Z)
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    config = AcquisitionConfig(num_restarts=4, raw_samples=16, local_starts=3, local_scale=0.01)
    starts = _starts(config, acq, bounds, _best_inputs(model, Z), seed=1, generator=gen)
    assert starts.shape == (7, 1, 2)
    with torch.no_grad():
        incumbent = Z[model.posterior(Z).mean.squeeze(-1).argmax()]
    assert torch.equal(starts[4, 0], incumbent)
    assert bool(((starts[5:, 0] - incumbent).abs() < 0.06).all()) and not torch.equal(starts[5, 0], incumbent)
    assert bool(((starts >= 0) & (starts <= 1)).all())
    plain = _starts(AcquisitionConfig(num_restarts=4, raw_samples=16, local_starts=0), acq, bounds,
                    _best_inputs(model, Z), seed=1, generator=gen)
    assert plain.shape == (4, 1, 2)


def test_around_best_pools_perturbations_of_the_best_inputs_with_the_sobol_points():
    from workbench.models import LightGPSurrogate
    from workbench.solvers.bo.core import AcquisitionConfig, FastLogEI, _around, _best_inputs, _starts, standardize

    d = 40
    gen = torch.Generator().manual_seed(0)
    Z = torch.rand(60, d, generator=gen, dtype=torch.float64)
    Y = standardize(((Z - 0.3) ** 2).sum(-1))
    model = LightGPSurrogate().fit(Z, Y, generator=gen, state={})
    best = _best_inputs(model, Z)
    assert best.shape == (3, d)  # the top 5 % of 60 by posterior mean, best first
    with torch.no_grad():
        mean = model.posterior(best).mean.squeeze(-1)
    assert bool((mean[:-1] >= mean[1:]).all())
    config = AcquisitionConfig(num_restarts=5, raw_samples=32, local_starts=0, around_best=64,
                               around_best_scale=1e-3)
    pool = _around(config, best, gen)
    moved = (pool - best[torch.arange(64) % 3]) != 0
    assert bool((moved[:32].sum(-1) == d).all())  # the first half moves every coordinate
    subset = moved[32:].sum(-1)  # the rest a random subset: 20 / d of the coordinates on average
    assert bool((subset >= 1).all()) and 10 < float(subset.double().mean()) < 30
    assert bool(((pool - best[torch.arange(64) % 3]).abs() < 0.01).all())
    acq = FastLogEI(model, best_f=Y.max())
    bounds = torch.stack([torch.zeros(d), torch.ones(d)]).to(Z)
    starts = _starts(config, acq, bounds, best, seed=1, generator=gen)
    assert starts.shape == (5, 1, d) and bool(((starts >= 0) & (starts <= 1)).all())
    with pytest.raises(InvalidConfigError, match="around_best"):
        AcquisitionConfig(around_best=-1)


def test_power_outputs_spread_the_good_values_that_a_heavy_tail_squeezes():
    from workbench.solvers.bo.core import standardize, transform_outputs

    gen = torch.Generator().manual_seed(0)
    good = 300.0 + 100.0 * torch.rand(40, generator=gen, dtype=torch.float64)
    y = torch.cat([good, torch.tensor([6000.0, 6500.0, 7000.0], dtype=torch.float64)])  # values to minimize
    plain, power = standardize(y), transform_outputs(y, "power")
    assert torch.equal(transform_outputs(y), plain)  # the default is plain standardization
    assert power.shape == (43, 1)
    assert float(power.mean()) == pytest.approx(0.0, abs=1e-9) and float(power.std()) == pytest.approx(1.0)
    # the same order (larger is better for the model), but the good values are no longer crowded together
    assert torch.equal(power.squeeze(-1).argsort(), plain.squeeze(-1).argsort())
    spread = lambda t: float(t[:40].max() - t[:40].min())  # noqa: E731
    assert spread(power) > 3 * spread(plain)
    # a constant or too short a history falls back to standardizing, without NaN
    for flat in (torch.full((5,), 2.0, dtype=torch.float64), y[:2]):
        out = transform_outputs(flat, "power")
        assert bool(torch.isfinite(out).all()) and torch.equal(out, standardize(flat))


def test_power_outputs_run_through_a_short_bo_run():
    solver = BoGP(n_initial=5, acquisition=AcquisitionConfig(outputs="power", **SEARCH))
    _, y, _ = _run(solver, Branin(), 15)
    assert float(y[5:].min()) < float(y[:5].min()), y.tolist()


def test_boundary_share_counts_coordinates_on_the_bounds_after_the_initial_design():
    from workbench.solvers.bo.tables import boundary_share

    U = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 1.0], [0.2, 0.3], [0.9995, 0.0004]])
    assert boundary_share(U, 2) == pytest.approx(3 / 6)
    assert boundary_share(U, 0) == pytest.approx(7 / 10)
    assert math.isnan(boundary_share(U, 5))
