"""Best-so-far (or log regret) against evaluations or seconds: mean and standard-error band over seeds."""

import numpy as np
import streamlit as st

from dashboards.common import REFRESH_SECONDS, export_buttons, line_chart, pick_study, refreshed
from workbench.dashboard.views import X_KINDS, Y_KINDS, convergence

st.title("Convergence")
picked = pick_study()
if picked is not None:
    entry, ds = picked
    known = bool(np.isfinite(ds.optimum.values).any())  # log regret by default where the optimum is known
    y = st.sidebar.radio("Value", Y_KINDS, index=1 if known else 0)
    x = st.sidebar.radio("Against", X_KINDS, index=0)
    chosen = st.sidebar.multiselect("Solvers", entry.solvers, default=entry.solvers)

    @st.fragment(run_every=REFRESH_SECONDS if entry.live else None)
    def panels() -> None:
        from dashboards.common import load

        current = refreshed(entry)
        ds = load(current)
        if current.cells_done < current.n_cells:
            st.warning(f"Partial results: {current.cells_done} of {current.n_cells} cells done"
                       + (" — refreshing while the study runs." if current.live else "."))
        frame = convergence(ds, y=y, x=x, solvers=chosen or None)
        if frame.empty:
            st.info("Nothing to plot yet" + (" (no problem here has a known optimum)." if y != "best" else "."))
            return
        problems = list(dict.fromkeys(frame["problem"]))
        cols = st.columns(min(2, len(problems)))
        for i, problem in enumerate(problems):
            with cols[i % len(cols)]:
                st.subheader(problem)
                part = frame[frame["problem"] == problem]
                chart = line_chart(part, x_title=x, y_title=y)
                st.altair_chart(chart, width="stretch")
                export_buttons(part, f"{current.name}-{problem}-convergence", chart)

    panels()
