"""The offline contract, as :mod:`workbench.testing` has the general ones: the test suite runs it over every
registered offline task, and users can run it on their own (``check_offline_problem(MyTask())``)."""

from __future__ import annotations

import json

import torch

from workbench.families.offline.problem import (
    OfflineData,
    OfflineProblem,
    OracleAccessError,
    scoring,
    validate_offline,
)
from workbench.problem import Problem, validate_problem


def check_offline_problem(problem: Problem, *, n: int = 64) -> None:
    """Raise ``AssertionError`` unless ``problem`` keeps the offline contract: declaration valid; the
    visible data inside the space, finite, within ``score_range()``; the oracle refuses outside
    :func:`~workbench.families.offline.scoring` and, inside it, gives the visible rows their visible scores, batched
    as row by row; ``describe()`` is JSON."""
    validate_problem(problem)
    assert isinstance(problem, OfflineProblem), f"{problem.name}: not an OfflineProblem"
    validate_offline(problem)
    data = problem.dataset()
    assert isinstance(data, OfflineData) and len(data) > 0, f"{problem.name}: empty visible data"
    assert bool(problem.space.contains(data.X).all()), f"{problem.name}: visible rows outside the space"
    lo, hi = problem.score_range()
    assert lo <= float(data.y.min()) and float(data.y.max()) <= hi, f"{problem.name}: visible y outside score_range"
    X, y = data.X[:n], data.y[:n]
    assert torch.equal(problem.space.encode(problem.space.decode(X)), X), f"{problem.name}: records do not round-trip"
    try:
        problem.oracle(X)
    except OracleAccessError:
        pass
    else:
        raise AssertionError(f"{problem.name}: the oracle answered outside scoring()")
    with scoring():
        scores = problem.oracle(X)
        rows = torch.cat([problem.oracle(X[i : i + 1]) for i in range(min(len(X), 8))])
    assert tuple(scores.shape) == (len(X),), f"{problem.name}: oracle returned shape {tuple(scores.shape)}"
    torch.testing.assert_close(scores.to(torch.float64), y, msg=f"{problem.name}: oracle disagrees with visible y")
    torch.testing.assert_close(rows, scores[: len(rows)], msg=f"{problem.name}: batched and row-wise scores differ")
    json.dumps(problem.describe())
