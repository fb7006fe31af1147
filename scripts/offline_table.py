"""Print the offline benchmark tables (markdown) from a results file:
python scripts/offline_table.py RESULTS_NC [p100|p80|p50] [--drop SOLVER,...]"""

import argparse

from workbench.families.offline.tables import offline_tables
from workbench.results import load_results

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the offline benchmark tables, in markdown")
    parser.add_argument("results", nargs="?", default="runs/offline-mbo")
    parser.add_argument("metric", nargs="?", default="p100", choices=["p100", "p80", "p50"])
    parser.add_argument("--drop", default="", help="comma-separated solvers to leave out")
    args = parser.parse_args()
    drop = tuple(s for s in args.drop.split(",") if s)
    try:
        print(offline_tables(load_results(args.results), args.metric, drop))
    except ValueError as e:
        parser.error(str(e))
