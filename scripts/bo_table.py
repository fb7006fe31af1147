"""Print the BO benchmark tables (markdown) from a results file: python scripts/bo_table.py RESULTS_NC"""

import sys

from workbench.results import load_results
from workbench.solvers.bo.tables import benchmark_tables

if __name__ == "__main__":
    print(benchmark_tables(load_results(sys.argv[1] if len(sys.argv) > 1 else "runs/bo-benchmark")))
