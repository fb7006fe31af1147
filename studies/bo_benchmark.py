"""Bayesian-optimization benchmark: every ``bo-*`` surrogate against Optuna's GP and TPE samplers and random
search, on five low-dimensional test functions and one of 50 dimensions; 50 evaluations, 5 seeds.

    .venv/bin/workbench run studies/bo_benchmark.py --runs-dir runs
    .venv/bin/python scripts/bo_table.py runs/bo-benchmark/results.nc

Set ``BO_BENCHMARK_SOLVERS`` / ``BO_BENCHMARK_PROBLEMS`` / ``BO_BENCHMARK_SEEDS`` (comma-separated) to run a part; the cells keep
their names, so the parts fill one storage and a last run over everything only writes the results.
See docs/bo.md for the measured table.
"""

from problems.synthetic import Ackley, Branin, Hartmann, Levy, Rosenbrock, StyblinskiTang
from workbench import Study
from workbench.study import pick

SOLVERS = ["bo-gp", "bo-dkl", "bo-ibnn", "bo-ensemble", "bo-hmc", "bo-sghmc", "bo-laplace", "bo-nngp-sign",
           "bo-sgntk", "optuna-gp", "optuna-tpe", "random"]
PROBLEMS = [Branin(), Hartmann(dim=6), Ackley(dim=10), Levy(dim=10), Rosenbrock(dim=6), StyblinskiTang(dim=50)]

study = Study(
    name="bo-benchmark",
    problems=pick("BO_BENCHMARK_PROBLEMS", PROBLEMS, lambda p: p.name),
    solvers=pick("BO_BENCHMARK_SOLVERS", SOLVERS),
    seeds=[int(s) for s in pick("BO_BENCHMARK_SEEDS", range(5))],
    budget=50,
)
