"""The solvers of the BO benchmark (studies/bo_benchmark.py and studies/bo_benchmark_high_dim.py read this
list; it is not a study file)."""

SOLVERS = ["bo-gp", "bo-turbo", "bo-dkl", "bo-ibnn", "bo-ensemble", "bo-hmc", "bo-sghmc", "bo-laplace", "optuna-gp",
           "optuna-tpe", "optuna-cmaes", "random"]
