"""All seven BO surrogates side by side on one problem (a quick look; studies/bo_benchmark.py is the full one).

    .venv/bin/workbench run studies/bo_surrogates.py
"""

from problems.synthetic import Branin
from workbench import Study

study = Study(
    name="bo-surrogates",
    problems=[Branin()],
    solvers=["bo-gp", "bo-dkl", "bo-ibnn", "bo-ensemble", "bo-hmc", "bo-sghmc", "bo-laplace", "random"],
    seeds=range(2),
    budget=25,
)
