"""Pieces every offline task here shares: the missing-data error, the percentile cut, field checks."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from workbench import validation
from workbench.errors import InvalidProblemError, WorkbenchError
from workbench.space import Space


class MissingDataError(WorkbenchError, FileNotFoundError):
    """An offline task's data files are not on this machine; the message says how to get them."""


def lower_percentile_mask(y: Tensor, percentile: float) -> Tensor:
    """Design-Bench's visible set: the rows with ``y <= np.percentile(y, percentile)`` (linear
    interpolation). Ties at the threshold all stay, so the share can exceed ``percentile`` percent;
    ``percentile >= 100`` keeps every row."""
    if percentile >= 100.0:
        return torch.ones(y.shape[0], dtype=torch.bool)
    values = y.detach().to("cpu", torch.float64).numpy()
    threshold = float(np.percentile(values, percentile))
    return torch.from_numpy(values <= threshold)


def lowest_share_mask(y: Tensor, percentile: float) -> Tensor:
    """The ``round(n * percentile / 100)`` rows of lowest ``y`` (ties broken by row order): an exact share,
    for scores with many ties (a percentile threshold there keeps far more or far fewer rows)."""
    n = y.shape[0]
    order = torch.sort(y.detach().cpu(), stable=True).indices
    keep = torch.zeros(n, dtype=torch.bool)
    keep[order[: max(1, round(n * percentile / 100.0))]] = True
    return keep


def check_percentile(owner: str, percentile: object) -> float:
    """A number in (0, 100], as a float."""
    return float(validation.check_number(owner, "percentile", percentile, low=0, high=100, low_open=True,
                                         error=InvalidProblemError))


def check_int(owner: str, field: str, value: object, low: int) -> int:
    """:func:`workbench.validation.check_int`, raising :class:`InvalidProblemError`."""
    return validation.check_int(owner, field, value, low, error=InvalidProblemError)


def check_seed(owner: str, seed: object) -> int:
    return check_int(owner, "seed", seed, 0)


def safe_rows(space: Space, X: Tensor) -> tuple[Tensor, Tensor]:
    """Rows fit to index with (outside rows replaced by the lower bound) and the mask of rows inside."""
    inside = space.contains(X)
    low = space.bounds[0].to(X.device, X.dtype)
    return torch.where(inside[:, None], X, low.expand_as(X)), inside
