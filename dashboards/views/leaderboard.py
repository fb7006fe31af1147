"""The papers' table: mean ± std of the final score over seeds, rank per problem, average rank."""

import streamlit as st

from dashboards.common import live, pick_study
from dashboards.panels import show_leaderboard
from workbench.family import family_for
from workbench.report import title

st.title("Leaderboard")
entry = pick_study()
if entry is not None:
    metrics = family_for(entry.ds).all_metrics()
    name = st.sidebar.radio("Score", [m.name for m in metrics], index=0,
                            help="; ".join(f"{m.name}: {title(entry.ds, m)}" for m in metrics))
    live(entry, lambda current: show_leaderboard(current, name))
