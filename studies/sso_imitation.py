"""SSO against SGD, Adam, AdaGrad, SLS and SGD-SaI on online imitation of an LQR expert (``imitation-lqr``):
every expensive gradient is a rollout of the current policy, so the question is how many environment steps
each method needs to reach a given imitation loss. Same grids and selection as studies/sso.py; 100 epochs
of 10 rollouts, 3 seeds.

    .venv/bin/workbench run studies/sso_imitation.py --runs-dir runs --workers 2
    .venv/bin/python scripts/sso_table.py runs/sso-imitation/results.nc --thresholds 1e-2,1e-3,1e-4

Parts: ``SSO_SOLVERS``, ``SSO_SEEDS``, ``SSO_EPOCHS`` as in studies/sso.py.
"""

from __future__ import annotations

import os

from problems.training import ImitationLQR
from workbench import Study
from workbench.solvers.training.grids import sso_benchmark
from workbench.study import pick

study = Study(
    name="sso-imitation",
    problems=[ImitationLQR()],
    solvers=pick("SSO_SOLVERS", sso_benchmark(full_batch=False), name=lambda s: s.label),
    seeds=[int(s) for s in pick("SSO_SEEDS", range(3))],
    budget=int(os.environ.get("SSO_EPOCHS", "100")),
)
