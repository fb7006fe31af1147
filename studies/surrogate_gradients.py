"""Which surrogate gradient trains a step-activation network best: every surrogate kind at three slopes, on a
binary network (sign activations, and sign activations with binary weights, the ReSTE paper's 1W1A
setting) and a spiking network (leaky integrate-and-fire, rate-coded input), at equal epochs.

Each problem is one (network, surrogate, slope): ``binary-mlp-digits+reste-o3``,
``spiking-mlp-digits+fast-sigmoid-k25``; every cell trains with Adam (lr 1e-3, batch 25) for 30 epochs
(ReSTE's power follows its schedule over those 30); 5 seeds. The dashboard's leaderboard ranks them by
final test accuracy; the table and the reading are in docs/surrogate_gradients.md.

    OMP_NUM_THREADS=1 .venv/bin/workbench run studies/surrogate_gradients.py --runs-dir runs --workers 2
    .venv/bin/python scripts/surrogate_table.py runs/surrogate-gradients/results.nc

Parts: ``SG_NETWORKS`` (``binary``, ``binary-1w1a``, ``spiking``), ``SG_KINDS`` (surrogate kinds),
``SG_SEEDS``, ``SG_EPOCHS`` (default 30), all comma-separated lists; parts fill one storage.
"""

from __future__ import annotations

import os

from problems.training import BinaryMlpDigits, SpikingMlpDigits
from workbench import Study
from workbench.families.training.surrogate_gradients import KINDS
from workbench.solvers.training import Adam
from workbench.study import pick

#: the slopes of each kind: the literature's default in the middle (snntorch's for the spike surrogates,
#: the SG-NTK paper's k = 1 for erf, ReSTE's o = 3), a flatter and a steeper one
SLOPES: dict[str, tuple[float | None, ...]] = {
    "ste": (None,), "clipped-ste": (None,), "fast-sigmoid": (1.0, 5.0, 25.0), "sigmoid": (1.0, 5.0, 25.0),
    "arctan": (0.5, 2.0, 10.0), "erf": (0.3, 1.0, 3.0), "reste": (2.0, 3.0, 5.0),
}
_LETTER = {"fast-sigmoid": "k", "sigmoid": "k", "erf": "k", "arctan": "alpha", "reste": "o"}

NETWORKS = {
    "binary": lambda **kw: BinaryMlpDigits(**kw),
    "binary-1w1a": lambda **kw: BinaryMlpDigits(binary_weights=True, **kw),
    "spiking": lambda **kw: SpikingMlpDigits(**kw),
}
_BASE = {"binary": "binary-mlp-digits", "binary-1w1a": "binary-1w1a-mlp-digits", "spiking": "spiking-mlp-digits"}


def _label(kind: str, slope: float | None) -> str:
    return kind if slope is None else f"{kind}-{_LETTER[kind]}{slope:g}"


def problems() -> list:
    out = []
    for net in pick("SG_NETWORKS", NETWORKS):
        for kind in pick("SG_KINDS", KINDS):
            for slope in SLOPES[kind]:
                out.append(NETWORKS[net](surrogate=kind, slope=slope, name=f"{_BASE[net]}+{_label(kind, slope)}"))
    return out


study = Study(
    name="surrogate-gradients",
    problems=problems(),
    solvers=[Adam(lr=1e-3)],
    seeds=[int(s) for s in pick("SG_SEEDS", range(5))],
    budget=int(os.environ.get("SG_EPOCHS", "30")),
)
