"""The best trial of every cell of a run, with its parameters: what each tuner found.

    .venv/bin/python scripts/best_trials.py runs/surrogate-tuning

Reads the run folder's storage (``journal.log`` of a multi-worker run, else ``optuna.db``); cells are the
storage's studies, ``<study>/<problem>/<solver>/<seed>``. Prints one Markdown row per cell: the best value
(by the problem's direction, minimized unless the study says otherwise) and its parameters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def best_trials(run_dir: Path) -> list[dict]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = run_dir / "journal.log"
    if journal.exists():
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(str(journal)))
    elif (run_dir / "optuna.db").exists():
        storage = f"sqlite:///{run_dir / 'optuna.db'}"
    else:
        raise SystemExit(f"best_trials: no journal.log or optuna.db in {run_dir}")
    rows = []
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        done = [t for t in study.trials if t.state.name == "COMPLETE" and t.values]
        if not done:
            continue
        maximize = study.directions[0].name == "MAXIMIZE"
        best = (max if maximize else min)(done, key=lambda t: t.values[0])
        rows.append({"cell": summary.study_name, "value": best.values[0], "params": best.params,
                     "trials": len(study.trials), "failed": sum(t.state.name == "FAIL" for t in study.trials)})
    return sorted(rows, key=lambda r: r["cell"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    rows = best_trials(args.run_dir)
    sys.stdout.write("| cell | best value | parameters | trials (failed) |\n|---|---|---|---|\n")
    for r in rows:
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["params"].items())
        sys.stdout.write(f"| {r['cell']} | {r['value']:.4g} | {params} | {r['trials']} ({r['failed']}) |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
