"""The papers' table: mean ± std of the final score over seeds, rank per problem, average rank."""

import streamlit as st

from dashboards.common import export_buttons, leaderboard_of, live, pick_study

st.title("Leaderboard")
entry = pick_study()
if entry is not None:
    metric = st.sidebar.radio("Score", ["best", "regret"], index=0,
                              help="best: the final best value; regret: |final best - optimum| (known optima only)")

    def draw(current) -> None:
        arrows = "lower is better" if metric == "regret" else "↓ minimized, ↑ maximized"
        st.caption(f"**{current.title}**: final {metric}, mean ± std over {len(current.seeds)} seeds (rank per "
                   f"problem); best in bold; {arrows}.")
        table, numbers = leaderboard_of(current.folder, metric)
        st.markdown(table)
        export_buttons(numbers, f"{current.name}-leaderboard-{metric}")

    live(entry, draw)
