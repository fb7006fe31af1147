"""scripts/ehrlich_proposals.py: feasibility and distance of proposals on an Ehrlich instance."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from workbench.problem import resolve_problem

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ehrlich_proposals.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("ehrlich_proposals", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_visible_designs_the_optimum_and_a_banned_transition(script):
    problem = resolve_problem("ehrlich-l32")
    visible = problem.visible()[0].numpy().astype(np.int64)
    stats = script.proposal_stats(problem, visible[:4])
    assert stats["infeasible"] == 0.0 and stats["unchanged"] == 1.0 and stats["moved"] == 0.0

    optimum = problem.optimal_solution().numpy().astype(np.int64)[None, :]
    stats = script.proposal_stats(problem, optimum)
    assert stats["infeasible"] == 0.0 and stats["best"] == 1.0 and stats["unchanged"] == 0.0

    a, b = map(int, np.argwhere(problem.transition.numpy() == 0)[0])
    banned = visible[:1].copy()
    banned[0, 10], banned[0, 11] = a, b  # one banned transition inside, two letters moved at most
    stats = script.proposal_stats(problem, banned)
    assert stats["infeasible"] == 1.0 and stats["best"] == 0.0 and 1 <= stats["moved"] <= 2
