"""Is IGNITE's sharpness constraint active? For each task and seed, the ``ignite-ga`` surrogate is trained as the
solver trains it (shipped cap, or 100 epochs uncapped with ``--long``) while the multiplier and the minibatch
``rho * ||grad_w h||`` are traced; the plain surrogate of ``ga`` is trained beside it from the same generator.
Printed per task: the share of steps where ``rho * ||grad_w h||`` exceeded ``eps`` (the constraint violated), the
multiplier's largest and final value, and ``rho * ||grad_w h||`` over the whole data set at the end for the
plain and the constrained network (what the constraint is meant to lower).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.ignite_sharpness --tasks tfbind8,offline-styblinskitang50 --long
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from workbench.families.offline import generator
from workbench.problem import resolve_problem
from workbench.solver import CellContext
from workbench.solvers.offline.base import encoded
from workbench.solvers.offline.surrogate import Sharpness, SurrogateConfig, fit_surrogate, sharpness


def measure(task: str, seed: int, config: SurrogateConfig) -> dict[str, float]:
    data = resolve_problem(task).dataset()
    cell = CellContext(space=data.space, seed=seed, device=torch.device("cpu"))
    _, Z, y = encoded(data, cell)
    sharp = config.sharpness or Sharpness()
    trace: list[dict[str, float]] = []
    constrained = fit_surrogate(dataclasses.replace(config, sharpness=sharp), Z, y,
                                generator=generator(cell, salt=1), trace=trace)
    plain = fit_surrogate(dataclasses.replace(config, sharpness=None), Z, y, generator=generator(cell, salt=1))
    lams = [t["lambda"] for t in trace]
    return {
        "steps": len(trace),
        "violated": sum(t["rho_norm"] > sharp.eps for t in trace) / len(trace),
        "lambda_max": max(lams),
        "lambda_end": lams[-1],
        "plain": float(sharp.rho * sharpness(plain, Z).mean()),
        "constrained": float(sharp.rho * sharpness(constrained, Z).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="tfbind8,offline-styblinskitang50")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--long", action="store_true", help="100 epochs uncapped (ga-long / ignite-ga-long)")
    args = ap.parse_args()
    config = SurrogateConfig(epochs=100, max_steps=10**9) if args.long else SurrogateConfig()
    print("| task | steps | share of steps over eps | lambda max / end | rho ||grad h||, plain / constrained |")
    print("|---|---|---|---|---|")
    for task in args.tasks.split(","):
        rows = [measure(task, seed, config) for seed in range(args.seeds)]
        m = {k: statistics.mean(r[k] for r in rows) for k in rows[0]}
        print(f"| {task} | {m['steps']:.0f} | {m['violated']:.2f} | {m['lambda_max']:.2e} / {m['lambda_end']:.2e} | "
              f"{m['plain']:.3f} / {m['constrained']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
