"""Best-of-N: score independent Gaussian noises and keep the best (the reference code's ``imageselect``).

Every step scores ``batch`` fresh noises of the cell's seeded stream (the same stream ReNO starts from, so
ReNO's first image is best-of-N's first); the answer is the noise of highest observed reward, the family's
pick. At a budget of N reward calls it is best-of-N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench.errors import InvalidConfigError
from workbench.families.noise.oracle import Oracle
from workbench.families.noise.solver import NoiseRun, NoiseSolver
from workbench.solver import CellContext, solvers


@solvers.register("best-of-n")
@dataclass(frozen=True, kw_only=True)
class BestOfN(NoiseSolver):
    """Independent noises, the best kept."""

    #: noises generated and scored per step (one batch through the generator and the rewards)
    batch: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise InvalidConfigError(f"BestOfN.batch must be an int >= 1, but got {self.batch!r}")

    def start(self, oracle: Oracle, cell: CellContext) -> NoiseRun:
        return _BestOfNRun(self.batch, oracle)


class _BestOfNRun(NoiseRun):
    def __init__(self, batch: int, oracle: Oracle) -> None:
        self.batch, self.oracle, self.drawn = batch, oracle, 0

    def step(self) -> None:
        left = self.oracle.left()
        n = self.batch if left is None else max(1, min(self.batch, left))
        start, self.drawn = self.drawn, self.drawn + n  # a batch that fails is not drawn again
        self.oracle.value(self.oracle.sample(n, start))

    def state_dict(self) -> dict[str, Any]:
        return {"drawn": self.drawn}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.drawn = int(state["drawn"])


__all__ = ["BestOfN"]
