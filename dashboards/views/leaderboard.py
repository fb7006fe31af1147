"""The papers' table: mean ± std of the final score over seeds, rank per problem, average rank."""

import streamlit as st

from dashboards.common import live, pick_study
from dashboards.panels import show_leaderboard

st.title("Leaderboard")
entry = pick_study()
if entry is not None:
    if entry.ds is not None and entry.ds.attrs.get("kind") == "offline":
        metric = st.sidebar.radio("Score", ["p100", "p80", "p50"], index=0,
                                  help="normalized 100th / 80th / 50th percentile of each seed's candidates")
    else:
        metric = st.sidebar.radio("Score", ["best", "regret"], index=0,
                                  help="best: the final best value; regret: |final best - optimum| (known optima only)")
    live(entry, lambda current: show_leaderboard(current, metric))
