"""The quick-start study: two classic test functions, three solvers, three seeds, 40 evaluations."""

from problems.synthetic import Branin, Hartmann
from workbench import Study

study = Study(
    name="quickstart",
    problems=[Branin(), Hartmann(dim=6)],
    solvers=["random", "optuna-tpe", "optuna-gp"],
    seeds=range(3),
    budget=40,
)
