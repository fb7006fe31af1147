from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from workbench.dashboard.catalog import UnsafePathError, cell_counts, find_studies, safe_study_dir, study_table
from workbench.dashboard.views import (
    cell_trials,
    compare_convergence,
    convergence,
    leaderboard_frame,
    local_storage_url,
)
from workbench.recorder import Store
from workbench.results import best_so_far
from workbench.space import Real, Space


def synthetic(values: np.ndarray, *, optimum=0.0, direction="minimize") -> xr.Dataset:
    """A results Dataset (1 problem) from raw values ``solver x seed x step``."""
    failed = np.where(np.isnan(values), -1, 0).astype(np.int8)
    best = np.where(failed >= 0, best_so_far(values, direction), np.nan)
    dims = ("problem", "solver", "seed", "step")
    S, R, T = values.shape
    return xr.Dataset(
        {"value": (dims, values[None]), "best": (dims, best[None]), "regret": (dims, np.abs(best - optimum)[None]),
         "elapsed": (dims, np.cumsum(np.ones_like(values), axis=-1)[None] * 0.5), "failed": (dims, failed[None]),
         "optimum": (("problem",), [optimum]), "direction": (("problem",), [direction])},
        coords={"problem": ["p"], "solver": [f"s{i}" for i in range(S)], "seed": list(range(R)), "step": range(T)},
        attrs={"study": '{"name": "syn"}'},
    )


def test_convergence_mean_and_standard_error_over_seeds():
    values = np.array([[[4.0, 3.0, 1.0], [2.0, 2.0, 2.0]]])  # 1 solver, 2 seeds, 3 steps
    frame = convergence(synthetic(values))
    np.testing.assert_allclose(frame["mean"], [3.0, 2.5, 1.5])
    se = np.array([np.std([4, 2], ddof=1), np.std([3, 2], ddof=1), np.std([1, 2], ddof=1)]) / np.sqrt(2)
    np.testing.assert_allclose(frame["hi"] - frame["mean"], se)
    assert frame["x"].tolist() == [1, 2, 3] and frame["seeds"].tolist() == [2, 2, 2]
    log = convergence(synthetic(values, optimum=0.5), y="log10 regret")
    np.testing.assert_allclose(log["mean"].iloc[-1], np.mean(np.log10([0.5, 1.5])))
    secs = convergence(synthetic(values), x="seconds")
    assert secs["x"].tolist() == [0.5, 1.0, 1.5]


def test_flat_stretches_keep_only_their_ends():
    values = np.array([[[5.0, 3.0, 4.0, 4.0, 4.0, 1.0, 2.0]]])  # best: 5 3 3 3 3 1 1
    frame = convergence(synthetic(values))
    assert frame["x"].tolist() == [1, 2, 5, 6, 7] and frame["mean"].tolist() == [5.0, 3.0, 3.0, 1.0, 1.0]


def test_partial_results_show_only_the_steps_reached():
    values = np.array([[[4.0, 3.0, np.nan, np.nan], [2.0, np.nan, np.nan, np.nan]]])
    frame = convergence(synthetic(values))
    assert frame["x"].tolist() == [1, 2] and frame["seeds"].tolist() == [2, 1]


def test_log_regret_is_skipped_without_an_optimum():
    values = np.array([[[1.0, 0.5]]])
    assert convergence(synthetic(values, optimum=np.nan), y="log10 regret").empty
    with pytest.raises(ValueError, match="y must be one of"):
        convergence(synthetic(values), y="median")


def test_leaderboard_frame_marks_the_best_in_bold():
    values = np.array([[[3.0, 1.0], [3.0, 2.0]], [[3.0, 0.5], [3.0, 0.7]]])  # s1 better
    table, bold = leaderboard_frame(synthetic(values))
    assert table["solver"].tolist() == ["s0", "s1"]
    assert table.loc[1, "p"].startswith("0.6 ± 0.1 (1)")
    assert bold["p"].tolist() == [False, True] and bold["avg rank"].tolist() == [False, True]


def test_cell_counts_tell_done_running_failed_pending():
    values = np.array([[[1.0, 1.0], [1.0, np.nan]], [[np.nan, np.nan], [np.nan, np.nan]]])
    ds = synthetic(values)
    ds["failed"].values[0, 1, 0, :] = [1, 1]  # s1 seed 0: every evaluation failed
    assert cell_counts(ds) == {"done": 1, "running": 1, "failed": 1, "pending": 1}


def test_paths_cannot_escape_the_runs_folder(tmp_path):
    (tmp_path / "runs" / "ok").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", tmp_path / "runs" / "link")
    assert safe_study_dir(tmp_path / "runs", "ok") == (tmp_path / "runs" / "ok").resolve()
    for name in ["..", "../secret", "/etc", "ok/../../secret", "link", ""]:
        with pytest.raises(UnsafePathError):
            safe_study_dir(tmp_path / "runs", name)


def test_a_corrupt_study_is_reported_and_the_others_still_listed(runs):
    entries = {e.name: e for e in find_studies(runs)}
    assert set(entries) == {"tiny", "other", "broken"}
    assert not entries["broken"].ok and "cannot read results file" in entries["broken"].error
    tiny = entries["tiny"]
    assert tiny.ok and tiny.n_cells == 8 and tiny.cells_done == 8
    rows = {r["study"]: r for r in study_table(list(entries.values()))}
    assert rows["broken"]["status"] == "unreadable" and rows["tiny"]["status"] == "complete"


def test_cell_trials_come_from_the_run_folders_storage(runs):
    url = local_storage_url(runs / "tiny")
    frame = cell_trials(Store(url), "tiny/edgy/random/0", Space(Real("x", -1.0, 1.0)))
    assert len(frame) == 10 and set(frame["state"]) <= {"COMPLETE", "FAIL"}
    failed = frame[frame["state"] == "FAIL"]
    assert len(failed) > 0 and (failed["x"] > 0.5).all() and (failed["fail_reason"] == "ValueError: x too large").all()
    ok = frame[frame["state"] == "COMPLETE"]
    np.testing.assert_allclose(ok["value"], ok["x"] ** 2)


def test_compare_covers_shared_problems_only(runs):
    from workbench.results import load_results

    frame = compare_convergence(load_results(runs / "tiny"), load_results(runs / "other"), "tiny", "other")
    assert set(frame["problem"]) == {"branin"} and set(frame["study"]) == {"tiny", "other"}
