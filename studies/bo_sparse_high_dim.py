"""The setting SAASBO is built for: a function of few inputs inside many. Hartmann-6 embedded in 100
dimensions (94 inputs change nothing; where the 6 sit is a fixed seeded permutation), 100 evaluations, 5
seeds: ``bo-saas-map`` (BoTorch's form of the prior) and ``bo-saas-map-paper`` (the paper's global shrinkage)
against ``bo-gp``, ``bo-gp-dim-scaled`` (``bo-gp`` under the dimension-scaled lengthscale prior), ``optuna-gp`` and ``random``.

    .venv/bin/workbench run studies/bo_sparse_high_dim.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bo_table.py runs/bo-sparse-high-dim/results.nc --observations 25,50

``BO_SPARSE_SOLVERS`` / ``BO_SPARSE_SEEDS`` (comma-separated) run a part.
"""

from problems.synthetic import Hartmann
from workbench import Embedded, Study
from workbench.models import LightGPSurrogate, SaasSurrogate
from workbench.solvers.bo import AcquisitionConfig, BoGP, BoSAASMap
from workbench.study import pick

STANDARDIZED = AcquisitionConfig(acquisition="logei")  # bo-gp's acquisition before 2026-12-07

SOLVERS = ["bo-saas-map", BoSAASMap(surrogate=SaasSurrogate(inference="map", shrinkage="paper"),
                                    name="bo-saas-map-paper"), "bo-gp",
           BoGP(surrogate=LightGPSurrogate(prior="dim-scaled"), acquisition=STANDARDIZED, name="bo-gp-dim-scaled"),
           "optuna-gp", "random"]

study = Study(
    name="bo-sparse-high-dim",
    problems=[Embedded(Hartmann(), 100)],
    solvers=pick("BO_SPARSE_SOLVERS", SOLVERS, name=lambda s: s if isinstance(s, str) else s.label),
    seeds=[int(s) for s in pick("BO_SPARSE_SEEDS", range(5))],
    budget=100,
)
