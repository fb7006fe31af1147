"""ROOT beside gradient ascent on the 5-network ensemble on four more transcription factors of the TFBind8
tables (the default factor, SIX6_REF_R1, is in studies/offline_mbo.py), 8 seeds, 128 candidates per seed.
``root`` here is ROOT's CPU scale as shipped until 2026-12-07, the GP fitted on 1,000 rows; ``root-fit4000``
fits it on 4,000, the one change of studies/offline_root_cpu.py that helped on the default factor, and the
shipped CPU scale since (on designs of up to 256 features, TFBind8's 24 among them).

    .venv/bin/workbench run studies/offline_tfbind8_factors.py --runs-dir runs --workers 2
    .venv/bin/python scripts/offline_table.py runs/offline-tfbind8-factors/results.nc

``OFFLINE_TF_PROBLEMS``, ``OFFLINE_TF_SOLVERS`` and ``OFFLINE_TF_SEEDS`` (comma-separated) run a part.
"""

from problems.offline import TFBind8
from workbench import Study
from workbench.solvers.offline import ROOT
from workbench.study import pick

FACTORS = ["CRX_REF_R1", "HESX1_REF_R1", "NKX2-5_REF_R1", "PAX3_REF_R1"]

study = Study(
    name="offline-tfbind8-factors",
    problems=pick("OFFLINE_TF_PROBLEMS", [TFBind8(f, name=f"tfbind8-{f}") for f in FACTORS], name=lambda p: p.name),
    solvers=pick(
        "OFFLINE_TF_SOLVERS",
        [ROOT(scale="cpu", n_fit=1000, name="root"), ROOT(scale="cpu", n_fit=4000, name="root-fit4000"), "ga-mean"],
        name=lambda s: s if isinstance(s, str) else s.label,
    ),
    seeds=[int(s) for s in pick("OFFLINE_TF_SEEDS", range(8))],
    budget=128,
)
