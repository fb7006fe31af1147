"""The noise-search family's page: first and picked images per condition and solver, the pick's reward and
held-out judge against reward calls with seed bands, ‖ε‖/√d over the steps, and each cell's reward gain
against its judge gain (reward hacking shows as a gap). The data come from
``workbench.families.noise.views``."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.common import cells, live, pick_study, trials
from workbench.artifacts import FOLDER as ARTIFACTS_FOLDER
from workbench.artifacts import Artifacts
from workbench.browse.views import artifact_value, cell_artifacts
from workbench.families.noise.views import bands, grid, hacking, image_pair, norm_paths, pick_curves

st.title("Noise search")
entry = pick_study()
if entry is not None and entry.ds.attrs.get("family") != "noise":
    st.info(f"This page shows studies of the noise-search family; {entry.name!r} is of the "
            f"{entry.ds.attrs.get('family', 'blackbox')} family.")
elif entry is not None:
    chosen_problems = st.sidebar.multiselect("Conditions", entry.problems, default=entry.problems[:10])
    seed = int(st.sidebar.selectbox("Seed (images)", entry.seeds))
    chosen = st.sidebar.multiselect("Solvers", entry.solvers, default=entry.solvers)
    scale = st.sidebar.slider("Image scale", 1, 16, 6)

    def images(current) -> None:
        folder = current.folder
        if folder.storage is None:
            st.info("The images are artifacts beside a run folder's own storage; this study ran on a shared database.")
            return
        store = Artifacts(folder.path / ARTIFACTS_FOLDER)

        def read(artifact_id: str, filename: str, mimetype: str):
            return artifact_value(store, artifact_id, filename, mimetype)

        pairs = {}
        for c in cells(str(folder.storage), folder.storage_mtime):
            if c.study == current.title and int(c.seed) == seed and c.problem in chosen_problems and c.solver in chosen:
                refs = cell_artifacts(trials(str(folder.storage), c.study_id, folder.storage_mtime))
                pairs[(c.problem, c.solver)] = image_pair(refs, read)
        picture = grid(pairs, chosen_problems, chosen, scale=scale)
        st.subheader("Images: first and picked")
        if picture.size == 0:
            st.info("No images recorded for this seed yet.")
            return
        st.caption(f"**{current.title}** · seed {seed}: a row per condition; per solver (in the order "
                   f"{', '.join(chosen)}) two images: the cell's first noise and the noise it picked (its best "
                   "observed reward so far).")
        st.image(picture, clamp=True)

    def draw(current) -> None:
        ds = current.ds.sel(problem=[p for p in chosen_problems if p in current.ds.problem.values],
                            solver=[s for s in chosen if s in current.ds.solver.values])
        if ds.sizes["problem"] == 0 or ds.sizes["solver"] == 0:
            st.info("Choose at least one condition and one solver.")
            return
        images(current)
        curves = pick_curves(ds)
        if curves.empty:
            st.info("No steps recorded yet.")
            return
        color = alt.Color("solver:N", scale=alt.Scale(scheme="category10", domain=list(chosen)))
        for variable, title in (("value", "reward of the pick"), ("judge", "held-out judge of the pick")):
            if variable not in curves:
                continue
            frame = bands(curves, variable)
            st.subheader(title.capitalize())
            st.caption(f"Mean over the {ds.sizes['problem']} conditions chosen, band ± one standard error over "
                       f"{ds.sizes['seed']} seeds, against reward calls (a cell counts from its first successful "
                       "image on).")
            x = alt.X("reward_calls:Q", title="reward calls")
            band = alt.Chart(frame).mark_area(opacity=0.2).encode(x=x, y=alt.Y("low:Q", title=title), y2="high:Q",
                                                                 color=color)
            line = alt.Chart(frame).mark_line().encode(x=x, y=alt.Y("mean:Q", scale=alt.Scale(zero=False)),
                                                       color=color, tooltip=["solver", "reward_calls", "mean", "n"])
            st.altair_chart((band + line).properties(height=280), width="stretch")
        norms = norm_paths(ds)
        if not norms.empty:
            st.subheader("‖ε‖ / √d over the steps")
            st.caption("Median over conditions and seeds of every scored noise's norm ratio: 1 is where a Gaussian "
                       "puts it; ReNO's regularizer pulls it there.")
            med = norms.groupby(["solver", "step"], as_index=False)["norm_ratio"].median()
            st.altair_chart(alt.Chart(med).mark_line().encode(
                x=alt.X("step:Q"), y=alt.Y("norm_ratio:Q", title="‖ε‖/√d", scale=alt.Scale(zero=False)),
                color=color).properties(height=240), width="stretch")
        gains = hacking(ds)
        if not gains.empty:
            st.subheader("Optimized reward against the held-out judge")
            st.caption("Per cell: the pick's gain over its first image on the reward the solver optimized (x) and "
                       "on the held-out judge (y). Points far right and low are reward hacking.")
            st.altair_chart(alt.Chart(gains).mark_circle(size=50, opacity=0.7).encode(
                x=alt.X("reward_gain:Q", title="reward gain"), y=alt.Y("judge_gain:Q", title="judge gain"),
                color=color, tooltip=["problem", "solver", "seed", "reward_gain", "judge_gain"]).properties(height=320),
                width="stretch")
            st.dataframe(pd.DataFrame(gains.groupby("solver")[["reward_gain", "judge_gain"]].median()).round(3))

    live(entry, draw)
