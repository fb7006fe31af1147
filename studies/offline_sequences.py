"""Sequence design offline: the searches in sequence space (``local-search``, ``mbga``) beside gradient ascent on
the same 5-network ensemble (``ga-mean``) on TFBind8 and the two Ehrlich functions; 8 seeds, 128 candidates per
seed, scored like Design-Bench (normalized 100th, 80th and 50th percentiles; mean ± std over seeds).

    .venv/bin/workbench run studies/offline_sequences.py --runs-dir runs --workers 2
    .venv/bin/python scripts/offline_table.py runs/offline-sequences/results.nc

``OFFLINE_SEQ_PROBLEMS``, ``OFFLINE_SEQ_SOLVERS`` and ``OFFLINE_SEQ_SEEDS`` (comma-separated) run a part; parts
fill one storage. docs/offline.md has the measured tables.
"""

from workbench import Study
from workbench.study import pick

PROBLEMS = ["tfbind8", "ehrlich-l32", "ehrlich-l128"]
SOLVERS = ["local-search", "mbga", "ga-mean"]

study = Study(
    name="offline-sequences",
    problems=pick("OFFLINE_SEQ_PROBLEMS", PROBLEMS),
    solvers=pick("OFFLINE_SEQ_SOLVERS", SOLVERS),
    seeds=[int(s) for s in pick("OFFLINE_SEQ_SEEDS", range(8))],
    budget=128,
)
