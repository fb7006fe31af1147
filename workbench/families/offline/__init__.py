"""The offline family: a visible data set, a hidden oracle, and solvers that only see the data.

An :class:`OfflineSolver` is given an :class:`OfflineData` (never the problem) and proposes ``k`` designs at
once (``k`` = the study's budget, the problems' ``candidates`` unless given); :meth:`Offline.drive` scores
them with the oracle and records each as one step (step = the candidate's index). The results carry the
normalized scores as Design-Bench reports them, ``(y - y_min) / (y_max - y_min)`` with ``y_min`` and
``y_max`` over the task's full data, seen and unseen, and their 100th, 80th and 50th percentiles over each
seed's candidates (the leaderboard's ``p100``, ``p80``, ``p50``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from workbench.cell import CellRun
from workbench.errors import SolverError, WorkbenchError
from workbench.families.offline.problem import (
    Offline,
    OfflineData,
    OfflineProblem,
    OracleAccessError,
    scoring,
    validate_offline,
)
from workbench.families.offline.solver import OfflineSolver, generator
from workbench.family import Family, Metric, families
from workbench.problem import Problem

QS = (100.0, 80.0, 50.0)


def _percentile(q: float) -> Metric:
    return Metric(
        f"p{q:g}", f"normalized {q:g}th percentile of {{steps}} candidates",
        lambda ds: ds["percentile"].sel(q=q).drop_vars("q"), lower_is_better=False,
        note="higher is better; (y - y_min) / (y_max - y_min) over the task's full data",
    )


class OfflineFamily(Family):
    name = "offline"
    summary = "a visible data set and a hidden oracle; solvers propose designs from the data alone"
    metrics = tuple(_percentile(q) for q in QS)

    def default_budget(self, problems: Sequence[Problem]) -> int:
        return max(int(getattr(p, "candidates", 128)) for p in problems)

    problem_class = OfflineProblem

    def validate(self, problem: Problem, where: str) -> None:
        validate_offline(problem, where)  # type: ignore[arg-type]

    def problem_variables(self, problem: Problem) -> Mapping[str, float]:
        lo, hi = problem.score_range()  # type: ignore[attr-defined]
        return {"y_min": float(lo), "y_max": float(hi)}

    def drive(self, run: CellRun) -> None:
        """Propose ``k`` designs from the visible data, score them with the oracle, record each. A cell cut
        off while recording proposes again (same seed, same designs) and records the candidates not yet
        stored."""
        k = run.budget.evaluations
        if run.done or not k:
            return
        problem, solver = run.problem, run.solver
        data = problem.dataset()  # type: ignore[attr-defined]
        run.replay_from_start()  # the whole batch is proposed again; the candidates recorded stand
        try:
            X = solver.propose(data, k, run.context)  # type: ignore[attr-defined]
        except OracleAccessError as e:
            raise SolverError(f"solver {solver.label!r} is refused: {e}") from e
        except WorkbenchError:
            raise
        except Exception as e:  # the solver broke: one line naming it
            raise SolverError(f"solver {solver.label!r} failed to propose on {problem.name!r}: "
                              f"{type(e).__name__}: {e}") from e
        X = run.checked(X, k, f"propose(data, {k})")
        with scoring():
            evaluation = run.evaluate(X.cpu(), problem.oracle)  # type: ignore[attr-defined]
        run.record(X, evaluation.values, evaluation.reasons)

    def extend(self, ds: xr.Dataset) -> xr.Dataset:
        normalized = (ds["value"] - ds["y_min"]) / (ds["y_max"] - ds["y_min"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells (not run, or all failed) stay NaN
            pct = np.nanpercentile(normalized.transpose("problem", "solver", "seed", "step").values, QS, axis=-1)
        ds["normalized"] = normalized.transpose("problem", "solver", "seed", "step")
        ds["percentile"] = (("problem", "solver", "seed", "q"), np.moveaxis(pct, 0, -1))
        return ds.assign_coords(q=list(QS))


family = families.add(OfflineFamily())

__all__ = ["Offline", "OfflineData", "OfflineFamily", "OfflineProblem", "OfflineSolver", "OracleAccessError",
           "family", "generator", "scoring", "validate_offline"]
