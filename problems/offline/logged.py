"""Any queryable problem as an offline task, from evaluations already logged (a finished study's trials).

``Logged(problem, X, y)``: the logged rows and values (in the problem's own units and direction) become
the data; the oracle is the problem's ``evaluate``, negated when the problem is minimized (offline tasks
are maximized). ``score_range()`` is the range of the logged scores, so a normalized score above 1 beats
every logged evaluation. ``percentile`` cuts the visible set to the low part (default 100: all of it).
Failed evaluations (non-finite values) are left out.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from problems.offline._common import check_percentile, lower_percentile_mask, safe_rows
from workbench.errors import InvalidProblemError
from workbench.families.offline import OfflineProblem
from workbench.problem import Problem, Queryable, resolve_problem, validate_problem


class Logged(OfflineProblem):
    """Logged evaluations of ``problem`` as an offline task (see the module docstring).

    ``X``: ``n x dim`` native rows; ``y``: their ``n`` values as the problem reported them;
    ``percentile``: the visible cut; ``name``: default ``logged-{problem.name}``."""

    def __init__(self, problem: Problem | str, X: Tensor, y: Tensor, *, percentile: float = 100.0,
                 name: str | None = None, source: str | None = None) -> None:
        inner = resolve_problem(problem)
        if not isinstance(inner, Queryable):
            raise InvalidProblemError(f"Logged.problem must be queryable (have evaluate), but {inner.name!r} has not")
        self.inner = inner
        self.sign = -1.0 if inner.direction == "minimize" else 1.0
        X = torch.as_tensor(X, dtype=torch.float64).detach().cpu()
        y = torch.as_tensor(y, dtype=torch.float64).detach().cpu().reshape(-1)
        if X.ndim != 2 or X.shape[1] != inner.space.dim:
            raise InvalidProblemError(f"Logged.X must be n x {inner.space.dim} native rows, but got {tuple(X.shape)}")
        if y.shape[0] != X.shape[0]:
            raise InvalidProblemError(f"Logged.y must have one value per row of X ({X.shape[0]}), but got {y.shape[0]}")
        inside = inner.space.contains(X)
        if not bool(inside.all()):
            raise InvalidProblemError(
                f"Logged.X must lie inside {inner.name!r}'s space, but row {int((~inside).nonzero()[0])} does not")
        ok = torch.isfinite(y)
        self.X, self.y = X[ok], self.sign * y[ok]
        if self.y.numel() < 2 or not bool(self.y.max() > self.y.min()):
            raise InvalidProblemError(
                f"Logged.y must hold at least two different finite values, but got {int(ok.sum())} finite "
                f"of {y.numel()} (range {self.y.min().item() if self.y.numel() else None}..)"
            )
        self.percentile = check_percentile("Logged", percentile)
        self.name = name or f"logged-{inner.name}"
        self.space = inner.space
        self.optimum = None if inner.optimum is None else self.sign * float(inner.optimum)
        self.optimizers = inner.optimizers
        self.params = {"problem": inner.name, "problem_params": dict(inner.params), "logged": int(self.y.numel()),
                       "percentile": self.percentile, **({"source": source} if source else {})}
        validate_problem(self, f"problem {self.name!r}")

    @classmethod
    def from_study(cls, problem: Problem | str, storage: str, study: str, **options: Any) -> Logged:
        """The evaluations recorded in an Optuna storage (URL, e.g. ``sqlite:///runs/x/optuna.db``).

        ``study`` is one cell's key (``{study}/{problem}/{solver}/{seed}``) or a study's name: then
        every cell of that study on ``problem`` is gathered (every solver, every seed)."""
        from workbench.recorder import Store, redact, trials_to_history

        inner = resolve_problem(problem)
        store = Store(storage, retry_for=10.0)
        names = sorted(s.study_name for s in store.studies())
        if study in names:
            keys = [study]
        else:
            prefix = f"{study}/{inner.name}/"
            keys = [n for n in names if n.startswith(prefix)]
        if not keys:
            shown = ", ".join(names[:5]) or "none"
            raise InvalidProblemError(
                f"Logged.from_study: study={study!r} is neither a cell key nor a study with cells on "
                f"{inner.name!r} in {redact(storage)} (cells there: {shown}{', ...' if len(names) > 5 else ''})"
            )
        histories = [trials_to_history(store.trials(store.study_id(k)), inner.space) for k in keys]
        X = torch.cat([h.X for h in histories])
        y = torch.cat([h.values for h in histories])
        return cls(inner, X, y, source=f"{redact(storage)}#{study}", **options)

    def visible(self) -> tuple[Tensor, Tensor]:
        keep = lower_percentile_mask(self.y, self.percentile)
        return self.X[keep], self.y[keep]

    def score(self, X: Tensor) -> Tensor:
        rows, inside = safe_rows(self.space, X)
        values = self.sign * self.inner.evaluate(rows).to(torch.float64)
        return torch.where(inside.to(values.device), values, torch.full_like(values, float("nan")))

    def score_range(self) -> tuple[float, float]:
        return float(self.y.min()), float(self.y.max())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "inner": self.inner.describe()}
