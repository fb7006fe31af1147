"""Where one ``bo-gp`` iteration spends its time: a run of ``bo-gp`` on Branin (seed 0) up to ``--observations``
points, then, on that data, the warm-started fit, one whole proposal, and one value-and-gradient evaluation
of each acquisition at 10 starting points (what each L-BFGS-B iteration of the acquisition search costs),
beside the GP posterior alone; one thread.

    .venv/bin/python -m benchmarks.bo_profile [--observations 42] [--repeats 40]
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from botorch.acquisition import LogExpectedImprovement, qLogExpectedImprovement, qLogNoisyExpectedImprovement
from botorch.sampling import SobolQMCNormalSampler

from problems.synthetic import Branin
from workbench.solver import CellContext
from workbench.solvers.bo import BoGP
from workbench.solvers.bo.core import propose, standardize


def _ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    problem, solver = Branin(), BoGP()
    run = solver.start(CellContext(space=problem.space, seed=0, device=torch.device("cpu")))
    while run.y.numel() < args.observations:
        X = run.ask(1)
        run.tell(X, problem.evaluate(X))
    Z, Y = run.enc.encode(run.X), standardize(run.y)
    gen = torch.Generator().manual_seed(0)
    fit_ms = _ms(lambda: solver.surrogate.fit(Z, Y, generator=gen, state=run.state), 10)
    propose_ms = _ms(lambda: propose(run.config, solver.surrogate, run.enc, run.X, run.y, 1, seed=1,
                                     state=run.state, label="bo-gp"), 5)
    model = solver.surrogate.fit(Z, Y, generator=gen, state=run.state)
    sampler = SobolQMCNormalSampler(torch.Size([128]), seed=0)
    acquisitions = {
        "qLogNEI (default)": qLogNoisyExpectedImprovement(model, X_baseline=Z, sampler=sampler,
                                                          prune_baseline=True, cache_root=True),
        "qLogEI": qLogExpectedImprovement(model, best_f=Y.max(), sampler=sampler),
        "LogEI (analytic)": LogExpectedImprovement(model, best_f=Y.max()),
    }

    def value_and_gradient(acq) -> None:
        x = torch.rand(10, 1, Z.shape[-1], dtype=torch.float64, requires_grad=True)
        acq(x).sum().backward()

    def posterior() -> None:
        with torch.no_grad():
            _ = model.posterior(torch.rand(10, 1, Z.shape[-1], dtype=torch.float64)).mean

    print(f"Branin, {Z.shape[0]} observations, one thread")
    print("| step | ms |\n|---|---|")
    print(f"| fit (warm-started) | {fit_ms:.1f} |")
    print(f"| one whole proposal (fit + acquisition search) | {propose_ms:.1f} |")
    for name, acq in acquisitions.items():
        print(f"| {name}: value and gradient at 10 points | {_ms(lambda a=acq: value_and_gradient(a), args.repeats):.2f} |")
    print(f"| GP posterior mean at 10 points | {_ms(posterior, args.repeats):.2f} |")


if __name__ == "__main__":
    main()
