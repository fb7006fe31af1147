"""Print the offline benchmark tables (markdown) from a results file:
python scripts/offline_table.py RESULTS_NC [p100|p80|p50]"""

import sys

from workbench.results import load_results
from workbench.solvers.offline.benchmark import offline_tables

if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "runs/offline-mbo"
    print(offline_tables(load_results(path), sys.argv[2] if len(sys.argv) > 2 else "p100"))
