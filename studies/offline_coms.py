"""COMs at its two published TFBind8 settings, 8 seeds: ``coms`` (the design-baselines code's final setting:
step 2.0·√d on raw logits, overestimation limit τ = 2.0) and ``coms-2021`` (the setting of the commit the paper
links: step 0.05·√d, τ = 0.5, the value of its examples; the paper's runs swept τ over 0.4–1.0), and the
final setting with τ in that range: ``coms-tau0.5``, ``coms-tau1`` (τ = 0.5, 1.0 at step 2.0·√d).

    .venv/bin/workbench run studies/offline_coms.py --runs-dir runs --workers 2
    .venv/bin/python scripts/offline_table.py runs/offline-coms/results.nc

``OFFLINE_COMS_SOLVERS`` / ``OFFLINE_COMS_SEEDS`` (comma-separated) run a part. docs/offline.md has the table.
"""

from workbench import Study
from workbench.solvers.offline import COMs
from workbench.study import pick

SOLVERS = [COMs(), COMs(particle_lr=0.05, tau=0.5, name="coms-2021"),
           *(COMs(tau=tau, name=f"coms-tau{tau:g}") for tau in (0.5, 1.0))]

study = Study(
    name="offline-coms",
    problems=["tfbind8"],
    solvers=pick("OFFLINE_COMS_SOLVERS", SOLVERS, name=lambda s: s.label),
    seeds=[int(s) for s in pick("OFFLINE_COMS_SEEDS", range(8))],
    budget=128,
)
