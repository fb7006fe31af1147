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

from workbench.recorder import Store, default_storage_url, trials_to_history
from workbench.solvers.bo.tables import boundary_share
from workbench.study import load_study


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("study_file")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--n-initial", type=int, default=10)
    args = parser.parse_args()
    study = load_study(args.study_file)
    store = Store(default_storage_url(Path(args.runs_dir) / study.name))
    problems = [p.name for p in study.problems]
    per_pair: dict[tuple[str, str], tuple[list[float], int, int]] = {}
    for cell in study.cells():
        shares, improved, n = per_pair.setdefault((cell.problem.name, cell.solver.label), ([], 0, 0))
        sid = store.study_id(cell.key(study.name))
        h = trials_to_history(store.trials(sid) if sid is not None else [], cell.problem.space)
        if len(h) > args.n_initial:
            y = h.values.numpy() if cell.problem.direction == "minimize" else -h.values.numpy()
            shares.append(boundary_share(cell.problem.space.to_unit(h.X).numpy(), args.n_initial))
            improved += int(np.nanmin(y[args.n_initial:]) < np.nanmin(y[: args.n_initial]))
            n += 1
        per_pair[cell.problem.name, cell.solver.label] = (shares, improved, n)
    rows: dict[str, list[str]] = {}
    for (_, label), (shares, improved, n) in per_pair.items():
        rows.setdefault(label, []).append(f"{np.mean(shares):.2f}, {improved}/{n}" if n else "—")
    print("| solver | " + " | ".join(problems) + " |")
    print("|---" * (len(problems) + 1) + "|")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
