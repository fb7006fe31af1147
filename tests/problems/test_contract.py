"""Every registered problem keeps the problem contract (workbench.testing.check_problem)."""

from __future__ import annotations

import pytest

from problems.synthetic import Ackley, Griewank, Hartmann, Levy, Michalewicz, Rosenbrock, StyblinskiTang
from workbench.families.bilevel import BilevelProblem
from workbench.families.bilevel.testing import check_bilevel_problem
from workbench.families.noise import NoiseProblem
from workbench.families.noise.testing import check_noise_problem
from workbench.families.offline import OfflineProblem
from workbench.families.offline.testing import check_offline_problem
from workbench.families.training import TrainingProblem
from workbench.families.training.testing import check_training_problem
from workbench.problem import catalog
from workbench.testing import check_problem

#: problems whose construction needs arguments (model folders): their own tests check the contract
NEEDS_ARGUMENTS = {"diffusion-noise": "tests/problems/test_diffusion_noise.py, on tiny components"}


@pytest.mark.parametrize("name", catalog.names())
def test_registered_problem_keeps_the_contract(name):
    if name in NEEDS_ARGUMENTS:
        pytest.skip(f"{name} needs model arguments; its contract is checked in {NEEDS_ARGUMENTS[name]}")
    problem = catalog.get(name)()
    if isinstance(problem, OfflineProblem):
        check_offline_problem(problem)
    elif isinstance(problem, TrainingProblem):
        check_training_problem(problem)
    elif isinstance(problem, BilevelProblem):
        check_bilevel_problem(problem)
    elif isinstance(problem, NoiseProblem):
        check_noise_problem(problem)
    else:
        check_problem(problem)


@pytest.mark.parametrize(
    "problem",
    [Hartmann(dim=3), Hartmann(dim=4), Ackley(dim=10), Levy(dim=10), Rosenbrock(dim=6), Michalewicz(dim=5),
     Griewank(dim=50), StyblinskiTang(dim=8)],
    ids=lambda p: p.name,
)
def test_dimension_is_a_parameter(problem):
    check_problem(problem)
    assert problem.name.endswith(str(problem.space.dim))


def test_user_function_problem_keeps_the_contract(mixed_problem):
    check_problem(mixed_problem)
