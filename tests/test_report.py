"""Leaderboards as the report prints them."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from rich.console import Console

from workbench.report import caption, leaderboard, metric_of, render


def _results(directions: dict[str, str]) -> xr.Dataset:
    """A small results Dataset: 3 solvers, 2 seeds, 4 steps per problem, best-so-far values."""
    rng = np.random.default_rng(0)
    shape = (len(directions), 3, 2, 4)
    best = np.cumsum(rng.random(shape), axis=-1)
    for i, d in enumerate(directions.values()):
        if d == "minimize":
            best[i] = -best[i]
    return xr.Dataset(
        {"best": (("problem", "solver", "seed", "step"), best),
         "regret": (("problem", "solver", "seed", "step"), np.abs(best)),
         "direction": ("problem", list(directions.values()))},
        coords={"problem": list(directions), "solver": ["random", "optuna-tpe", "optuna-gp"], "seed": [0, 1],
                "step": np.arange(4)},
    )


def _printed(ds: xr.Dataset, metric: str | None = None) -> list[str]:
    chosen = metric_of(ds, metric)
    board = leaderboard(ds, chosen.name)
    console = Console(width=60, record=True, highlight=False, color_system=None)
    console.print(render(board, f"tiny: {chosen.caption}", caption(board, chosen)))
    return [line.rstrip() for line in console.export_text().splitlines()]


@pytest.mark.parametrize(
    "directions, shown, absent",
    [
        ({"branin": "minimize"}, ["↓ minimized"], ["↑", "maximized"]),
        ({"cosine8": "maximize"}, ["↑ maximized"], ["↓", "minimized"]),
        ({"branin": "minimize", "hartmann6": "minimize", "ackley2": "minimize"}, ["↓ minimized"], ["maximized"]),
        ({"branin": "minimize", "cosine8": "maximize"}, ["↓ minimized, ↑ maximized"], []),
    ],
)
def test_caption_names_the_directions_present_and_keeps_phrases_whole(directions, shown, absent):
    lines = _printed(_results(directions))
    table_end = max(i for i, line in enumerate(lines) if line.startswith("└"))
    under = lines[table_end + 1:]
    assert under[0] == "mean ± std over seeds (rank)"  # a phrase per line, none cut at the table's width
    assert under[1:] == shown
    assert not any(a in line for a in absent for line in under)


def test_caption_of_a_fixed_direction_metric_keeps_its_note():
    lines = _printed(_results({"branin": "minimize", "cosine8": "maximize"}), "regret")
    assert lines[-3:] == ["mean ± std over seeds (rank)", "lower is better", "known optima only"]
