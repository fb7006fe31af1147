"""Budgets: how much a cell may spend, in evaluations or in units of one cost axis, and when it is finished.

``Budget(evaluations=40)`` stops a cell after 40 recorded steps; ``Budget(calls=1000)`` after the step whose
cumulative ``calls`` reaches 1000 (the step that crosses the budget is the last one). Which axes exist is the
family's (and the problems') business; a study checks the axis when it is declared.

Whether a cell is finished is decided here and nowhere else: the runner marks a cell's Optuna study with
the budget it finished (``finished_budget``), and :func:`finished` compares that mark with the budget asked
now. A cell finished under a smaller budget is not finished under a larger one: it resumes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workbench.errors import InvalidStudyError

EVALUATIONS = "evaluations"
#: the cell attribute holding the budget a cell finished under
FINISHED = "finished_budget"


class Budget:
    """A budget on exactly one axis: ``Budget(evaluations=40)`` or ``Budget(<axis>=amount)``."""

    __slots__ = ("axis", "amount")

    def __init__(self, **axis: float) -> None:
        if len(axis) != 1:
            raise InvalidStudyError(f"Budget takes exactly one axis, e.g. Budget(evaluations=40), but got {axis or '{}'}")
        (name, amount), = axis.items()
        if name == EVALUATIONS:
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
                raise InvalidStudyError(f"Budget.evaluations must be an int >= 1, but got evaluations={amount!r}")
        elif isinstance(amount, bool) or not isinstance(amount, (int, float)) or not (math.isfinite(amount) and amount > 0):
            raise InvalidStudyError(f"Budget.{name} must be a finite number > 0, but got {name}={amount!r}")
        self.axis = name
        self.amount = amount

    @classmethod
    def of(cls, value: int | Budget) -> Budget:
        """An int means evaluations; a Budget is itself."""
        if isinstance(value, Budget):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidStudyError(f"Study.budget must be an int >= 1 or a Budget, but got budget={value!r}")
        if value < 1:
            raise InvalidStudyError(f"Study.budget must be an int >= 1, but got budget={value!r}")
        return cls(evaluations=value)

    @classmethod
    def from_json(cls, value: Any) -> Budget | None:
        """A budget as :meth:`describe` wrote it (a bare int: evaluations, as older runs wrote it)."""
        if isinstance(value, Mapping) and len(value) == 1:
            (axis, amount), = value.items()
            return cls(**{str(axis): amount})
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1:
            return cls(evaluations=int(value))
        return None

    @property
    def evaluations(self) -> int | None:
        """The number of steps, when the budget is counted in evaluations."""
        return int(self.amount) if self.axis == EVALUATIONS else None

    def spent(self, steps: int, costs: Mapping[str, float]) -> bool:
        """Whether ``steps`` recorded steps with cumulative ``costs`` exhaust this budget."""
        used = steps if self.axis == EVALUATIONS else costs.get(self.axis, 0.0)
        return used >= self.amount * (1 - 1e-12)  # sums of costs such as 0.1 land on the budget, not just below

    def covers(self, other: Budget) -> bool:
        """A cell finished under this budget is finished under ``other``."""
        return self.axis == other.axis and self.amount >= other.amount

    def describe(self) -> dict[str, float]:
        return {self.axis: self.amount}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Budget) and (self.axis, self.amount) == (other.axis, other.amount)

    def __hash__(self) -> int:
        return hash((self.axis, self.amount))

    def __repr__(self) -> str:
        return f"Budget({self.axis}={self.amount!r})"

    def __str__(self) -> str:
        return f"{self.amount:g} {self.axis}"


def finished(attrs: Mapping[str, Any], budget: Budget) -> bool:
    """Whether a cell whose Optuna study carries ``attrs`` is finished under ``budget``."""
    mark = Budget.from_json(attrs.get(FINISHED))
    return mark is not None and mark.covers(budget)
