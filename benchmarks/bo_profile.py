"""Where one ``bo-gp`` iteration spends its time: a run of ``bo-gp`` on Branin (seed 0) up to ``--observations``
points, then, on that data, for the light GP (``bo-gp``'s model) and for BoTorch's ``SingleTaskGP`` (its
earlier model): the fit warm-started from the previous point's fit, one whole proposal, and one value-and-gradient evaluation of each
acquisition at 10 starting points (what each L-BFGS-B iteration of the acquisition search costs), beside the
posterior mean alone; one thread.

    .venv/bin/python -m benchmarks.bo_profile [--observations 42] [--repeats 40]
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from botorch.acquisition import LogExpectedImprovement, qLogNoisyExpectedImprovement
from botorch.sampling import SobolQMCNormalSampler

from problems.synthetic import Branin
from workbench.models import GPSurrogate
from workbench.solver import CellContext
from workbench.solvers.bo import AcquisitionConfig, BoGP
from workbench.solvers.bo.core import FastLogEI, propose, standardize


def _ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats * 1e3


def _profile(config: BoGP, run, Z: torch.Tensor, Y: torch.Tensor, repeats: int) -> dict[str, float]:
    """Milliseconds of each step for one BO configuration on the run's data."""
    surrogate, before, out = config.surrogate, {}, {}
    gen = torch.Generator().manual_seed(0)
    surrogate.fit(Z[:-1], standardize(run.y[:-1]), generator=gen, state=before)  # the fit one point earlier
    out["fit, warm-started from the fit one point earlier"] = _ms(
        lambda: surrogate.fit(Z, Y, generator=gen, state=dict(before)), 10)
    state = dict(before)
    out["one whole proposal, its default acquisition"] = _ms(
        lambda: propose(config.acquisition, surrogate, run.enc, run.X, run.y, 1, seed=1, state=state,
                        label="bo-gp"), 5)
    model = surrogate.fit(Z, Y, generator=gen, state=state)
    sampler = SobolQMCNormalSampler(torch.Size([128]), seed=0)
    acquisitions = {
        "qLogNEI: value and gradient at 10 points": qLogNoisyExpectedImprovement(
            model, X_baseline=Z, sampler=sampler, prune_baseline=True, cache_root=not hasattr(model, "mean_var")),
        "LogEI (BoTorch's class): value and gradient at 10 points": LogExpectedImprovement(model, best_f=Y.max()),
    }
    if hasattr(model, "mean_var"):
        acquisitions["LogEI (from mean_var): value and gradient at 10 points"] = FastLogEI(model, Y.max())

    def value_and_gradient(acq) -> None:
        x = torch.rand(10, 1, Z.shape[-1], dtype=torch.float64, requires_grad=True)
        acq(x).sum().backward()

    def mean() -> None:
        with torch.no_grad():
            _ = model.posterior(torch.rand(10, 1, Z.shape[-1], dtype=torch.float64)).mean

    for name, acq in acquisitions.items():
        out[name] = _ms(lambda a=acq: value_and_gradient(a), repeats)
    out["posterior mean at 10 points"] = _ms(mean, repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    problem = Branin()
    run = BoGP().start(CellContext(space=problem.space, seed=0, device=torch.device("cpu")))
    while run.y.numel() < args.observations:
        X = run.ask(1)
        run.tell(X, problem.evaluate(X))
    Z, Y = run.enc.encode(run.X), standardize(run.y)
    print(f"Branin, {Z.shape[0]} observations, one thread")
    print("| step | light GP (bo-gp), ms | BoTorch SingleTaskGP, ms |\n|---|---|---|")
    rows: dict[str, list[float]] = {}
    for config in (BoGP(), BoGP(surrogate=GPSurrogate(), acquisition=AcquisitionConfig(acquisition="qlognei"))):
        for name, ms in _profile(config, run, Z, Y, args.repeats).items():
            rows.setdefault(name, []).append(ms)
    for name, values in rows.items():
        cells = [f"{v:.2f}" for v in values] + ["—"] * (2 - len(values))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
