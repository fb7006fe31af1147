"""Offline problems: a visible data set and a hidden oracle.

An :class:`OfflineProblem` offers :meth:`~OfflineProblem.dataset` (the visible ``(X, y)`` pairs) and keeps
its oracle behind :meth:`~OfflineProblem.oracle`, which refuses every call made outside the family loop's
scoring step (:func:`scoring`). Offline problems are maximized (every task of the field is stated that
way); a task built from a function to minimize scores designs by the negated value.
"""

from __future__ import annotations

import contextlib
import contextvars
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError, WorkbenchError
from workbench.problem import Problem
from workbench.space import Space


class OracleAccessError(WorkbenchError, PermissionError):
    """An offline problem's oracle was called outside the loop's scoring step."""


_SCORING: contextvars.ContextVar[bool] = contextvars.ContextVar("workbench_offline_scoring", default=False)


@contextlib.contextmanager
def scoring() -> Iterator[None]:
    """Open the oracles for the block: the family's loop scores proposals inside it (and so may tests)."""
    token = _SCORING.set(True)
    try:
        yield
    finally:
        _SCORING.reset(token)


@dataclass(frozen=True)
class OfflineData:
    """What an offline solver sees: the space and the visible designs with their scores.

    ``X`` is ``n x space.dim`` float64 native rows (a ``Sequence`` position holds its letter's index);
    ``y`` is ``n`` float64 scores, higher is better."""

    space: Space
    X: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.X.shape[1] != self.space.dim:
            raise InvalidProblemError(f"OfflineData.X must be n x {self.space.dim}, but got {tuple(self.X.shape)}")
        if self.y.shape != (self.X.shape[0],):
            raise InvalidProblemError(f"OfflineData.y must have {self.X.shape[0]} values, but got {tuple(self.y.shape)}")
        if not bool(torch.isfinite(self.y).all()):
            raise InvalidProblemError("OfflineData.y must be finite")

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def top(self, k: int) -> OfflineData:
        """The ``k`` best visible designs, best first."""
        order = torch.argsort(self.y, descending=True)[: max(0, int(k))]
        return OfflineData(self.space, self.X[order], self.y[order])

    def to(self, device: torch.device | str) -> OfflineData:
        return OfflineData(self.space, self.X.to(device), self.y.to(device))


@runtime_checkable
class Offline(Protocol):
    """A problem with a visible data set and a hidden oracle (see :class:`OfflineProblem`)."""

    def dataset(self) -> OfflineData: ...


class OfflineProblem(Problem):
    """Base of offline tasks. Subclasses set ``name`` and ``space`` and implement:

    * :meth:`visible` -> ``(X, y)``: the data solvers get (native rows, scores);
    * :meth:`score` -> scores of native rows: the hidden oracle;
    * :meth:`score_range` -> ``(y_min, y_max)`` over the task's full data, for normalization.

    Solvers never receive the problem; the family's loop calls :meth:`oracle`, which only answers inside
    :func:`scoring`."""

    direction = "maximize"
    family: ClassVar[str] = "offline"
    #: how many designs each solver proposes per seed, unless the study says otherwise
    candidates: ClassVar[int] = 128

    _cached: OfflineData | None = None

    @abstractmethod
    def visible(self) -> tuple[Tensor, Tensor]:
        """The visible designs (``n x dim`` native rows) and their scores (``n``)."""

    @abstractmethod
    def score(self, X: Tensor) -> Tensor:
        """The hidden oracle: scores of ``m x dim`` native rows. Call :meth:`oracle` instead."""

    @abstractmethod
    def score_range(self) -> tuple[float, float]:
        """``(y_min, y_max)`` of the oracle's scores over the task's full data (seen and unseen)."""

    def dataset(self) -> OfflineData:
        if self._cached is None:
            X, y = self.visible()
            self._cached = OfflineData(self.space, X.detach().to("cpu", torch.float64),
                                       y.detach().to("cpu", torch.float64).reshape(-1))
        return self._cached

    def oracle(self, X: Tensor) -> Tensor:
        """Scores of proposed designs; only inside :func:`scoring` (the loop's scoring step)."""
        if not _SCORING.get():
            raise OracleAccessError(
                f"the oracle of offline problem {self.name!r} is hidden: only the study's loop scores proposals"
            )
        return self.score(X)

    def normalize(self, y: Tensor) -> Tensor:
        """Design-Bench normalization ``(y - y_min) / (y_max - y_min)`` over the full data."""
        lo, hi = self.score_range()
        return (y - lo) / (hi - lo)

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        lo, hi = self.score_range()
        described.update(kind="offline", score_range=[lo, hi], visible=len(self.dataset()))
        return described


def validate_offline(problem: OfflineProblem, where: str = "problem") -> None:
    if problem.direction != "maximize":
        raise InvalidProblemError(f"{where}.direction must be 'maximize' for an offline problem (scores are maximized)")
    lo, hi = problem.score_range()
    if not (hi > lo):
        raise InvalidProblemError(f"{where}.score_range() must have y_max > y_min, but got ({lo}, {hi})")
