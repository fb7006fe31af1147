"""The quick-start study: two classic test functions; the workbench's own BO (`bo-gp`) beside Optuna's GP and
TPE samplers and random search; three seeds, 40 evaluations."""

from problems.synthetic import Branin, Hartmann
from workbench import Study

study = Study(
    name="quickstart",
    problems=[Branin(), Hartmann(dim=6)],
    solvers=["bo-gp", "optuna-gp", "optuna-tpe", "random"],
    seeds=range(3),
    budget=40,
)
