"""Which way of tuning hyperparameters gets the best validation score for the least lower-level work:
an inexact hypergradient method (MAID, HOAG at three tolerance schedules) or a black-box solver (random,
TPE, CMA-ES, BO with a GP), on the bilevel problems, every cell stopped at the same lower-level work.

Problems: ``bilevel-quadratic`` (MAID's, n = 1000, m = 10, closed-form θ*), ``tv-denoising`` (two 96 x 96
scikit-image images, σ = 0.1, θ₀ = (-5, -5)), ``logreg-l2-digits`` (650 L2 weights, θ₀ = -3). Budget:
``BILEVEL_BUDGET`` lower-level iterations per cell (default 10,000); a larger budget later resumes the same
cells. Seeds 0-2 (noise draw and data split; solvers' own randomness).

    OMP_NUM_THREADS=1 .venv/bin/workbench run studies/bilevel.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bilevel_table.py runs/bilevel/results.nc --at 1000,3000,10000

Parts: ``BILEVEL_PROBLEMS``, ``BILEVEL_SOLVERS``, ``BILEVEL_SEEDS`` (comma-separated); parts fill one storage.
"""

from __future__ import annotations

import os

from problems.bilevel import BilevelQuadratic, LogregL2Digits, TVDenoising
from workbench import Study
from workbench.budget import Budget
from workbench.solvers.bilevel import HOAG, MAID
from workbench.study import pick

PROBLEMS = [BilevelQuadratic(), TVDenoising(size=96, images=2), LogregL2Digits()]
SOLVERS = [
    MAID(),
    MAID(step0=None, name="maid-hoag-step"),  # the first step HOAG's, as the reference's logistic experiment
    HOAG(schedule="geometric", name="hoag-geometric"),
    HOAG(schedule="quadratic", name="hoag-quadratic"),
    HOAG(schedule="cubic", name="hoag-cubic"),
    "random",
    "optuna-tpe",
    "optuna-cmaes",
    "bo-gp",
]

study = Study(
    "bilevel",
    problems=pick("BILEVEL_PROBLEMS", PROBLEMS, lambda p: p.name),
    solvers=pick("BILEVEL_SOLVERS", SOLVERS, lambda s: s if isinstance(s, str) else s.label),
    seeds=[int(s) for s in pick("BILEVEL_SEEDS", ["0", "1", "2"])],
    budget=Budget(lower_iterations=float(os.environ.get("BILEVEL_BUDGET", 10_000))),
)
