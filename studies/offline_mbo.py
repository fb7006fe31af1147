"""Offline model-based optimization benchmark: every offline solver on TFBind8, two Ehrlich functions and
three continuous tasks; 8 seeds, 128 candidates per seed, scored like Design-Bench (normalized 100th,
80th and 50th percentiles; mean ± std over seeds; mean rank).

    .venv/bin/workbench run studies/offline_mbo.py --runs-dir runs --workers 2
    .venv/bin/workbench report studies/offline_mbo.py --runs-dir runs   # p100; --metric p80 / p50 for the others
    .venv/bin/python scripts/offline_table.py runs/offline-mbo/results.nc

Set ``OFFLINE_MBO_PROBLEMS``, ``OFFLINE_MBO_SOLVERS`` or ``OFFLINE_MBO_SEEDS`` (comma-separated) to run a
part; parts fill one storage. See docs/offline.md for the measured table beside the papers' numbers.
"""

from workbench import Study
from workbench.study import pick

PROBLEMS = ["tfbind8", "ehrlich-l32", "ehrlich-l128", "offline-ackley32", "offline-rosenbrock20",
            "offline-styblinskitang50"]
SOLVERS = ["ga", "ga-mean", "ga-min", "ignite-ga", "ignite-ga-mean", "ignite-ga-min", "cmaes-surrogate",
           "ignite-cmaes", "root", "bo-qei", "coms", "ram"]

study = Study(
    name="offline-mbo",
    problems=pick("OFFLINE_MBO_PROBLEMS", PROBLEMS),
    solvers=pick("OFFLINE_MBO_SOLVERS", SOLVERS),
    seeds=[int(s) for s in pick("OFFLINE_MBO_SEEDS", range(8))],
    budget=128,
)
