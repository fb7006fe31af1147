"""The networks' view of a space, as Design-Bench's baselines have it.

* a ``Real`` or ``Integer`` column goes to the unit cube (log scale where declared);
* a ``Categorical`` column, and every position of a ``Sequence``, becomes the **logits of a softened
  one-hot**: ``p = soft * onehot + (1 - soft) / V``, ``log p`` less the first class's log-probability, so a
  column with ``V`` options takes ``V - 1`` features (Design-Bench's ``map_to_logits``, ``soft = 0.6``);
* every feature is then standardized with the visible data's mean and standard deviation
  (Design-Bench's ``map_normalize_x``), unless ``standardize=False`` (COMs' TFBind8 runs use the raw logits).

Optimizers (gradient ascent, CMA-ES, the bridge of ROOT) move freely in these features; :meth:`decode`
maps any point back into the space: the unit-cube part clamped and rounded where the column is discrete,
each categorical block to the argmax of ``[0, logits]`` (the logit relaxation).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from workbench.space import Space


def options(space: Space) -> Tensor:
    """The number of values of every native column (meaningful for the discrete ones)."""
    return (space.bounds[1] - space.bounds[0]).long() + 1


class NetEncoding:
    """Maps native rows (``n x space.dim``) to standardized network features (``n x dim``) and back.

    ``X`` (native rows) sets the standardization; ``soft`` is the one-hot softening of the logits;
    ``standardize=False`` keeps the raw features (unit-cube columns, logits)."""

    def __init__(self, space: Space, X: Tensor, *, soft: float = 0.6, standardize: bool = True) -> None:
        if not 0.0 < soft < 1.0:
            raise ValueError(f"NetEncoding.soft must be in (0, 1), but got soft={soft!r}")
        self.space = space
        self.soft = float(soft)
        numeric, blocks, col = [], [], 0
        sizes = options(space)
        for j, kind in enumerate(space.column_kinds):
            if kind == "categorical":
                blocks.append((j, col, int(sizes[j])))
                col += int(sizes[j]) - 1
            else:
                numeric.append((j, col))
                col += 1
        #: (native column, feature column) of every real or integer column
        self.numeric: list[tuple[int, int]] = numeric
        #: (native column, first feature column, number of options V) of every categorical column
        self.blocks: list[tuple[int, int, int]] = blocks
        self.dim = col
        self.standardize = bool(standardize)
        if not self.standardize:
            self.mean, self.std = torch.zeros(self.dim, dtype=torch.float64), torch.ones(self.dim, dtype=torch.float64)
            return
        raw = self.raw(X.to(torch.float64))
        self.mean = raw.mean(0)
        std = raw.std(0, unbiased=False) if raw.shape[0] > 1 else torch.ones(self.dim, dtype=torch.float64)
        self.std = torch.where(std > 1e-12, std, torch.ones_like(std))

    def raw(self, X: Tensor) -> Tensor:
        """Unstandardized features (float64) of native rows."""
        X = X.to(torch.float64)
        U = self.space.to_unit(X)
        F = torch.zeros(X.shape[0], self.dim, dtype=torch.float64, device=X.device)
        for j, c in self.numeric:
            F[:, c] = U[:, j]
        for j, c, V in self.blocks:
            if V < 2:
                continue
            onehot = torch.nn.functional.one_hot(X[:, j].round().long().clamp(0, V - 1), V).to(torch.float64)
            logp = torch.log(self.soft * onehot + (1.0 - self.soft) / V)
            F[:, c : c + V - 1] = logp[:, 1:] - logp[:, :1]
        return F

    def encode(self, X: Tensor, *, device: torch.device | str | None = None) -> Tensor:
        """Standardized float32 features of native rows, on ``device`` (default: ``X``'s)."""
        F = (self.raw(X) - self.mean.to(X.device)) / self.std.to(X.device)
        return F.to(device or X.device, torch.float32)

    def decode(self, Z: Tensor) -> Tensor:
        """Native float64 rows inside the space for features ``Z`` (``n x dim``, any values), on the CPU."""
        F = Z.detach().to("cpu", torch.float64) * self.std + self.mean
        U = torch.zeros(F.shape[0], self.space.dim, dtype=torch.float64)
        for j, c in self.numeric:
            U[:, j] = F[:, c]
        for j, c, V in self.blocks:
            if V < 2:
                U[:, j] = 0.5
                continue
            logits = torch.cat([torch.zeros(F.shape[0], 1, dtype=torch.float64), F[:, c : c + V - 1]], dim=1)
            logits = torch.nan_to_num(logits, nan=-math.inf)
            U[:, j] = (logits.argmax(-1).to(torch.float64) + 0.5) / V
        U = torch.nan_to_num(U, nan=0.5)
        return self.space.from_unit(U)
