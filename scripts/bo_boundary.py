"""How often each solver's BO proposals sat on the bounds of the space, and whether it improved on its
initial design, from a finished study's storage:

    python scripts/bo_boundary.py STUDY_FILE [--runs-dir runs] [--n-initial 10]

Prints a markdown table, per problem and solver: the share of coordinates within 1e-3 (unit cube) of a
bound among the proposals after the first n_initial, averaged over seeds, and in how many seeds the best
value improved on the best of the first n_initial evaluations."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from workbench.recorder import default_storage_url, open_storage, trials_to_history
from workbench.solvers.bo.benchmark import boundary_share
from workbench.study import load_study


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("study_file")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--n-initial", type=int, default=10)
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = load_study(args.study_file)
    storage = open_storage(default_storage_url(Path(args.runs_dir) / study.name))
    problems = [p.name for p in study.problems]
    rows: dict[str, list[str]] = {}
    for problem in study.problems:
        for solver in study.solvers:
            shares, improved, n = [], 0, 0
            for seed in study.seeds:
                key = f"{study.name}/{problem.name}/{solver.label}/{seed}"
                trials = optuna.load_study(study_name=key, storage=storage).get_trials(deepcopy=False)
                h = trials_to_history(trials, problem.space)
                if len(h) <= args.n_initial:
                    continue
                y = h.values.numpy() if problem.direction == "minimize" else -h.values.numpy()
                shares.append(boundary_share(problem.space.to_unit(h.X).numpy(), args.n_initial))
                improved += int(np.nanmin(y[args.n_initial:]) < np.nanmin(y[: args.n_initial]))
                n += 1
            cell = f"{np.mean(shares):.2f}, {improved}/{n}" if n else "—"
            rows.setdefault(solver.label, []).append(cell)
    print("| solver | " + " | ".join(problems) + " |")
    print("|---" * (len(problems) + 1) + "|")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
