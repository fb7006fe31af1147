"""How much lower-level work a method needs on MAID's quadratic to bring ‖θ - θ*‖ / ‖θ*‖ below a target:
the solver driven step by step through the counted oracle (no storage), progress printed at each decade of
lower-level iterations, stopped at the target or at ``--budget`` lower-level iterations or ``--minutes``.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bilevel_quadratic_long.py --solver maid --budget 2e6
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch

from problems.bilevel import BilevelQuadratic
from workbench.families.bilevel import Oracle
from workbench.solver import CellContext
from workbench.solvers.bilevel import HOAG, MAID


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solver", default="maid", help="maid, maid-hoag-step or hoag-<schedule>")
    ap.add_argument("--budget", type=float, default=2e6, help="lower-level iterations")
    ap.add_argument("--target", type=float, default=1e-3)
    ap.add_argument("--minutes", type=float, default=30.0)
    args = ap.parse_args(argv)
    solver = {"maid": MAID(), "maid-hoag-step": MAID(step0=None)}.get(args.solver)
    if solver is None and args.solver.startswith("hoag-"):
        solver = HOAG(schedule=args.solver[5:])
    if solver is None:
        print(f"bilevel_quadratic_long: unknown solver {args.solver!r}", file=sys.stderr)
        return 2
    problem = BilevelQuadratic()
    oracle = Oracle(problem)
    run = solver.start(oracle, CellContext(space=problem.space, seed=0, device=torch.device("cpu")))
    star, t0, steps, mark = problem.theta_star, time.perf_counter(), 0, 10.0
    print("| lower-level iterations | steps | ‖θ - θ*‖ / ‖θ*‖ | F(θ) - F(θ*) | seconds |")
    print("|---|---|---|---|---|")
    while True:
        it = run.step()
        steps += 1
        spent = oracle.counter.lower_iterations
        err = float(torch.linalg.vector_norm(it.theta - star) / torch.linalg.vector_norm(star))
        done = err <= args.target or spent >= args.budget or time.perf_counter() - t0 > 60 * args.minutes
        if spent >= mark or done:
            x = torch.linalg.solve(problem.A2.T @ problem.A2, problem.A2.T @ (problem.b2 - problem.A3 @ it.theta))
            gap = float(problem.upper(x)) - problem.optimum
            print(f"| {spent:,} | {steps:,} | {err:.4g} | {gap:.4g} | {time.perf_counter() - t0:.0f} |", flush=True)
            while mark <= spent:
                mark *= math.sqrt(10)
        if done:
            return 0


if __name__ == "__main__":
    sys.exit(main())
