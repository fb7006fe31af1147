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


#: each solver's seed-0 rows on Branin from the contract test, compared below with a fresh process's
SEED0: dict[str, list[list[float]]] = {}


@pytest.mark.parametrize("name", ONLINE)
def test_solver_keeps_the_contract_on_branin(name):
    SEED0[name] = check_solver(name, Branin(), budget=BUDGET)[0]


@pytest.mark.parametrize("name", ONLINE)
def test_solver_handles_a_mixed_space_in_batches(name, mixed_problem):
    check_solver(name, mixed_problem, budget=BUDGET, batch_size=3)


def test_same_seed_gives_the_same_trials_in_a_fresh_process():
    names = ONLINE
    fresh = trials_in_fresh_process(names, BUDGET, seed=0)
    for name in names:
        # this process's rows: from the contract test above when it ran first, else run here
        here = SEED0[name] if name in SEED0 else run_cells(Branin(), name, seeds=(0,), budget=BUDGET)[0]
        assert fresh[name] == here, f"{name}: a fresh process gave other trials for the same seed"
