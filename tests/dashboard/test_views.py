"""The pure functions behind the views, on hand-made results and on real tiny runs."""

from __future__ import annotations

import os
import time

import numpy as np
import optuna
import pytest
import xarray as xr

from workbench.browse.folders import (
    UnsafePathError,
    cell_counts,
    find_studies,
    read_study,
    rebuild,
    safe_study_dir,
    study_folder,
    study_table,
)
from workbench.browse.live import open_readonly, storage_cells
from workbench.browse.views import (
    cell_trials,
    compare_convergence,
    convergence,
    declared_space,
    leaderboard_frame,
    leaderboard_markdown,
    parameter_columns,
)
from workbench.results import Series, best_so_far, load_results


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


def trial(step, value=None, *, fail="", claim=0, elapsed=1.0):
    attrs = {"step": step, "elapsed": elapsed, **({"claim": claim} if claim else {}), **({"fail_reason": fail} if fail else {})}
    state = optuna.trial.TrialState.FAIL if fail else optuna.trial.TrialState.COMPLETE
    dist = {"x": optuna.distributions.FloatDistribution(-1, 1)}
    return optuna.trial.create_trial(state=state, value=None if fail else value, params={"x": 0.1 * step},
                                     distributions=dist, user_attrs=attrs)


def numbered(trials):
    for i, t in enumerate(trials):
        t.number = i
    return trials


# ----------------------------------------------------------------- convergence
def test_convergence_mean_and_standard_error_over_seeds():
    values = np.array([[[4.0, 3.0, 1.0], [2.0, 2.0, 2.0]]])  # 1 solver, 2 seeds, 3 steps
    frame = convergence(synthetic(values))
    np.testing.assert_allclose(frame["mean"], [3.0, 2.5, 1.5])
    se = np.array([np.std([4, 2], ddof=1), np.std([3, 2], ddof=1), np.std([1, 2], ddof=1)]) / np.sqrt(2)
    np.testing.assert_allclose(frame["hi"] - frame["mean"], se)
    np.testing.assert_allclose(frame["mean"] - frame["lo"], se)
    assert frame["x"].tolist() == [1, 2, 3] and frame["seeds"].tolist() == [2, 2, 2]
    log = convergence(synthetic(values, optimum=0.5), y="log10 regret")
    np.testing.assert_allclose(log["mean"].iloc[-1], np.mean(np.log10([0.5, 1.5])))
    secs = convergence(synthetic(values), x="seconds")
    assert secs["x"].tolist() == [0.5, 1.0, 1.5]


def test_convergence_of_a_maximized_problem_rises():
    values = np.array([[[1.0, 3.0, 2.0, 5.0]]])
    frame = convergence(synthetic(values, direction="maximize"))
    assert frame["mean"].tolist() == [1.0, 3.0, 3.0, 5.0]


def test_flat_stretches_keep_only_their_ends():
    values = np.array([[[5.0, 3.0, 4.0, 4.0, 4.0, 1.0, 2.0]]])  # best: 5 3 3 3 3 1 1
    frame = convergence(synthetic(values))
    assert frame["x"].tolist() == [1, 2, 5, 6, 7] and frame["mean"].tolist() == [5.0, 3.0, 3.0, 1.0, 1.0]


def test_partial_results_show_only_the_steps_reached():
    values = np.array([[[4.0, 3.0, np.nan, np.nan], [2.0, np.nan, np.nan, np.nan]]])
    frame = convergence(synthetic(values))
    assert frame["x"].tolist() == [1, 2] and frame["seeds"].tolist() == [2, 1]


def test_solvers_can_be_toggled():
    values = np.array([[[4.0, 3.0]], [[2.0, 1.0]]])
    assert set(convergence(synthetic(values), solvers=["s1"])["solver"]) == {"s1"}


def test_log_regret_is_skipped_without_an_optimum():
    values = np.array([[[1.0, 0.5]]])
    assert convergence(synthetic(values, optimum=np.nan), y="log10 regret").empty
    with pytest.raises(ValueError, match="y must be one of"):
        convergence(synthetic(values), y="median")


# ----------------------------------------------------------------- leaderboard
def test_leaderboard_frame_marks_the_best_in_bold():
    values = np.array([[[3.0, 1.0], [3.0, 2.0]], [[3.0, 0.5], [3.0, 0.7]]])  # s1 better
    table, bold = leaderboard_frame(synthetic(values))
    assert table["solver"].tolist() == ["s0", "s1"]
    assert table.loc[1, "p"].startswith("0.6 ± 0.1 (1)")
    assert bold["p"].tolist() == [False, True] and bold["avg rank"].tolist() == [False, True]


def test_leaderboard_markdown_is_the_papers_table():
    values = np.array([[[3.0, 1.0], [3.0, 2.0]], [[3.0, 0.5], [3.0, 0.7]]])
    lines = leaderboard_markdown(synthetic(values)).splitlines()
    assert lines[0] == "| solver | p ↓ | avg rank |"
    assert lines[2].startswith("| s0 | 1.5 ± 0.5 (2) |")
    assert lines[3] == "| s1 | **0.6 ± 0.1 (1)** | **1** |"
    maximized = leaderboard_markdown(synthetic(values, direction="maximize")).splitlines()
    assert maximized[0] == "| solver | p ↑ | avg rank |" and maximized[2].startswith("| s0 | **")


# ----------------------------------------------------------------- studies, cells, live data
def test_cell_counts_tell_done_running_failed_pending():
    values = np.array([[[1.0, 1.0], [1.0, np.nan]], [[np.nan, np.nan], [np.nan, np.nan]]])
    ds = synthetic(values)
    ds["failed"].values[0, 1, 0, :] = [1, 1]  # s1 seed 0: every evaluation failed
    assert cell_counts(ds) == {"done": 1, "running": 1, "failed": 1, "pending": 1}
    assert cell_counts(ds, {("p", "s0", 1)}) == {"done": 1, "running": 0, "failed": 2, "pending": 1}


def test_a_cells_series_keeps_the_newest_claim_of_each_step():
    trials = numbered([trial(0, 3.0), trial(1, fail="ValueError: no"), trial(1, 9.0, claim=2), trial(1, 8.0, claim=2),
                       trial(3, 1.0)])
    series = Series.of_trials(trials)
    np.testing.assert_array_equal(series.value, [3.0, 9.0, np.nan, 1.0])
    assert series.failed.tolist() == [0, 0, -1, 0] and series.elapsed[0] == 1.0


def test_live_cells_are_rebuilt_over_the_last_results():
    base = synthetic(np.array([[[4.0, np.nan, np.nan]]]))  # s0 seed 0 had one step when results were written
    storage = optuna.storages.InMemoryStorage()
    minimize = [optuna.study.StudyDirection.MINIMIZE]
    for seed in (0, 1):
        sid = storage.create_new_study(minimize, f"syn/p/s0/{seed}")
        storage.set_study_user_attr(sid, "workbench", {"study": "syn", "problem": "p", "solver": "s0", "seed": seed,
                                                       "budget": 3})
    storage.set_study_user_attr(sid, "finished_budget", 3)
    storage.create_new_study(minimize, "unrelated")
    frozen = storage.get_all_studies()
    cells = storage_cells(frozen)
    assert [c.seed for c in cells] == [0, 1] and cells[1].finished and not cells[0].finished
    series = {"syn/p/s0/0": Series(np.array([4.0, 2.0, np.nan]), np.ones(3), np.array([0, 0, -1], dtype=np.int8)),
              "syn/p/s0/1": Series(np.array([1.0, 5.0, 0.5]), np.ones(3), np.zeros(3, dtype=np.int8))}
    ds = rebuild(cells, lambda c: series[c.key], base)
    assert ds.seed.values.tolist() == [0, 1] and ds.attrs["live"] == "storage"
    np.testing.assert_array_equal(ds.best.values[0, 0, 0], [4.0, 2.0, np.nan])
    np.testing.assert_array_equal(ds.best.values[0, 0, 1], [1.0, 1.0, 0.5])
    assert float(ds.optimum[0]) == 0.0 and cell_counts(ds) == {"done": 1, "running": 1, "failed": 0, "pending": 0}


def test_paths_cannot_escape_the_runs_folder(tmp_path):
    (tmp_path / "runs" / "ok").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", tmp_path / "runs" / "link")
    assert safe_study_dir(tmp_path / "runs", "ok") == (tmp_path / "runs" / "ok").resolve()
    for name in ["..", "../secret", "/etc", str(tmp_path / "secret"), "ok/../../secret", "link", "", "."]:
        with pytest.raises(UnsafePathError):
            safe_study_dir(tmp_path / "runs", name)


def test_files_linked_from_outside_are_not_read(runs_copy, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.replace(runs_copy / "other" / "results.nc", outside / "results.nc")
    os.symlink(outside / "results.nc", runs_copy / "other" / "results.nc")
    folder = study_folder(runs_copy, "other")
    assert folder.results is None and folder.storage is not None  # only the storage inside is used
    os.symlink(outside, runs_copy / "sneaky")
    assert "sneaky" not in {f.name for f in find_studies(runs_copy)}


def test_a_corrupt_study_is_reported_and_the_others_still_listed(runs):
    entries = {f.name: read_study(f) for f in find_studies(runs)}
    assert set(entries) == {"tiny", "other", "broken", "running"}
    assert not entries["broken"].ok and "cannot read results file" in entries["broken"].error
    tiny = entries["tiny"]
    assert tiny.ok and tiny.n_cells == 8 and tiny.counts["done"] == 8 and tiny.status == "complete"
    assert not tiny.from_storage  # the results file is newer than the storage
    rows = {r["study"]: r for r in study_table(list(entries.values()))}
    assert "broken" not in rows and rows["tiny"]["status"] == "complete" and rows["tiny"]["cells"] == 8


def test_a_results_file_of_another_kind_is_reported(runs_copy):
    xr.Dataset({"x": ("i", [1.0])}).to_netcdf(runs_copy / "other" / "results.nc", engine="h5netcdf")
    (runs_copy / "other" / "optuna.db").unlink()
    entry = read_study(study_folder(runs_copy, "other"))
    assert not entry.ok and "not a workbench results file (no value, best" in entry.error


def test_a_run_without_results_is_read_from_its_storage(runs):
    (runs / "running" / "optuna.db").touch()  # written to just now: running
    entry = read_study(study_folder(runs, "running"))
    assert entry.ok and entry.from_storage and entry.title == "running"
    assert entry.seeds == [0, 1] and entry.counts == {"done": 1, "running": 1, "failed": 0, "pending": 0}
    assert np.isfinite(entry.ds.best.values[0, 0, 1, :4]).all() and np.isnan(entry.ds.best.values[0, 0, 1, 4:]).all()
    assert entry.status == "running" and entry.live  # written a moment ago, cells left
    frame = convergence(entry.ds)
    assert frame.groupby("x")["seeds"].max().tolist()[-1] == 1  # the partial seed's curve only where it ran


def test_storage_newer_than_results_is_read_live_and_matches(runs_copy):
    now = time.time()
    os.utime(runs_copy / "tiny" / "optuna.db", (now, now))
    os.utime(runs_copy / "tiny" / "results.nc", (now - 10, now - 10))
    folder = study_folder(runs_copy, "tiny")
    assert folder.storage_is_newer
    live, saved = read_study(folder), load_results(runs_copy / "tiny")
    assert live.from_storage
    for var in ("value", "best", "regret", "failed", "optimum"):
        np.testing.assert_array_equal(live.ds[var].values, saved[var].values, err_msg=var)


def test_cell_trials_come_from_the_run_folders_storage(runs):
    storage = open_readonly(runs / "tiny" / "optuna.db")
    cell = next(c for c in storage_cells(storage.get_all_studies()) if c.key == "tiny/edgy/random/0")
    space = declared_space(load_results(runs / "tiny"), "edgy")
    frame = cell_trials(storage.get_all_trials(cell.study_id), space)
    assert len(frame) == 10 and frame["step"].tolist() == list(range(10)) and parameter_columns(frame) == ["x"]
    failed = frame[frame["state"] == "FAIL"]
    assert len(failed) > 0 and (failed["x"] > 0.5).all() and (failed["fail_reason"] == "ValueError: x too large").all()
    ok = frame[frame["state"] == "COMPLETE"]
    np.testing.assert_allclose(ok["value"], ok["x"] ** 2)
    assert declared_space(load_results(runs / "tiny"), "nope") is None


def test_the_storage_is_opened_read_only(runs_copy):
    storage = open_readonly(runs_copy / "tiny" / "optuna.db")
    with pytest.raises(Exception) as refused:
        storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "intruder")
    assert "readonly" in repr(refused.value.__cause__ or refused.value.__context__)
    names = {s.study_name for s in open_readonly(runs_copy / "tiny" / "optuna.db").get_all_studies()}
    assert "intruder" not in names and "tiny/edgy/random/0" in names


def test_compare_covers_shared_problems_only(runs):
    frame = compare_convergence(load_results(runs / "tiny"), load_results(runs / "other"), "tiny", "other")
    assert set(frame["problem"]) == {"branin"} and set(frame["study"]) == {"tiny", "other"}


def test_common_steps_cut_each_curve_at_its_slowest_started_seed():
    values = np.array([[[4.0, 3.0, 2.0, 1.0], [5.0, np.nan, np.nan, np.nan], [np.nan] * 4]])  # seed 2 not started
    frame = convergence(synthetic(values), common_steps=True)
    assert frame["x"].tolist() == [1] and frame["seeds"].tolist() == [2]
    assert convergence(synthetic(values))["x"].tolist() == [1, 2, 3, 4]


def test_a_run_not_written_to_for_a_while_is_stopped_not_running(runs_copy):
    old = time.time() - 3600
    os.utime(runs_copy / "running" / "optuna.db", (old, old))
    entry = read_study(study_folder(runs_copy, "running"))
    assert entry.ok and not entry.live and entry.status == "stopped"


def test_a_corrupt_results_file_beside_a_good_storage_still_shows_the_evaluations(runs_copy):
    (runs_copy / "other" / "results.nc").write_bytes(b"\x89HDF\r\n\x1a\n cut short")
    entry = read_study(study_folder(runs_copy, "other"))
    assert entry.ok and entry.from_storage and "cannot read results file" in entry.warning
    assert entry.counts["done"] == 2 and np.isfinite(entry.ds.best.values).all()


def test_a_journal_storage_is_read_too(tmp_path):
    from optuna.storages.journal import JournalFileBackend

    run = tmp_path / "runs" / "j"
    run.mkdir(parents=True)
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(run / "journal.log")))
    sid = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], "j/p/s/0")
    storage.set_study_user_attr(sid, "workbench", {"study": "j", "problem": "p", "solver": "s", "seed": 0, "budget": 4})
    for t in numbered([trial(0, 1.0), trial(1, 3.0), trial(2, fail="ValueError: no")]):
        storage.create_new_trial(sid, template_trial=t)
    entry = read_study(study_folder(tmp_path / "runs", "j"))
    assert entry.ok and entry.title == "j" and entry.counts == {"done": 0, "running": 1, "failed": 0, "pending": 0}
    np.testing.assert_array_equal(entry.ds.best.values[0, 0, 0], [1.0, 3.0, 3.0, np.nan])  # maximized
    assert entry.ds.failed.values[0, 0, 0].tolist() == [0, 0, 1, -1]
