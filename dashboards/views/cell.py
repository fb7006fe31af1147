"""One cell's Optuna trials: table, parameter-vs-value plots, failed trials with their reasons."""

import altair as alt
import streamlit as st

from dashboards.common import cells, live, pick_study, trials
from dashboards.panels import export_buttons
from workbench.artifacts import FOLDER as ARTIFACTS_FOLDER
from workbench.artifacts import Artifacts
from workbench.browse.views import artifact_value, cell_artifacts, cell_trials, declared_space, parameter_columns


def show_artifacts(refs, store) -> None:
    """The cell's step artifacts, one step at a time: images drawn, arrays and text shown."""
    if refs.empty:
        return
    st.subheader("Artifacts")
    steps = sorted(refs["step"].unique())
    step = st.select_slider("Step", steps, value=steps[-1]) if len(steps) > 1 else steps[0]
    for row in refs[refs["step"] == step].itertuples():
        try:
            value = artifact_value(store, row.artifact_id, row.filename, row.mimetype)
        except Exception as e:  # a file removed with its folder: say so, keep the page
            st.warning(f"{row.filename}: cannot read artifact {row.artifact_id}: {e}")
            continue
        if row.mimetype.startswith("image/"):
            st.image(value, caption=f"step {step}: {row.filename}")
        else:
            st.write(f"step {step}: {row.filename}")
            st.write(value)


st.title("Cell detail")
entry = pick_study()
if entry is not None:
    problem = st.sidebar.selectbox("Problem", entry.problems)
    solver = st.sidebar.selectbox("Solver", entry.solvers)
    seed = st.sidebar.selectbox("Seed", entry.seeds)
    space = declared_space(entry.ds, problem)

    def draw(current) -> None:
        folder = current.folder
        if folder.storage is None:
            st.info("This run folder has no storage file of its own (the study ran on a shared database): its "
                    "trials are in that database; `workbench status STUDY --storage URL --cells` lists them.")
            return
        found = [c for c in cells(str(folder.storage), folder.storage_mtime)
                 if (c.study, c.problem, c.solver, c.seed) == (current.title, problem, solver, seed)]
        if not found:
            st.info(f"Cell {problem} / {solver} / seed {seed} has not started yet.")
            return
        cell = found[0]
        frame = cell_trials(trials(str(folder.storage), cell.study_id, folder.storage_mtime), space)
        state = "solver failed" if cell.error and not cell.finished else (
            "finished" if cell.finished else "not finished")
        st.caption(f"Optuna study `{cell.key}` in `{folder.storage.name}`: {len(frame)} steps recorded, budget "
                   f"{cell.budget}, {state}.")
        if cell.error:
            st.error(f"The solver failed: {cell.error}")
        if frame.empty:
            st.info("No trials recorded for this cell yet.")
            return
        failed = frame[frame["state"] == "FAIL"]
        if len(failed):
            st.error(f"{len(failed)} failed evaluations")
            st.dataframe(failed[["step", "fail_reason"]], hide_index=True)
        st.dataframe(frame, hide_index=True, width="stretch", height=280)
        export_buttons(frame, f"{cell.key.replace('/', '-')}-trials")
        show_artifacts(cell_artifacts(trials(str(folder.storage), cell.study_id, folder.storage_mtime)),
                       Artifacts(folder.path / ARTIFACTS_FOLDER))
        ok = frame[frame["state"] == "COMPLETE"]
        params = parameter_columns(frame)
        if ok.empty or not params:
            return
        st.subheader("Parameters against value")
        charts = [
            alt.Chart(ok).mark_circle(size=40).encode(
                x=alt.X(f"{name}:{'Q' if ok[name].dtype.kind in 'if' else 'N'}", title=name),
                y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
                color=alt.Color("step:Q", title="step", scale=alt.Scale(scheme="viridis")),
                tooltip=["step", name, "value"],
            ).properties(width=260, height=200)
            for name in params
        ]
        figure = alt.concat(*charts, columns=3)
        st.altair_chart(figure)
        export_buttons(ok[["step", *params, "value"]], f"{cell.key.replace('/', '-')}-parameters", figure,
                       title=cell.key)

    live(entry, draw)
