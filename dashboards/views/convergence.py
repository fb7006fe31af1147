"""Best so far (or log regret) against evaluations or seconds: mean and standard-error band over seeds,
one panel per problem."""

import numpy as np
import streamlit as st

from dashboards.common import convergence_of, curves_chart, export_buttons, live, pick_study
from workbench.dashboard.views import X_KINDS, Y_KINDS

st.title("Convergence")
entry = pick_study()
if entry is not None:
    known = bool(np.isfinite(entry.ds.optimum.values).any())  # log regret by default where an optimum is known
    y = st.sidebar.radio("Value", Y_KINDS, index=1 if known else 0,
                         help="log10 regret: log10 |best so far - optimum|, for problems with a known optimum")
    x = st.sidebar.radio("Against", X_KINDS, index=0, help="seconds: the cell's wall time, mean over seeds")
    chosen = st.sidebar.multiselect("Solvers", entry.solvers, default=entry.solvers)

    def draw(current) -> None:
        frame = convergence_of(current.folder, y=y, x=x, solvers=chosen or None, common_steps=current.live)
        if frame.empty:
            st.info("Nothing to plot yet" + (" (no problem here has a known optimum)." if y != "best" else "."))
            return
        if y == "best":
            goal = ", ".join(f"{p} {'↓' if d == 'minimize' else '↑'}" for p, d in
                             zip(current.ds.problem.values, current.ds.direction.values) if p in set(frame["problem"]))
        else:
            goal = "lower is better"
        what = "best value so far" if y == "best" else "log10 regret of the best so far"
        st.caption(f"**{current.title}**: {what}, mean over {len(current.seeds)} seeds, band ± one standard "
                   f"error ({goal}).")
        chart = curves_chart(frame, x_title=x, y_title=y if y != "best" else "best so far",
                             color_order=current.solvers)
        st.altair_chart(chart)
        export_buttons(frame, f"{current.name}-convergence", chart, title=f"{current.title}: {y}")

    live(entry, draw)
