"""Two studies side by side: their leaderboards, and their convergence on the problems they share."""

import streamlit as st

from dashboards.common import compare_of, pick_study
from dashboards.panels import curves_chart, export_buttons, show_leaderboard

st.title("Compare two studies")
left, right = st.columns(2)
with left:
    a = pick_study("a", "First study", sidebar=False)
with right:
    b = pick_study("b", "Second study", sidebar=False, default=1)
if a is not None and b is not None:
    for col, side, entry in ((left, "a", a), (right, "b", b)):
        with col:
            show_leaderboard(entry, key=side)
    frame = compare_of(a.folder, b.folder)
    if a.name == b.name:
        st.info("Pick two different studies to overlay their curves.")
        frame = frame.iloc[:0]
    elif frame.empty:
        st.info("The two studies share no problem.")
    else:
        st.caption(f"Best value so far, mean over seeds: **{a.name}** solid, **{b.name}** dashed (the Convergence "
                   "page shows each study's standard-error bands).")
    if len(frame):
        chart = curves_chart(frame, x_title="evaluations", y_title="best so far", dash="study", band=False,
                             dash_order=[a.name, b.name], color_order=list(dict.fromkeys(a.solvers + b.solvers)))
        st.altair_chart(chart)
        export_buttons(frame, f"compare-{a.name}-{b.name}", chart, title=f"{a.name} vs {b.name}")
