"""Why the neural surrogates lose on Styblinski-Tang-50 (docs/bo.md, "The 50-dimensional problem"): every
``bo-*`` solver with the acquisition search of Li et al.'s reference configuration (2 restarts from 16 raw
samples, 10 L-BFGS-B iterations, no starts at the incumbent) instead of the default thorough search;
50 evaluations, 5 seeds, the same cells as studies/bo_benchmark.py otherwise.

    .venv/bin/workbench run studies/bo_high_dim.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bo_table.py runs/bo-high-dim/results.nc
"""

from problems.synthetic import StyblinskiTang
from workbench import Study
from workbench.solvers import solvers
from workbench.solvers.bo import AcquisitionConfig

SHORT_SEARCH = AcquisitionConfig(num_restarts=2, raw_samples=16, maxiter=10, local_starts=0)
NAMES = ["bo-gp", "bo-dkl", "bo-ibnn", "bo-ensemble", "bo-hmc", "bo-sghmc", "bo-laplace"]

study = Study(
    name="bo-high-dim",
    problems=[StyblinskiTang(dim=50)],
    solvers=[solvers.get(n)(acquisition=SHORT_SEARCH, name=f"{n}-short-search") for n in NAMES],
    seeds=range(5),
    budget=50,
)
