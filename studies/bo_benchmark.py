"""Bayesian-optimization benchmark, low-dimensional part: the ``bo-*`` solvers against Optuna's GP, TPE and
CMA-ES samplers and random search on Branin, Hartmann-6, Ackley-10, Levy-10 and Rosenbrock-6; 50
evaluations, 10 seeds. The 50- and 100-dimensional part is studies/bo_benchmark_high_dim.py.

    .venv/bin/workbench run studies/bo_benchmark.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bo_table.py runs/bo-benchmark/results.nc

Set ``BO_BENCHMARK_SOLVERS`` / ``BO_BENCHMARK_PROBLEMS`` / ``BO_BENCHMARK_SEEDS`` (comma-separated) to run a part; the cells keep
their names, so the parts fill one storage and a last run over everything only writes the results.
See docs/bo.md for the measured tables.
"""

from problems.synthetic import Ackley, Branin, Hartmann, Levy, Rosenbrock
from workbench import Study
from workbench.solvers.bo.tables import BENCHMARK_SOLVERS
from workbench.study import pick

SOLVERS = BENCHMARK_SOLVERS
PROBLEMS = [Branin(), Hartmann(dim=6), Ackley(dim=10), Levy(dim=10), Rosenbrock(dim=6)]

study = Study(
    name="bo-benchmark",
    problems=pick("BO_BENCHMARK_PROBLEMS", PROBLEMS, lambda p: p.name),
    solvers=pick("BO_BENCHMARK_SOLVERS", SOLVERS),
    seeds=[int(s) for s in pick("BO_BENCHMARK_SEEDS", range(10))],
    budget=50,
)
