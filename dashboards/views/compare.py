"""Two studies side by side: their leaderboards, and their convergence on the problems they share."""

import streamlit as st

from dashboards.common import export_buttons, line_chart, pick_study
from workbench.dashboard.views import compare_convergence, leaderboard_frame

st.title("Compare two studies")
left, right = st.columns(2)
with left:
    a = pick_study("a", "First study", sidebar=False)
with right:
    b = pick_study("b", "Second study", sidebar=False)
if a is not None and b is not None:
    (ea, da), (eb, db) = a, b
    for col, entry, ds in ((left, ea, da), (right, eb, db)):
        table, _ = leaderboard_frame(ds)
        col.caption(f"{entry.name}: final best, mean ± std over seeds (rank)")
        col.dataframe(table, hide_index=True, width="stretch")
    frame = compare_convergence(da, db, ea.name, eb.name)
    if frame.empty:
        st.info("The two studies share no problem.")
    for problem in dict.fromkeys(frame["problem"]):
        part = frame[frame["problem"] == problem]
        st.subheader(problem)
        chart = line_chart(part, x_title="evaluations", y_title="best", dash="study")
        st.altair_chart(chart, width="stretch")
        export_buttons(part, f"compare-{problem}", chart)
