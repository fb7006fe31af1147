"""``bo-gp``'s acquisition search, kernel and noise, measured: the default (starts at the incumbent, RBF
kernel, qLogNEI with a fitted noise), without the starts at the incumbent, with a Matérn-5/2 kernel, as a
noise-free EI (qLogEI on the observed best, noise fixed at 1e-6 of the data's variance), and with the
acquisition search stopping at a relative change of 1e-9 instead of 1e-6, beside Optuna's GP sampler, on
Branin and Hartmann-6; 50 evaluations, 10 seeds.

    .venv/bin/workbench run studies/bo_acquisition_search.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bo_table.py runs/bo-acquisition-search/results.nc

See docs/bo.md ("Acquisition search and kernel") for the measured table.
"""

from problems.synthetic import Branin, Hartmann
from workbench import Study
from workbench.models import GPSurrogate
from workbench.solvers.bo import AcquisitionConfig, BoGP

study = Study(
    name="bo-acquisition-search",
    problems=[Branin(), Hartmann(dim=6)],
    solvers=[
        BoGP(),
        BoGP(acquisition=AcquisitionConfig(local_starts=0), name="bo-gp-no-local-starts"),
        BoGP(surrogate=GPSurrogate(kernel="matern52"), name="bo-gp-matern52"),
        BoGP(acquisition=AcquisitionConfig(acquisition="qlogei"), surrogate=GPSurrogate(noise=1e-6),
             name="bo-gp-noise-free-ei"),
        BoGP(acquisition=AcquisitionConfig(ftol=1e-9), name="bo-gp-ftol-1e-9"),
        "optuna-gp",
    ],
    seeds=range(10),
    budget=50,
)
