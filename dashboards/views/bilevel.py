"""The bilevel family's page: each solver's θ path over the upper-level loss surface of a 2-D problem, and,
for a denoising problem, the images each solver's incumbent θ gives beside the noisy and clean ones. The
loss against lower-level work or wall time is on the Convergence page (choose a cost axis there). The data
come from ``workbench.families.bilevel.views``."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboards.common import cells, live, pick_study, trials
from workbench.browse.views import cell_trials, declared_space
from workbench.families.bilevel.views import (
    incumbent,
    loss_surface,
    lower_solution,
    rebuild,
    schedule,
    solver_families,
    theta_path,
)

st.title("Bilevel")
entry = pick_study()
if entry is not None and entry.ds.attrs.get("family") != "bilevel":
    st.info(f"This page shows studies of the bilevel family; {entry.name!r} is of the "
            f"{entry.ds.attrs.get('family', 'blackbox')} family.")
elif entry is not None:
    @st.cache_data(max_entries=32)
    def drawable(study: str, problem: str) -> bool:
        """Whether this page has something to draw for ``problem``: θ paths, a schedule, or images."""
        rebuilt = rebuild(entry.ds, problem, int(entry.seeds[0]))
        return rebuilt is not None and (rebuilt.space.dim == 2 or hasattr(rebuilt, "clean")
                                        or bool(rebuilt.hyperparameters(rebuilt.theta_start())))

    first = next((i for i, p in enumerate(entry.problems) if drawable(entry.name, p)), 0)
    problem_name = st.sidebar.selectbox("Problem", entry.problems, index=first)
    seed = int(st.sidebar.selectbox("Seed", entry.seeds))
    chosen = st.sidebar.multiselect("Solvers", entry.solvers, default=entry.solvers)
    resolution = st.sidebar.slider("Surface grid", 4, 30, 8, help="points per axis of the loss surface (2-D problems)")

    @st.cache_data(show_spinner="solving the lower level over the grid ...", max_entries=8)
    def surface(study: str, problem: str, seed: int, n: int, box: tuple) -> pd.DataFrame:
        rebuilt = rebuild(entry.ds, problem, seed)
        return loss_surface(rebuilt, n, box=box, tol=1e-2) if rebuilt is not None else pd.DataFrame()

    @st.cache_data(show_spinner="solving the lower level at the incumbent ...", max_entries=64)
    def denoised(study: str, problem: str, seed: int, theta: tuple) -> tuple[np.ndarray, float]:
        rebuilt = rebuild(entry.ds, problem, seed)
        x, scores = lower_solution(rebuilt, theta)
        return x[0].clamp(0, 1).numpy(), float(scores.get("psnr", float("nan")))

    def paths(current, names) -> pd.DataFrame:
        folder = current.folder
        if folder.storage is None:
            return pd.DataFrame()
        space = declared_space(current.ds, problem_name)
        frames = []
        for c in cells(str(folder.storage), folder.storage_mtime):
            if (c.study, c.problem, int(c.seed)) == (current.title, problem_name, seed) and c.solver in chosen:
                frame = cell_trials(trials(str(folder.storage), c.study_id, folder.storage_mtime), space)
                frames.append(theta_path(frame, names).assign(solver=c.solver))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def draw(current) -> None:
        problem = rebuild(current.ds, problem_name, seed)
        if problem is None:
            st.info(f"Problem {problem_name!r} cannot be declared again in this process (its class or parameters "
                    "are not importable here): the Convergence and Leaderboard pages still show it.")
            return
        names = list(problem.space.names)
        clean = getattr(problem, "clean", None)
        readable = list(problem.hyperparameters(problem.theta_start()))
        if len(names) != 2 and clean is None and not readable:
            st.info(f"{problem_name!r} has {len(names)} hyperparameters and no images: this page draws θ paths for "
                    "2-D problems, hyperparameter schedules and images for denoising problems. Its loss against "
                    "lower-level work is on the Convergence page (choose the axis lower_iterations).")
            return
        if readable and len(names) != 2:
            frame = schedule(current.ds, problem_name, seed, readable, chosen)
            st.subheader("Hyperparameter schedules")
            st.caption(f"**{current.title}** · {problem_name} · seed {seed}: each solver's hyperparameters step by "
                       "step: lines for the family's own solvers (a step of STN or a fixed-θ run is an epoch: "
                       "STN's line is its learned schedule), points for a black-box solver's queries.")
            if frame.empty:
                st.info("No steps recorded for this problem and seed yet.")
            else:
                color = alt.Color("solver:N", scale=alt.Scale(scheme="category20", domain=list(chosen)))
                y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False))
                tooltip = ["solver", "step", "hyperparameter", "value"]
                lines = alt.Chart().mark_line().encode(x=alt.X("step:Q", title="step"), y=y, color=color,
                                                      tooltip=tooltip).transform_filter("datum.online")
                points = alt.Chart().mark_point(size=30, filled=True).encode(
                    x="step:Q", y=y, color=color, tooltip=tooltip).transform_filter("!datum.online")
                chart = alt.layer(lines, points, data=frame).properties(width=300, height=200).facet(
                    facet=alt.Facet("hyperparameter:N", title=None), columns=2)
                st.altair_chart(chart.resolve_scale(y="independent"))
        if len(names) == 2:
            found = paths(current, names)
            st.subheader("θ paths over the upper-level loss")
            if found.empty:
                st.info("No steps recorded for this problem and seed yet (or the study ran on a shared database).")
                return
            # the paths' bounding box, padded and rounded out to whole units: it changes rarely while a study
            # runs, so the (cached) surface is not solved again at every refresh
            lo = np.floor(found[names].min().to_numpy(dtype=float) - 0.5)
            hi = np.ceil(found[names].max().to_numpy(dtype=float) + 0.5)
            bounds = problem.space.bounds.numpy()
            box = tuple((float(max(bounds[0, i], lo[i])), float(min(bounds[1, i], hi[i]))) for i in range(2))
            grid = surface(current.title, problem_name, int(seed), resolution, box)
            st.caption(f"**{current.title}** · {problem_name} · seed {seed}: g(x̂(θ)) on a {resolution}² grid "
                       "(log colour; the lower level solved to 1e-2, blank where 1,000 iterations do not get "
                       "there); lines: each of the family's solvers' θ step by step; points: a black-box solver's "
                       "queries.")
            step_x = (box[0][1] - box[0][0]) / max(resolution - 1, 1)
            step_y = (box[1][1] - box[1][0]) / max(resolution - 1, 1)
            cells = grid.assign(x1=grid["theta_x"] - step_x / 2, x2=grid["theta_x"] + step_x / 2,
                                y1=grid["theta_y"] - step_y / 2, y2=grid["theta_y"] + step_y / 2)
            heat = alt.Chart(cells).mark_rect().encode(  # a cell centred on each grid point
                x=alt.X("x1:Q", title=names[0]), x2="x2:Q", y=alt.Y("y1:Q", title=names[1]), y2="y2:Q",
                color=alt.Color("value:Q", scale=alt.Scale(type="log", scheme="greys", reverse=True), title="g"))
            families = solver_families(current.ds)
            ok = found[found["state"] == "COMPLETE"].assign(
                online=lambda f: f["solver"].map(lambda s: families.get(s, "bilevel") == "bilevel"))
            color = alt.Color("solver:N", scale=alt.Scale(scheme="category20", domain=list(chosen)))
            tooltip = ["solver", "step", *names, "value"]
            lines = alt.Chart(ok[ok["online"]]).mark_line(point=True, strokeWidth=2).encode(
                x=names[0], y=names[1], order="step:Q", color=color, tooltip=tooltip)
            queries = alt.Chart(ok[~ok["online"]]).mark_point(size=25, filled=True, opacity=0.7).encode(
                x=names[0], y=names[1], color=color, tooltip=tooltip)
            st.altair_chart((heat + queries + lines).properties(width=560, height=460))
        if clean is None:
            return
        st.subheader("Denoised at each solver's incumbent θ")
        found = paths(current, names)
        noisy = problem.noisy
        columns = st.columns(2 + len(chosen))
        columns[0].image(clean[0].clamp(0, 1).numpy(), caption="clean", clamp=True)
        noisy_psnr = problem.report(noisy, problem.theta_start()).get("psnr", float("nan"))
        columns[1].image(noisy[0].clamp(0, 1).numpy(), caption=f"noisy · {noisy_psnr:.2f} dB", clamp=True)
        for col, solver in zip(columns[2:], chosen):
            step = incumbent(current.ds, problem_name, solver, seed)
            rows = found[(found["solver"] == solver) & (found["step"] == step)] if not found.empty else found
            if step is None or rows.empty:
                col.write(f"{solver}: no successful step")
                continue
            image, value = denoised(current.title, problem_name, seed,
                                    tuple(float(v) for v in rows[names].iloc[0].to_numpy(dtype=float)))
            col.image(image, caption=f"{solver} · {value:.2f} dB", clamp=True)

    live(entry, draw)
