"""SAASBO's two fits side by side on one BO run: ``bo-saas`` (NUTS, the paper's 512 + 256 steps) and
``bo-saas-map`` (MAP over four global shrinkages), on Styblinski-Tang-50 from the same 10 Sobol points:
seconds per proposal (the fit and the acquisition search) at each number of observations, and the best value.

    .venv/bin/pip install -e '.[saas]'      # NUTS runs in NumPyro on JAX
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/saas_nuts.py --evaluations 30

The full benchmark (studies/bo_benchmark_high_dim.py, 100 evaluations, 5 seeds) runs ``bo-saas-map``; NUTS at
100 evaluations takes hours per run on a CPU, which this script measures on a shorter run instead.
"""

from __future__ import annotations

import argparse
import time

import torch

from problems.synthetic import StyblinskiTang
from workbench.solver import CellContext
from workbench.solvers import solvers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", default="bo-saas,bo-saas-map")
    args = parser.parse_args()
    problem = StyblinskiTang(dim=50)
    print(f"| solver | observations | s per proposal | best value (optimum {problem.optimum:.1f}) |")
    print("|---|---|---|---|")
    for name in args.solvers.split(","):
        run = solvers.get(name)().start(CellContext(space=problem.space, seed=args.seed, device=torch.device("cpu")))
        best = float("inf")
        for i in range(args.evaluations):
            t0 = time.perf_counter()
            X = run.ask(1)
            seconds = time.perf_counter() - t0
            y = problem.evaluate(X)
            run.tell(X, y)
            best = min(best, float(y))
            if i >= 10 and (i % 5 == 0 or i == args.evaluations - 1):
                print(f"| {name} | {i} | {seconds:.1f} | {best:.1f} |", flush=True)


if __name__ == "__main__":
    main()
