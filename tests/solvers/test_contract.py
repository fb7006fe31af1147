"""Every registered solver keeps the solver contract (workbench.testing.check_solver)."""

from __future__ import annotations

import pytest

from problems.synthetic import Branin
from workbench.solvers import solvers
from workbench.testing import check_solver, run_cells, trials_in_fresh_process

BUDGET = 12
#: the black-box solvers (offline solvers propose from a data set: tests/solvers/test_offline_solvers.py;
#: training solvers step on minibatches: tests/families/training/)
#: ``bo-saas`` is left out: its default, NUTS with the paper's 768 steps, takes minutes per fit and needs the
#: saas extra; it shares the loop of ``bo-saas-map`` (here), and tests/solvers/test_saas.py tests its fit
ONLINE = [n for n in solvers.names() if solvers.get(n).family == "blackbox" and n != "bo-saas"]


@pytest.mark.parametrize("name", ONLINE)
def test_solver_keeps_the_contract_on_branin(name):
    check_solver(name, Branin(), budget=BUDGET)


@pytest.mark.parametrize("name", ONLINE)
def test_solver_handles_a_mixed_space_in_batches(name, mixed_problem):
    check_solver(name, mixed_problem, budget=BUDGET, batch_size=3)


def test_same_seed_gives_the_same_trials_in_a_fresh_process():
    names = ONLINE
    fresh = trials_in_fresh_process(names, BUDGET)
    for name in names:
        here = run_cells(Branin(), name, seeds=(3,), budget=BUDGET)[3]
        assert fresh[name] == here, f"{name}: a fresh process gave other trials for the same seed"
