"""IGNITE's setting for gradient ascent, beside the shipped defaults: does the sharpness constraint pay when
the surrogate is trained as IGNITE's code trains it? TFBind8 and Styblinski-Tang-50 (the continuous task
closest to the paper's Ant and D'Kitty, 56-60 dimensions, which are not shipped here), 8 seeds.

    .venv/bin/workbench run studies/offline_ignite_setting.py --runs-dir runs --workers 2
    .venv/bin/python scripts/offline_table.py runs/offline-ignite-setting/results.nc

* ``ga`` / ``ignite-ga``: the shipped defaults (256-wide networks, mean squared error, 3,000 steps at most,
  the multiplier kept >= 0).
* ``ga-paper`` / ``ignite-ga-paper``: the reference code's training — 100 epochs uncapped (about 25,700
  steps on TFBind8), the Gaussian likelihood of a mean and a log-std head, bootstrap weights, the multiplier
  free to go negative; IGNITE's eps 0.1, rho 0.05, r 0.05, lambda_0 1e-3, dual lr 1e-3; 200 ascent steps of
  0.01 * sqrt(d) from the 128 best — except the width: 256 instead of 2,048 (2,048 costs 73 minutes a seed
  for ``ga`` and 147 for ``ignite-ga`` on one CPU core at 100 epochs).
* ``ga-long`` / ``ignite-ga-long``: the shipped surrogate trained 100 epochs uncapped, nothing else changed
  (what the training length alone does to the constraint's effect).

``OFFLINE_IGNITE_PROBLEMS`` / ``OFFLINE_IGNITE_SOLVERS`` / ``OFFLINE_IGNITE_SEEDS`` run a part.
"""

import dataclasses

from workbench import Study
from workbench.solvers.offline import GradientAscent, Sharpness, SurrogateConfig
from workbench.study import pick

PAPER = SurrogateConfig(epochs=100, max_steps=10**9, loss="nll", bootstrap=True)
LONG = SurrogateConfig(epochs=100, max_steps=10**9)

SOLVERS = [
    "ga", "ignite-ga",
    GradientAscent(surrogate=PAPER, name="ga-paper"),
    GradientAscent(surrogate=dataclasses.replace(PAPER, sharpness=Sharpness(nonnegative=False)),
                   name="ignite-ga-paper"),
    GradientAscent(surrogate=LONG, name="ga-long"),
    GradientAscent(surrogate=dataclasses.replace(LONG, sharpness=Sharpness()), name="ignite-ga-long"),
]

study = Study(
    name="offline-ignite-setting",
    problems=pick("OFFLINE_IGNITE_PROBLEMS", ["tfbind8", "offline-styblinskitang50"]),
    solvers=pick("OFFLINE_IGNITE_SOLVERS", SOLVERS, name=lambda s: s if isinstance(s, str) else s.label),
    seeds=[int(s) for s in pick("OFFLINE_IGNITE_SEEDS", range(8))],
    budget=128,
)
