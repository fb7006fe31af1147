"""What every page shares: the runs folder, cached reading and computing (keyed by the files' modification
times), the study picker (kept in the URL), live refresh. Drawing is in ``dashboards.panels``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import xarray as xr

from workbench.browse.folders import (
    StudyEntry,
    StudyFolder,
    UnsafePathError,
    find_studies,
    read_study,
    study_folder,
    study_table,
)
from workbench.browse.live import StorageCell, open_readonly, storage_cells
from workbench.browse.serve import RUNS_ENV
from workbench.browse.views import compare_convergence, convergence, final_table, leaderboard_markdown
from workbench.results import Series, load_results

REFRESH_SECONDS = 5


def runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV, "runs")).resolve()


# ----------------------------------------------------------------- cached reads, keyed by modification time
@st.cache_data(show_spinner=False, max_entries=16)
def _results(path: str, mtime: float) -> xr.Dataset:
    return load_results(path)


@st.cache_resource(show_spinner=False, max_entries=32)
def storage(path: str) -> Any:
    return open_readonly(Path(path))


@st.cache_data(show_spinner=False, max_entries=256)
def cells(path: str, mtime: float) -> list[StorageCell]:
    return storage_cells(storage(path).get_all_studies())


@st.cache_data(show_spinner=False, max_entries=50_000)
def _series(path: str, study_id: int, version: float) -> Series:
    return Series.of_trials(storage(path).get_all_trials(study_id, deepcopy=False))


def trials(path: str, study_id: int, mtime: float) -> list[Any]:
    return storage(path).get_all_trials(study_id, deepcopy=False)


@st.cache_resource(show_spinner=False, max_entries=16)
def read(folder: StudyFolder, curves: bool = True) -> StudyEntry:
    """A study folder read (the folder value carries the files' modification times: new data, new entry).
    A finished cell's trials are read once; a running one's again whenever the storage changes.
    ``curves=False``: only enough to count cells (see :func:`read_study`)."""
    return read_study(
        folder, curves=curves,
        load=lambda p: _results(str(p), folder.results_mtime),
        cells=lambda p: cells(str(p), folder.storage_mtime),
        series=lambda c: _series(str(folder.storage), c.study_id, -1.0 if c.finished else folder.storage_mtime),
    )


@st.cache_data(show_spinner=False, max_entries=1000)
def summary(folder: StudyFolder) -> tuple[dict[str, Any] | None, str, bool]:
    """A study's row in the Studies table (None when unreadable), what went wrong reading it (the error, or
    a warning when the rest could be read), and whether it is running."""
    entry = read(folder, curves=False)
    rows = study_table([entry])
    return (rows[0] if rows else None), entry.error or entry.warning, entry.live


def studies() -> list[tuple[StudyFolder, dict[str, Any] | None, str, bool]]:
    """Every study under the runs folder: folder, table row (None when unreadable), problem, running."""
    return [(f, *summary(f)) for f in find_studies(runs_dir())]


def reread(entry: StudyEntry) -> StudyEntry:
    """The same study, as its files are now."""
    try:
        folder = study_folder(runs_dir(), entry.name)
    except (UnsafePathError, OSError):
        folder = None
    return entry if folder is None else read(folder)


# ----------------------------------------------------------------- views computed once per state of the files
@st.cache_data(show_spinner=False, max_entries=64)
def convergence_of(folder: StudyFolder, **options: Any) -> pd.DataFrame:
    return convergence(read(folder).ds, **options)


@st.cache_data(show_spinner=False, max_entries=64)
def leaderboard_of(folder: StudyFolder, metric: str | None = None) -> tuple[str, pd.DataFrame]:
    """The leaderboard as Markdown, and its numbers as a table (for CSV)."""
    ds = read(folder).ds
    return leaderboard_markdown(ds, metric), final_table(ds, metric)


@st.cache_data(show_spinner=False, max_entries=16)
def compare_of(a: StudyFolder, b: StudyFolder) -> pd.DataFrame:
    return compare_convergence(read(a).ds, read(b).ds, a.name, b.name)


# ----------------------------------------------------------------- picking a study
def pick_study(key: str = "study", label: str = "Study", sidebar: bool = True, default: int = 0) -> StudyEntry | None:
    """A study chosen in the sidebar and kept in the URL (``?study=NAME``); at first the ``default``-th most
    recently updated. A name from the URL is looked up inside the runs folder only. None, with the reason
    on the page, when there is nothing to show."""
    folders = find_studies(runs_dir())
    if not folders:
        st.info(f"No studies under {runs_dir()} yet. Run one: `workbench run studies/quickstart.py`.")
        return None
    names = [f.name for f in folders]
    first = names[min(default, len(names) - 1)]
    wanted = st.query_params.get(key)
    if wanted is not None and wanted not in names:
        try:
            study_folder(runs_dir(), wanted)
            st.warning(f"No study named {wanted!r} under {runs_dir()}; showing {first!r}.")
        except UnsafePathError as e:
            st.error(f"Refused: {e}")
        except OSError as e:
            st.error(f"Cannot open {wanted!r}: {e}")
    where = st.sidebar if sidebar else st
    name = where.selectbox(label, names, index=names.index(wanted if wanted in names else first), key=f"pick-{key}")
    st.query_params[key] = name
    entry = read(folders[names.index(name)])
    if not entry.ok:
        st.error(f"Study **{name}** cannot be shown: {entry.error}")
        return None
    if entry.warning:
        st.warning(entry.warning)
    return entry


def live(entry: StudyEntry, draw: Callable[[StudyEntry], None]) -> None:
    """``draw(entry)``, drawn again with fresh data every few seconds while the study runs; partial results
    say so."""

    @st.fragment(run_every=REFRESH_SECONDS if entry.live else None)
    def body() -> None:
        current = reread(entry)
        partial_notice(current)
        draw(current)

    body()


def partial_notice(entry: StudyEntry) -> None:
    if entry.complete:
        return
    c = entry.counts
    text = (f"Partial results: {c.get('done', 0)} of {entry.n_cells} cells done, {c.get('running', 0)} under way, "
            f"{c.get('failed', 0)} failed")
    if entry.live:
        st.warning(f"{text} — the study is running; this page refreshes every {REFRESH_SECONDS} s.", icon=":material/autorenew:")
    else:
        st.warning(f"{text} — the study is not running now (stopped, or waiting for a worker).")
