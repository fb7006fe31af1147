"""What an offline solver proposed on an Ehrlich task: how many proposals are feasible, how far they moved.

    .venv/bin/python scripts/ehrlich_proposals.py runs/offline-mbo

Reads the run folder's storage (``journal.log`` of a multi-worker run, else ``optuna.db``) and, for every
finished cell on an Ehrlich task (``<study>/<problem>/<solver>/<seed>``), decodes the proposals' letters and
checks them against the task's instance. Prints one Markdown row per solver and task: the share of proposals
that hold a banned transition (value 0 for that reason alone), the share of feasible ones whose value is 0
(a motif with no element in place), the median number of letters in which a proposal differs from its
nearest visible design, and the share of proposals that are visible designs unchanged. Means over seeds.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np


def _storage(run_dir: Path):
    from workbench.recorder import default_storage_url, open_storage

    if not (run_dir / "journal.log").exists() and not (run_dir / "optuna.db").exists():
        raise SystemExit(f"ehrlich_proposals: no journal.log or optuna.db in {run_dir}")
    return open_storage(default_storage_url(run_dir))


def proposal_stats(problem, rows: np.ndarray) -> dict[str, float]:
    """Feasibility and distance to the visible set of ``n x length`` letter-index rows."""
    import torch

    X = torch.as_tensor(rows, dtype=torch.long)
    feasible = (problem.transition[X[:, :-1], X[:, 1:]] > 0).all(dim=-1).numpy()
    values = problem.values(X).numpy()
    visible = problem.visible()[0].numpy().astype(np.int64)
    distance = (rows[:, None, :] != visible[None, :, :]).sum(-1).min(axis=1)
    return {
        "infeasible": float((~feasible).mean()),
        "zero_feasible": float((values[feasible] == 0).mean()) if feasible.any() else float("nan"),
        "moved": float(np.median(distance)),
        "unchanged": float((distance == 0).mean()),
        "best": float(values.max()),
    }


def collect(run_dir: Path) -> dict[tuple[str, str], list[dict[str, float]]]:
    import optuna

    from workbench.problem import resolve_problem

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = _storage(run_dir)
    problems: dict[str, object] = {}
    out: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        parts = summary.study_name.split("/")
        if len(parts) != 4 or not parts[1].startswith("ehrlich") or "#" in summary.study_name:
            continue
        _, task, solver, _seed = parts
        problem = problems.setdefault(task, resolve_problem(task))
        trials = [t for t in optuna.load_study(study_name=summary.study_name, storage=storage).trials
                  if t.state.name == "COMPLETE"]
        if not trials:
            continue
        alphabet = list(problem.space.parameters[0].alphabet)
        index = {letter: i for i, letter in enumerate(alphabet)}
        rows = np.array([[index[t.params[f"seq[{j}]"]] for j in range(problem.length)] for t in trials])
        out[(task, solver)].append(proposal_stats(problem, rows))
    return out


def _mean(values: list[float]) -> float:
    """Mean over the seeds that have the figure (NaN where none has)."""
    kept = [v for v in values if not np.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    stats = collect(args.run_dir)
    if not stats:
        raise SystemExit(f"ehrlich_proposals: no finished Ehrlich cells in {args.run_dir}")
    sys.stdout.write("| task | solver | seeds | infeasible | feasible at 0 | letters moved (median) | "
                     "visible unchanged | best |\n|---|---|---|---|---|---|---|---|\n")
    for (task, solver), cells in sorted(stats.items()):
        mean = {k: _mean([c[k] for c in cells]) for k in cells[0]}
        zero = "—" if np.isnan(mean["zero_feasible"]) else f"{mean['zero_feasible']:.1%}"  # no feasible proposal
        sys.stdout.write(f"| {task} | {solver} | {len(cells)} | {mean['infeasible']:.1%} | {zero} | "
                         f"{mean['moved']:.1f} | {mean['unchanged']:.1%} | {mean['best']:.3f} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
