"""Target-based surrogates (SSO) against SGD, Adam, AdaGrad, SLS and SGD-SaI, the SSO paper's protocol.

Every method runs a learning-rate grid (SSO: a grid of its target step ``eta`` for each ``m``); the best
setting per method is the one with the lowest mean final training loss (the paper picks on training loss);
100 epochs, 3 seeds, batch sizes 25, 125 and 625 (a batch larger than the training set is the full batch).
The full-batch L-BFGS reference runs beside them.

    .venv/bin/workbench run studies/sso.py --runs-dir runs --workers 2
    .venv/bin/python scripts/sso_table.py runs/sso/results.nc

Parts (comma-separated; parts fill one storage, as every study does):
``SSO_PROBLEMS`` (e.g. ``logreg-breast-cancer-b25``), ``SSO_SOLVERS`` (labels, e.g. ``sgd(lr=0.1)``, ``sso(m=10;eta=1)``),
``SSO_SEEDS``, and ``SSO_EPOCHS`` (default 100). docs/training.md has the measured tables and the commands of
each part.
"""

from __future__ import annotations

import itertools
import os

from problems.training import ImitationLQR, LogregBreastCancer, LogregDigits, MlpDigits, SquaredDigits, SyntheticLogistic
from workbench import Study
from workbench.solvers import solvers
from workbench.study import pick

BATCHES = (25, 125, 625)


def grid(solver: str, **options: list) -> list:
    """One declaration of ``solver`` per combination of ``options``, labelled ``solver(k=v,...)``."""
    cls = solvers.get(solver)
    keys = list(options)
    out = []
    for values in itertools.product(*(options[k] for k in keys)):
        given = dict(zip(keys, values))
        label = f"{solver}({';'.join(f'{k}={v:g}' for k, v in given.items())})" if given else solver
        out.append(cls(name=label, **given))
    return out


def problems() -> list:
    out = []
    for batch in BATCHES:
        out += [LogregBreastCancer(batch_size=batch, name=f"logreg-breast-cancer-b{batch}"),
                LogregDigits(batch_size=batch, name=f"logreg-digits-b{batch}"),
                SquaredDigits(batch_size=batch, name=f"squared-digits-b{batch}"),
                SyntheticLogistic(n=10_000, d=100, batch_size=batch, name=f"synthetic-logistic-b{batch}"),
                MlpDigits(batch_size=batch, name=f"mlp-digits-b{batch}")]
    return out + [ImitationLQR()]


def methods() -> list:
    return [
        *grid("sgd", lr=[0.01, 0.1, 1.0, 10.0]),
        *grid("adam", lr=[1e-4, 1e-3, 1e-2, 1e-1]),
        *grid("adagrad", lr=[0.01, 0.1, 1.0]),
        *grid("sls"),
        *grid("sgd-sai", lr=[1e-3, 1e-2, 1e-1]),
        *grid("sso", m=[1, 10, 100], eta=[0.1, 1.0, 10.0]),
        *grid("sso-sls", m=[1, 10, 100]),
        *grid("lbfgs"),
    ]


study = Study(
    name="sso",
    problems=pick("SSO_PROBLEMS", problems(), name=lambda p: p.name),
    solvers=pick("SSO_SOLVERS", methods(), name=lambda s: s.label),
    seeds=[int(s) for s in pick("SSO_SEEDS", range(3))],
    budget=int(os.environ.get("SSO_EPOCHS", "100")),
)
