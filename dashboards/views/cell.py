"""One cell's Optuna trials: table, parameter-vs-value plots, failed trials with their reasons."""

import json

import altair as alt
import streamlit as st

from dashboards.common import export_buttons, pick_study
from workbench.dashboard.views import cell_trials, local_storage_url
from workbench.recorder import Store
from workbench.space import Space

st.title("Cell detail")
picked = pick_study()
if picked is not None:
    entry, ds = picked
    declared = {p["name"]: p for p in json.loads(ds.attrs.get("study", "{}")).get("problems", [])}
    problem = st.sidebar.selectbox("Problem", entry.problems)
    solver = st.sidebar.selectbox("Solver", entry.solvers)
    seed = st.sidebar.selectbox("Seed", entry.seeds)
    url = local_storage_url(entry.path)
    if url is None or problem not in declared:
        st.info("This run folder has no storage file of its own (the study ran on a shared database): "
                "the trials are in that database, open it with `workbench status` or optuna-dashboard.")
    else:
        key = f"{entry.name}/{problem}/{solver}/{seed}"
        frame = cell_trials(Store(url, retry_for=5.0), key, Space.from_description(declared[problem]["space"]))
        st.caption(f"Optuna study `{key}`: {len(frame)} trials")
        if frame.empty:
            st.info("No trials recorded for this cell yet.")
        else:
            failed = frame[frame["state"] == "FAIL"]
            if len(failed):
                st.error(f"{len(failed)} failed evaluations")
                st.dataframe(failed[["step", "fail_reason"]], hide_index=True)
            st.dataframe(frame, hide_index=True, width="stretch")
            export_buttons(frame, f"{key.replace('/', '-')}-trials")
            params = [c for c in frame.columns if c not in ("step", "state", "value", "elapsed", "fail_reason")]
            ok = frame[frame["state"] == "COMPLETE"]
            cols = st.columns(min(3, max(1, len(params))))
            for i, name in enumerate(params):
                chart = alt.Chart(ok).mark_circle(size=40).encode(
                    x=alt.X(f"{name}:{'Q' if ok[name].dtype.kind in 'if' else 'N'}", title=name),
                    y=alt.Y("value:Q", title="value"), color=alt.Color("step:Q", title="step"),
                    tooltip=["step", name, "value"],
                ).properties(height=220)
                cols[i % len(cols)].altair_chart(chart, width="stretch")
