"""Surrogate, slope and learning rate tuned together: black-box tuners on the black-box view of training.

Each problem is a :class:`~workbench.families.training.tuning.Tuning` black box ``(surrogate, slope, lr) ->
validation loss after 5 epochs of Adam`` on a step-activation network of the digits: the surrogate kind (one
of the four with a slope: ``fast-sigmoid``, ``sigmoid``, ``arctan``, ``erf``), its slope (0.1 to 100, log
scale) and Adam's learning rate (1e-4 to 0.1, log scale). Every row declares the problem again with the
row's surrogate. ``bo-gp``, ``optuna-tpe`` and ``random`` get 20 trainings per cell, 3 seeds; the
leaderboard's ``best`` is the lowest validation loss each found, and the dashboard's convergence pages show
it against the epochs and model passes the tuning spent.

    OMP_NUM_THREADS=1 .venv/bin/workbench run studies/surrogate_tuning.py --runs-dir runs --workers 2

Parts: ``SG_TUNING_NETWORKS`` (``binary``, ``spiking``), ``SG_TUNING_SOLVERS``, ``SG_TUNING_SEEDS``
(comma-separated); ``SG_TUNING_EPOCHS`` changes the epochs of each training.
"""

from __future__ import annotations

import os

from problems.training import BinaryMlpDigits, SpikingMlpDigits
from workbench import Categorical, Real, Study
from workbench.families.training.tuning import Tuning
from workbench.solvers.training import Adam
from workbench.study import pick

EPOCHS = int(os.environ.get("SG_TUNING_EPOCHS", "5"))
SPACE = [Categorical("surrogate", ("fast-sigmoid", "sigmoid", "arctan", "erf")),
         Real("slope", 0.1, 100.0, log=True), Real("lr", 1e-4, 1e-1, log=True)]
NETWORKS = {"binary": BinaryMlpDigits, "spiking": SpikingMlpDigits}

study = Study(
    name="surrogate-tuning",
    problems=[Tuning(NETWORKS[n](), Adam(), SPACE, epochs=EPOCHS, name=f"tune-surrogate-{NETWORKS[n]().name}")
              for n in pick("SG_TUNING_NETWORKS", NETWORKS)],
    solvers=pick("SG_TUNING_SOLVERS", ["bo-gp", "optuna-tpe", "random"]),
    seeds=[int(s) for s in pick("SG_TUNING_SEEDS", range(3))],
    budget=20,
)
