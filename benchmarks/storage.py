"""Storage benchmarks: per-evaluation storage overhead (SQLite, journal file, PostgreSQL), side by side
with plain Optuna writing to the same storage, and study throughput from 1 to 8 workers on PostgreSQL.

    .venv/bin/python -m benchmarks.storage [--evaluations 300] [--cells 200] [--budget 3] [--workers 1 2 4 8]
        [--sleep 0 0.05]

Needs Debian's postgresql package (scripts/system-deps.sh installs it); prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

from tests.pg import PostgresServer
from workbench.claims import Claims
from workbench.recorder import Recorder, Store
from workbench.space import Real, Space

ROOT = Path(__file__).resolve().parents[1]
optuna.logging.set_verbosity(optuna.logging.WARNING)

STUDY = """
import time
from workbench import Real, Space, Study, problem

@problem(space=Space(Real("x", -1.0, 1.0), Real("y", -1.0, 1.0)), optimum=0.0)
def bowl(r):
    time.sleep({sleep})  # stands for an evaluation that waits (a simulator, a remote job)
    return r["x"] ** 2 + r["y"] ** 2

study = Study(name="load", problems=[bowl], solvers=["random"], seeds=range({cells}), budget={budget})
"""


def per_evaluation(url: str, n: int, shared: bool) -> tuple[float, float]:
    """Milliseconds per evaluation: the workbench recorder (plus the claim check workers make), and plain
    Optuna's study.optimize with a trivial objective on the same kind of storage."""
    space = Space(Real("x", -1.0, 1.0), Real("y", -1.0, 1.0))
    store = Store(url)
    recorder = Recorder(store, "bench/cell", space=space, direction="minimize", attrs={"budget": n}, worker="w")
    claim = Claims(store).try_claim("bench/cell", None) if shared else None
    X = space.sample(n, seed=0)
    t0 = time.perf_counter()
    for i in range(n):
        if claim is not None:
            claim.still_held()
        recorder.record(X[i : i + 1], torch.tensor([0.5]), [None], step=i, elapsed=0.0)
    ours = (time.perf_counter() - t0) / n * 1e3
    study = optuna.create_study(study_name="bench/plain", storage=store.storage,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    t0 = time.perf_counter()
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1) ** 2, n_trials=n)
    plain = (time.perf_counter() - t0) / n * 1e3
    return ours, plain


def throughput(pg: PostgresServer, workers: int, cells: int, budget: int, sleep: float) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "load.py").write_text(STUDY.format(cells=cells, budget=budget, sleep=sleep))
        env = dict(os.environ, WORKBENCH_STORAGE=pg.new_database(), CI="1", PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "workbench.cli", "run", "load.py", "--workers", str(workers), "--quiet"],
                       cwd=tmp, env=env, check=True)
        wall = time.perf_counter() - t0
    return wall, cells / wall, cells * budget / wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evaluations", type=int, default=300)
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--budget", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--sleep", type=float, nargs="+", default=[0.0, 0.05],
                    help="seconds each evaluation waits (0: storage-bound)")
    args = ap.parse_args()
    pg = PostgresServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [
                ("SQLite file", f"sqlite:///{tmp}/bench.db", False),
                ("journal file", f"journal:{tmp}/bench.log", True),
                ("PostgreSQL (loopback)", pg.new_database(), True),
            ]
            print("| storage | workbench ms / evaluation | plain Optuna ms / trial (optimize) |")
            print("|---|---|---|")
            for name, url, shared in rows:
                ours, plain = per_evaluation(url, args.evaluations, shared)
                print(f"| {name} | {ours:.2f} | {plain:.2f} |")
        for sleep in args.sleep:
            print()
            print(f"{args.cells} cells x {args.budget} evaluations, each evaluation waiting {sleep * 1e3:.0f} ms:")
            print("| workers | wall s | cells / s | evaluations / s |")
            print("|---|---|---|---|")
            for n in args.workers:
                wall, cps, eps = throughput(pg, n, args.cells, args.budget, sleep)
                print(f"| {n} | {wall:.1f} | {cps:.2f} | {eps:.1f} |")
    finally:
        pg.close()


if __name__ == "__main__":
    main()
