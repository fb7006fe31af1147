"""Where the light GP's lengthscales go in high dimensions, per prior: fitted on ``n`` uniform points of a
problem (standardized, as in a BO step), from the default start, printed as the median / smallest / largest
fitted lengthscale (the inputs span [0, 1]). A fit whose lengthscales stay at their start has not moved;
lengthscales of 1e3 and more switch their inputs off.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.gp_lengthscales --problem levy --dim 100 --n 10,30,60
"""

from __future__ import annotations

import argparse

import torch

from workbench.models import LightGPSurrogate
from workbench.models.light_gp import PRIORS
from workbench.problem import catalog, resolve_problem
from workbench.solvers.bo.core import standardize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="levy", help="a registered synthetic function")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--n", default="10,30,60", help="numbers of points, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    problem = resolve_problem(catalog.get(args.problem)(dim=args.dim))
    d = problem.space.dim
    g = torch.Generator().manual_seed(args.seed)
    print(f"{problem.name}, d = {d}, seed {args.seed}")
    print("| n | prior | lengthscale median | smallest | largest |")
    print("|---|---|---|---|---|")
    for n in (int(v) for v in args.n.split(",")):
        U = torch.rand(n, d, generator=g, dtype=torch.float64)
        Y = standardize(problem.evaluate(problem.space.from_unit(U)))
        for prior in PRIORS:
            model = LightGPSurrogate(prior=prior).fit(U, Y, generator=torch.Generator().manual_seed(0), state={})
            lengthscales = model.rho.rsqrt()
            print(f"| {n} | {prior} | {float(lengthscales.median()):.3g} | {float(lengthscales.min()):.3g} | "
                  f"{float(lengthscales.max()):.3g} |")


if __name__ == "__main__":
    main()
