"""The GPU check: every registered solver's device path for a few steps, then seconds per step of the BO
solvers (``bo-gp``, ``bo-turbo``, the neural surrogates) and of ``root`` on each device, side by side.
Run it first whenever a GPU is at hand (about 8 minutes on one GPU with its CPU beside it, plus ``root`` at
the paper's scale on CUDA: 100 epochs, minutes more); it writes a markdown report to ``--out``.

    scripts/gpu_check.sh                        # CPU and CUDA, report in gpu_check.md
    .venv/bin/python -m benchmarks.gpu_check --devices cpu --quick --out /tmp/check.md   # a CPU dry run

Part 1 runs each solver on one small problem of its family (blackbox: Branin, offline: TFBind8, training:
breast-cancer logistic regression, bilevel: the quadratic and the dropout network, noise: the digits decoder) with a few steps
through the real runner (``Runner(device=...)``), and reports whether its cell finished without a failed
step. Part 2 times whole cells (wall seconds per evaluation, storage included) on Styblinski-Tang-50 for the
BO solvers and on TFBind8 for ``root``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import torch

from workbench import Study
from workbench.errors import MissingExtraError
from workbench.problem import resolve_problem
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers import resolve_solver, solvers
from workbench.solvers.offline import ROOT

#: (family, problem, budget of part 1)
CASES = [("blackbox", "branin", 12), ("offline", "tfbind8", 8), ("training", "logreg-breast-cancer", 2),
         ("bilevel", "bilevel-quadratic", 3), ("bilevel", "dropout-mlp-digits", 2), ("noise", "digits-noise", 6)]
TIMED_BO = ["bo-gp", "bo-turbo", "bo-ensemble", "bo-hmc", "bo-sghmc", "bo-laplace", "bo-dkl", "bo-ibnn"]


def run_cell(problem, solver, budget: int, device: str) -> tuple[str, float]:
    """Run one cell; ("ok" | a reason, wall seconds)."""
    study = Study(name="gpu-check", problems=[problem], solvers=[solver], seeds=(0,), budget=budget)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        try:
            path = Runner(study, run_dir=tmp, device=device).run()
        except Exception as e:  # the report names it; the check goes on with the next solver
            return f"raised {type(e).__name__}: {str(e).splitlines()[0][:120]}", time.perf_counter() - start
        seconds = time.perf_counter() - start
        ds = load_results(path)
        failed = int(ds["failed"].sum()) if "failed" in ds else 0
        finished = bool(ds["finished"].all()) if "finished" in ds else True
    if failed or not finished:
        return f"{failed} failed steps" + ("" if finished else ", unfinished"), seconds
    return "ok", seconds


def part1(devices: list[str], quick: bool) -> list[str]:
    lines = ["## Every solver's path, a few steps", "", "| family | problem | solver | " +
             " | ".join(devices) + " |", "|---|---|---|" + "---|" * len(devices)]
    for family, name, budget in CASES:
        problem = resolve_problem(name)
        for solver_name in sorted(n for n in solvers.names() if solvers.get(n).family == family):
            try:  # root at its CPU scale here: this part checks the path, part 2 times the paper's scale
                solver = ROOT(scale="cpu", name="root") if solver_name == "root" else resolve_solver(solver_name)
            except MissingExtraError as e:  # e.g. bo-saas without the saas extra: the report says so
                lines.append(f"| {family} | {name} | {solver_name} | " + " | ".join(
                    f"n/a ({str(e).split(':')[0]}: extra not installed)" for _ in devices) + " |")
                print(lines[-1], flush=True)
                continue
            missing = solver.missing(problem)
            if missing and family == "bilevel" and name == "bilevel-quadratic":
                continue  # the network solvers run on the dropout network (the next case)
            cells = []
            for device in devices:
                if missing:
                    cells.append("n/a (" + ", ".join(missing) + ")")
                    continue
                status, seconds = run_cell(problem, solver, budget if not quick else min(budget, 11), device)
                cells.append(f"{status} ({seconds:.1f} s)")
            lines.append(f"| {family} | {name} | {solver_name} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    return lines


def part2(devices: list[str], quick: bool) -> list[str]:
    from problems.synthetic import StyblinskiTang

    budget = 14 if quick else 30
    lines = ["", f"## Seconds per evaluation, whole cells ({budget} evaluations; storage writes included)", "",
             "| solver | problem | " + " | ".join(devices) + " |", "|---|---|" + "---|" * len(devices)]
    cases = [(n, StyblinskiTang(dim=50), budget) for n in TIMED_BO]
    # the same work on every device: root's default scale would run the paper's budget on CUDA only
    cases.append((ROOT(scale="cpu", name="root"), resolve_problem("tfbind8"), 128))
    for solver_name, problem, b in cases:
        cells = []
        for device in devices:
            status, seconds = run_cell(problem, resolve_solver(solver_name), b, device)
            cells.append(f"{seconds / b:.3f}" if status == "ok" else status)
        label = solver_name if isinstance(solver_name, str) else f"{solver_name.label} (scale cpu)"
        lines.append(f"| {label} | {problem.name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    if "cuda" in devices:  # root as users get it there: the paper's budget
        status, seconds = run_cell(resolve_problem("tfbind8"), resolve_solver("root"), 128, "cuda")
        cell = f"{seconds / 128:.3f}" if status == "ok" else status
        lines.append("| root (scale auto: the paper's on CUDA) | tfbind8 | " +
                     " | ".join(cell if d.startswith("cuda") else "—" for d in devices) + " |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=None, help="comma-separated (default: cpu, and cuda when present)")
    parser.add_argument("--out", default="gpu_check.md")
    parser.add_argument("--quick", action="store_true", help="fewer steps (a dry run of the script itself)")
    args = parser.parse_args()
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    header = [f"# GPU check ({time.strftime('%Y-%m-%d %H:%M')})", "",
              f"torch {torch.__version__}; devices: " + ", ".join(
                  d + (f" ({torch.cuda.get_device_name(0)})" if d.startswith("cuda") else "") for d in devices), ""]
    lines = header
    try:
        lines += part1(devices, args.quick)
        lines += part2(devices, args.quick)
    except Exception:
        lines += ["", "```", traceback.format_exc(), "```"]
        raise
    finally:
        Path(args.out).write_text("\n".join(lines) + "\n")
        print(f"report: {args.out}")


if __name__ == "__main__":
    main()
