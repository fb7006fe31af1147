"""Does a Self-Tuning Network's learned dropout schedule beat the best fixed dropout rate, and where do the
black-box solvers stand, at equal training work, on the dropout MLP (digits, 4 hyperparameters: input,
hidden and hidden dropout, input noise)?

Solvers: ``stn`` (the paper's defaults), ``stn-lr0.03`` (hyperparameter learning rate 10x: digits gives
19 hyper steps per epoch where CIFAR-10 gives ~100), ``stn-frozen`` (the ablation: STN's network and
perturbed training with λ held at θ₀, so any gain over it is the schedule's), the fixed-rate grid
``fixed-0.01`` ... ``fixed-0.4`` (every dropout rate at p, input noise 0.05), and the black-box solvers ``random``, ``optuna-tpe``, ``bo-gp``
(each query trains a fresh network for 20 epochs). Budget: 200 epochs of training steps per cell
(3,800 lower-level iterations at batch 32); seeds 0-9 (data split and initialization). Certified methods
(MAID, HOAG) refuse the problem (its lower level is not strongly convex); they are in studies/bilevel.py.

    OMP_NUM_THREADS=1 .venv/bin/workbench run studies/bilevel_dropout.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bilevel_table.py runs/bilevel-dropout/results.nc --at 950,1900,3800
"""

from __future__ import annotations

from problems.bilevel import DropoutMlpDigits
from workbench import Study
from workbench.budget import Budget
from workbench.solvers.bilevel import STN, Fixed
from workbench.study import pick

PROBLEM = DropoutMlpDigits()
RATES = (0.01, 0.05, 0.1, 0.2, 0.4)
SOLVERS = [
    STN(),
    STN(hyper_lr=0.03, name="stn-lr0.03"),
    STN(tune=False, name="stn-frozen"),  # the same network and perturbed training, λ held at θ₀: no schedule
    *[Fixed(theta=PROBLEM.theta_for(p), name=f"fixed-{p:g}") for p in RATES],
    "random",
    "optuna-tpe",
    "bo-gp",
]

study = Study(
    "bilevel-dropout",
    problems=[PROBLEM],
    solvers=pick("BILEVEL_SOLVERS", SOLVERS, lambda s: s if isinstance(s, str) else s.label),
    seeds=[int(s) for s in pick("BILEVEL_SEEDS", [str(i) for i in range(10)])],
    budget=Budget(lower_iterations=3800),
)
