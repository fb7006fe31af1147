"""Noise-search solvers: methods that move or draw noises, every image they score paid through the oracle.

A :class:`NoiseSolver` declaration makes one :class:`NoiseRun` per cell (``start(oracle, context)``); the
family's loop calls :meth:`NoiseRun.step` once per step and records every image the step scored (the oracle's
ledger) as a row. A run's state is checkpointed through :meth:`NoiseRun.state_dict` after every step, so a
killed cell resumes from its last step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from workbench.families.noise.oracle import Oracle
from workbench.solver import CellContext, Solver


class NoiseRun(ABC):
    """The state of one noise-search solver on one cell."""

    @abstractmethod
    def step(self) -> None:
        """One step: at least one counted call of the oracle (the family records what it scored)."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to go on from here (tensors and plain numbers)."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, kw_only=True)
class NoiseSolver(Solver):
    """Base of noise-search solvers: keyword-only frozen dataclasses of options implementing :meth:`start`."""

    family: ClassVar[str] = "noise"

    @abstractmethod
    def start(self, oracle: Oracle, cell: CellContext) -> NoiseRun:
        """Make the state of one run."""


__all__ = ["NoiseRun", "NoiseSolver"]
