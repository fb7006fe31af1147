"""Tuned optimizers at an equal tuning budget: each training optimizer's learning rate (SSO: its target
step ``eta`` and its inner steps ``m``) tuned by black-box solvers, the tuned optimizers compared by the
validation loss they reach.

Every problem is a :class:`~workbench.families.training.tuning.Tuning` black box: ``lr -> validation loss
after 5 epochs`` of one optimizer on one training problem (``tune-sgd-logreg-digits``,
``tune-adam-logreg-digits``, ``tune-sso-logreg-digits``). SGD and Adam search the same range (``lr`` in
[1e-5, 1], log scale), SSO its ``eta`` and ``m``; all get the same tuning budget (15 trainings per cell), so
the leaderboard's ``best`` (the lowest validation loss found) compares, across the problem columns, tuned
SGD, tuned Adam and tuned SSO; down a column
it compares the tuners (``bo-gp``, ``optuna-tpe``, ``random``). The study records what the tuning spent on
``oracle_calls``, ``epochs`` and ``model_passes`` (convergence against any of them in the dashboard).

    OMP_NUM_THREADS=1 workbench run studies/sso_tuning.py --runs-dir runs

27 cells x 15 trainings of 5 epochs: about 90 s with ``--workers 2`` on 2 CPU cores (SGD and Adam take about
0.1 s a training, SSO about 1 s: its inner steps). Each training runs on one torch thread (the problems'
``cpu_threads``); the tables are in docs/training.md.

Set ``SSO_TUNING_PROBLEMS`` (``logreg-digits``, ``mlp-digits``; default ``logreg-digits`` only),
``SSO_TUNING_OPTIMIZERS`` (``sgd``, ``adam``, ``sso``), ``SSO_TUNING_SOLVERS`` and ``SSO_TUNING_SEEDS``
(comma-separated) to run a part or more; ``SSO_TUNING_EPOCHS`` changes the epochs of each training.
"""

import os

from problems.training import LogregDigits, MlpDigits
from workbench import Integer, Real, Study
from workbench.families.training.tuning import Tuning
from workbench.solvers.training import SGD, SSO, Adam
from workbench.study import pick

EPOCHS = int(os.environ.get("SSO_TUNING_EPOCHS", "5"))
LR = Real("lr", 1e-5, 1.0, log=True)  # one range for every optimizer: the tuners alone find each one's rate

#: the training problems; mlp-digits (non-convex, slower) only when asked for
TRAINING = {"logreg-digits": LogregDigits, "mlp-digits": MlpDigits}
wanted = pick("SSO_TUNING_PROBLEMS", TRAINING) if os.environ.get("SSO_TUNING_PROBLEMS") else ["logreg-digits"]

#: the optimizers tuned, each with the options the tuners search
OPTIMIZERS = {
    "sgd": (SGD(), [LR]),
    "adam": (Adam(), [LR]),
    # SSO's inner steps search their own step size (Armijo): the tuners search its target step and m (up to
    # 20: each inner step is model passes, and m = 100 makes one training of 5 epochs take seconds)
    "sso": (SSO(), [Real("eta", 1e-2, 1e3, log=True), Integer("m", 1, 20, log=True)]),
}

problems = [Tuning(TRAINING[p](), solver, space, epochs=EPOCHS)
            for p in wanted for _, (solver, space) in pick("SSO_TUNING_OPTIMIZERS", OPTIMIZERS.items(), lambda kv: kv[0])]

study = Study(
    name="sso-tuning",
    problems=problems,
    solvers=pick("SSO_TUNING_SOLVERS", ["bo-gp", "optuna-tpe", "random"]),
    seeds=[int(s) for s in pick("SSO_TUNING_SEEDS", range(3))],
    budget=15,
)
