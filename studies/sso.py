"""Target-based surrogates (SSO) against SGD, Adam, AdaGrad, SLS and SGD-SaI, the SSO paper's protocol.

Every method runs a learning-rate grid (SSO: a grid of its target step ``eta`` for each ``m``; the grids are
``workbench.solvers.training.grids.sso_benchmark``); the best
setting per method is the one with the lowest mean final training loss (the paper picks on training loss);
100 epochs, 3 seeds, batch sizes 25, 125 and 625 (a batch larger than the training set is the full batch).
The full-batch L-BFGS reference runs beside them. The imitation problem, whose data come from acting, has
its own study (studies/sso_imitation.py: no full-batch method runs there).

    .venv/bin/workbench run studies/sso.py --runs-dir runs --workers 2
    .venv/bin/python scripts/sso_table.py runs/sso/results.nc

Parts (comma-separated; parts fill one storage, as every study does):
``SSO_PROBLEMS`` (e.g. ``logreg-breast-cancer-b25``), ``SSO_SOLVERS`` (labels, e.g. ``sgd(lr=0.1)``, ``sso(m=10;eta=1)``),
``SSO_SEEDS``, and ``SSO_EPOCHS`` (default 100). docs/training.md has the measured tables and the commands of
each part.
"""

from __future__ import annotations

import os

from problems.training import LogregBreastCancer, LogregDigits, MlpDigits, SquaredDigits, SyntheticLogistic
from workbench import Study
from workbench.solvers.training.grids import sso_benchmark
from workbench.study import pick

BATCHES = (25, 125, 625)


def problems() -> list:
    out = []
    for batch in BATCHES:
        out += [LogregBreastCancer(batch_size=batch, name=f"logreg-breast-cancer-b{batch}"),
                LogregDigits(batch_size=batch, name=f"logreg-digits-b{batch}"),
                SquaredDigits(batch_size=batch, name=f"squared-digits-b{batch}"),
                SyntheticLogistic(n=10_000, d=100, batch_size=batch, name=f"synthetic-logistic-b{batch}"),
                MlpDigits(batch_size=batch, name=f"mlp-digits-b{batch}")]
    return out


study = Study(
    name="sso",
    problems=pick("SSO_PROBLEMS", problems(), name=lambda p: p.name),
    solvers=pick("SSO_SOLVERS", sso_benchmark(), name=lambda s: s.label),
    seeds=[int(s) for s in pick("SSO_SEEDS", range(3))],
    budget=int(os.environ.get("SSO_EPOCHS", "100")),
)
