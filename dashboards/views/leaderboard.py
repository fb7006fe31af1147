"""The papers' table: mean ± std of the final score over seeds, rank per problem, average rank."""

import streamlit as st

from dashboards.common import export_buttons, pick_study
from workbench.dashboard.views import final_table, leaderboard_frame

st.title("Leaderboard")
picked = pick_study()
if picked is not None:
    entry, ds = picked
    metric = st.sidebar.radio("Score", ["best", "regret"], index=0)
    table, bold = leaderboard_frame(ds, metric)
    st.caption(f"{entry.name}: final {metric}, mean ± std over {len(entry.seeds)} seeds (rank); best in bold.")
    if entry.cells_done < entry.n_cells:
        st.warning(f"Partial results: {entry.cells_done} of {entry.n_cells} cells done.")
    styled = table.style.apply(lambda col: ["font-weight: bold" if b else "" for b in bold[col.name]], axis=0)
    st.dataframe(styled, hide_index=True, width="stretch")
    export_buttons(final_table(ds, metric), f"{entry.name}-leaderboard-{metric}")
