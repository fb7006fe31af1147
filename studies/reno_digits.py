"""Is gradient search in a generator's noise worth it against keeping the best of N noises, or against
black-box search — at equal reward calls, and without hacking the reward?

Problem: ``digits-noise`` edits "make an a look like an a+1" (the decoder conditioned on class a, the reward
the MLP classifier's log-probability of class a + 1 mod 10; the held-out judge a CNN trained on other
images), ten conditions. Solvers: ReNO at the reference's defaults (``reno``: lr 5), ReNO at the reference's
step relative to ‖ε‖ (``reno-rel``: lr 5 √(16/16384)), without its norm regularizer (``reno-noreg``) and
with a hundred times its weight (``reno-reg1``: λ = 1), ReNO from the best of 10 noises (``reno-bon``),
best-of-N, random search and CMA-ES in the noise's quantiles, BO with a GP and with the infinite-width
BNN kernel. Seeds 0-4 (the noise stream).
``RENO_NOISE`` = ``0.1`` / ``0.5`` makes every reward observed with Gaussian noise of that many times the
reward's spread (scoring stays clean); ``RENO_LATENT`` = 64 uses a decoder with a 64-dimensional latent
(default 16); ``RENO_BOX`` = 3 limits the black-box view to ``|εᵢ| <= 3`` (problem names end in ``-box3``).

    OMP_NUM_THREADS=1 .venv/bin/workbench run studies/reno_digits.py --runs-dir runs --workers 2
    RENO_SOLVERS=bo-gp,bo-ibnn RENO_BUDGET=50 OMP_NUM_THREADS=1 \
        .venv/bin/workbench run studies/reno_digits.py --runs-dir runs --workers 2
    .venv/bin/python scripts/noise_table.py runs/reno_digits/results.nc --at 50,200

(without ``RENO_SOLVERS``, every solver but the two BO ones runs: at 50 reward calls a BO cell takes about
25 s here, the others under a second.)

Parts: ``RENO_SOLVERS``, ``RENO_SEEDS`` (comma-separated), ``RENO_BUDGET`` (reward calls, default 200; a
larger budget later resumes the same cells); parts fill one storage.
"""

from __future__ import annotations

import os

from problems.noise import DigitsNoise
from workbench import Study
from workbench.budget import Budget
from workbench.families.noise import NoisyReward
from workbench.solvers.noise import BestOfN, ReNO, ReNOFromBest
from workbench.study import pick

NOISE = float(os.environ.get("RENO_NOISE", 0))
LATENT = int(os.environ.get("RENO_LATENT", 16))
BOX = float(os.environ["RENO_BOX"]) if os.environ.get("RENO_BOX") else None
EDITS = [DigitsNoise(condition=(a, (a + 1) % 10), latent=LATENT, box=BOX) for a in range(10)]
PROBLEMS = [NoisyReward(p, NOISE, relative=True) for p in EDITS] if NOISE else EDITS
SOLVERS = [
    ReNO(),
    ReNO(reference_dim=16384, name="reno-rel"),
    ReNO(reg_weight=0.0, name="reno-noreg"),
    ReNO(reg_weight=1.0, name="reno-reg1"),
    ReNOFromBest(),
    BestOfN(),
    "random",
    "optuna-cmaes",
    "bo-gp",
    "bo-ibnn",
]

study = Study(
    f"reno_digits{'_z' + str(LATENT) if LATENT != 16 else ''}{'_noise' + os.environ['RENO_NOISE'] if NOISE else ''}",
    problems=PROBLEMS,
    # BO's fits make a cell ~400 times slower than the rest here: it runs as a part of its own (see above)
    solvers=pick("RENO_SOLVERS", SOLVERS, lambda s: s if isinstance(s, str) else s.label)
    if os.environ.get("RENO_SOLVERS") else [s for s in SOLVERS if s not in ("bo-gp", "bo-ibnn")],
    seeds=[int(s) for s in pick("RENO_SEEDS", ["0", "1", "2", "3", "4"])],
    budget=Budget(reward_calls=float(os.environ.get("RENO_BUDGET", 200))),
)
