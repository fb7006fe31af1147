"""Which of Optuna's GP choices close `bo-gp`'s regret gap, one change at a time: BoTorch's ``SingleTaskGP``
with qLogNEI (the earlier default), then the light GP (Matérn-5/2 ARD, fitted output scale, Optuna's
priors, noise floor 1e-6) with qLogNEI, with analytic LogEI, and from there one change each: the
dimension-scaled lengthscale prior, the noise fixed at 1e-6, the RBF kernel, 2,048 raw samples for the
acquisition search instead of 256, no starts at the incumbent, 5 and 20 initial points instead of 10; then,
as a second round, 5 initial points together with 2,048 raw samples or with the dimension-scaled prior;
later, the observed values power-transformed before the fit (``AcquisitionConfig(outputs="power")``) —
beside Optuna's GP sampler, on the five low-dimensional problems of the BO benchmark; 50 evaluations,
10 seeds.

    .venv/bin/workbench run studies/bo_gp_choices.py --runs-dir runs --workers 2
    .venv/bin/python scripts/bo_table.py runs/bo-gp-choices/results.nc

Parts: ``BO_CHOICES_SOLVERS`` / ``BO_CHOICES_PROBLEMS`` (comma-separated names). docs/bo.md has the table.
"""

from problems.synthetic import Ackley, Branin, Hartmann, Levy, Rosenbrock
from workbench import Study
from workbench.models import GPSurrogate, LightGPSurrogate
from workbench.solvers.bo import AcquisitionConfig, BayesOpt
from workbench.study import pick

LOGEI, QLOGNEI = AcquisitionConfig(acquisition="logei"), AcquisitionConfig(acquisition="qlognei")
SOLVERS = [
    BayesOpt(surrogate=GPSurrogate(), acquisition=QLOGNEI, name="botorch-gp-qlognei"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=QLOGNEI, name="light-gp-qlognei"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=LOGEI, name="light-gp-logei"),
    BayesOpt(surrogate=LightGPSurrogate(prior="dim-scaled"), acquisition=LOGEI, name="light-gp-logei-dim-scaled"),
    BayesOpt(surrogate=LightGPSurrogate(noise=1e-6), acquisition=LOGEI, name="light-gp-logei-noise-1e-6"),
    BayesOpt(surrogate=LightGPSurrogate(kernel="rbf"), acquisition=LOGEI, name="light-gp-logei-rbf"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=AcquisitionConfig(acquisition="logei", raw_samples=2048),
             name="light-gp-logei-2048-raw"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=AcquisitionConfig(acquisition="logei", local_starts=0),
             name="light-gp-logei-no-local-starts"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=LOGEI, n_initial=5, name="light-gp-logei-5-initial"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=LOGEI, n_initial=20, name="light-gp-logei-20-initial"),
    # second round: the fewer initial points (the one change that beat optuna-gp on 4 of 5) with each of the
    # two changes that helped elsewhere
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=AcquisitionConfig(acquisition="logei", raw_samples=2048),
             n_initial=5, name="light-gp-logei-5-initial-2048-raw"),
    BayesOpt(surrogate=LightGPSurrogate(prior="dim-scaled"), acquisition=LOGEI, n_initial=5,
             name="light-gp-logei-5-initial-dim-scaled"),
    BayesOpt(surrogate=LightGPSurrogate(), acquisition=AcquisitionConfig(acquisition="logei", outputs="power"),
             name="light-gp-logei-power"),
    "optuna-gp",
]
PROBLEMS = [Branin(), Hartmann(dim=6), Ackley(dim=10), Levy(dim=10), Rosenbrock(dim=6)]

study = Study(
    name="bo-gp-choices",
    problems=pick("BO_CHOICES_PROBLEMS", PROBLEMS, lambda p: p.name),
    solvers=pick("BO_CHOICES_SOLVERS", SOLVERS, lambda s: s if isinstance(s, str) else s.label),
    seeds=range(10),
    budget=50,
)
