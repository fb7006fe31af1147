"""The model's view of a space: real and integer columns in the unit cube, categorical columns (and every
position of a ``Sequence``) one-hot. Proposals come back through a projection: one-hot blocks to their
largest entry, integers rounded, everything clamped into the space."""

from __future__ import annotations

import torch
from torch import Tensor

from workbench.space import Space


class Encoding:
    """Maps native rows (``n x space.dim``) to model inputs (``n x dim``) and back."""

    def __init__(self, space: Space) -> None:
        self.space = space
        numeric, blocks, col = [], [], 0
        width = (space.bounds[1] - space.bounds[0]).long() + 1
        for j, kind in enumerate(space.column_kinds):
            if kind == "categorical":
                blocks.append((j, col, int(width[j])))
                col += int(width[j])
            else:
                numeric.append((j, col))
                col += 1
        #: (native column, model column) of every real or integer column
        self.numeric = numeric
        #: (native column, first model column, number of choices) of every categorical column
        self.blocks = blocks
        self.dim = col

    @property
    def is_relaxed(self) -> bool:
        """True when some column is discrete (proposals must be projected)."""
        return any(k != "real" for k in self.space.column_kinds)

    def encode(self, X: Tensor) -> Tensor:
        U = self.space.to_unit(X)
        Z = torch.zeros(X.shape[0], self.dim, dtype=X.dtype, device=X.device)
        for j, c in self.numeric:
            Z[:, c] = U[:, j]
        for j, c, w in self.blocks:
            Z[:, c : c + w] = torch.nn.functional.one_hot(X[:, j].round().long(), w).to(X.dtype)
        return Z

    def decode(self, Z: Tensor) -> Tensor:
        """Model inputs (relaxed) -> native rows inside the space."""
        Z = Z.detach()
        U = torch.zeros(Z.shape[0], self.space.dim, dtype=Z.dtype, device=Z.device)
        for j, c in self.numeric:
            U[:, j] = Z[:, c]
        for j, c, w in self.blocks:
            U[:, j] = (Z[:, c : c + w].argmax(-1).to(Z.dtype) + 0.5) / w
        return self.space.from_unit(U)

    def project(self, Z: Tensor) -> Tensor:
        """The model input of the native row a relaxed input decodes to."""
        return self.encode(self.decode(Z))


def sobol_rows(space: Space, seed: int, start: int, n: int, device: torch.device) -> Tensor:
    """Rows ``start .. start + n - 1`` of the space's scrambled Sobol sequence for ``seed`` (native rows)."""
    engine = torch.quasirandom.SobolEngine(space.dim, scramble=True, seed=seed)
    if start:
        engine.fast_forward(start)
    return space.from_unit(engine.draw(n, dtype=torch.float64)).to(device)
