"""What every page shares: the runs folder, cached loading (keyed by file modification time), the study
picker (kept in the URL), charts and export buttons."""

from __future__ import annotations

import io
import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st
import xarray as xr

from workbench.dashboard.catalog import StudyEntry, UnsafePathError, describe_study, find_studies, safe_study_dir
from workbench.results import RESULTS_FILE, load_results

RUNS_ENV = "WORKBENCH_RUNS_DIR"
REFRESH_SECONDS = 5


def runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV, "runs")).resolve()


@st.cache_data(show_spinner=False, max_entries=64)
def _load(path: str, mtime: float) -> xr.Dataset:  # mtime is the cache key: a rewritten file reloads
    return load_results(path)


def load(entry: StudyEntry) -> xr.Dataset:
    results = entry.path / RESULTS_FILE
    return _load(str(results), results.stat().st_mtime)


def studies() -> list[StudyEntry]:
    return find_studies(runs_dir())


def pick_study(key: str = "study", label: str = "Study", sidebar: bool = True) -> tuple[StudyEntry, xr.Dataset] | None:
    """A study chosen in the sidebar (and kept in the URL's ``?study=``); None, with a message, if none."""
    entries = [e for e in studies() if e.ok]
    if not entries:
        st.info(f"No readable studies under {runs_dir()} yet. Run one: `workbench run studies/quickstart.py`.")
        return None
    names = [e.name for e in entries]
    wanted = st.query_params.get(key)
    if wanted is not None and wanted not in names:
        try:
            safe_study_dir(runs_dir(), wanted)
            st.warning(f"Study {wanted!r} has no readable results here.")
        except UnsafePathError as e:
            st.error(f"Refused: {e}")
    index = names.index(wanted) if wanted in names else 0
    where = st.sidebar if sidebar else st
    name = where.selectbox(label, names, index=index, key=f"pick-{key}")
    st.query_params[key] = name
    entry = entries[names.index(name)]
    try:
        return entry, load(entry)
    except Exception as e:  # rewritten between listing and loading, or corrupt since
        st.error(f"Cannot read the results of {name!r}: {e}")
        return None


def refreshed(entry: StudyEntry) -> StudyEntry:
    return describe_study(entry.path)


def line_chart(frame: pd.DataFrame, *, x_title: str, y_title: str, color: str = "solver",
               dash: str | None = None) -> alt.Chart:
    """Mean curves with a standard-error band."""
    base = alt.Chart(frame)
    enc = {"color": alt.Color(f"{color}:N", title=color, scale=alt.Scale(scheme="tableau10"))}
    if dash:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=dash)
    band = base.mark_area(opacity=0.18).encode(
        x=alt.X("x:Q", title=x_title), y=alt.Y("lo:Q", title=y_title), y2="hi:Q", **enc
    )
    line = base.mark_line().encode(
        x="x:Q", y=alt.Y("mean:Q", title=y_title), tooltip=["solver", "x", "mean", "seeds"], **enc
    )
    return (band + line).properties(height=300)


def export_buttons(frame: pd.DataFrame, name: str, chart: alt.Chart | None = None) -> None:
    """Download the table as CSV and, when given, the figure as PNG."""
    cols = st.columns(2)
    cols[0].download_button(f"CSV: {name}", frame.to_csv(index=False).encode(), file_name=f"{name}.csv",
                            mime="text/csv", key=f"csv-{name}")
    if chart is not None:
        cols[1].download_button(f"PNG: {name}", lambda: _png(chart), file_name=f"{name}.png", mime="image/png",
                                key=f"png-{name}", on_click="ignore")


def _png(chart: alt.Chart) -> bytes:
    buf = io.BytesIO()
    chart.save(buf, format="png")
    return buf.getvalue()
