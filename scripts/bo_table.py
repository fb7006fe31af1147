"""Print the BO benchmark tables (markdown) from a results file.

    python scripts/bo_table.py RESULTS_NC [--at N] [--observations 25,50]

``--at N``: regret after N evaluations instead of the last; ``--observations``: seconds per iteration around
those numbers of observations instead of over the whole run and the last ten."""

import argparse

from workbench.results import load_results
from workbench.solvers.bo.tables import benchmark_tables

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="?", default="runs/bo-benchmark")
    parser.add_argument("--at", type=int, default=None)
    parser.add_argument("--observations", default="")
    args = parser.parse_args()
    observations = tuple(int(n) for n in args.observations.split(",") if n.strip())
    print(benchmark_tables(load_results(args.results), at=args.at, observations=observations))
