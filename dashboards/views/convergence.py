"""Best so far (or log regret) against evaluations or seconds: mean and standard-error band over seeds,
one panel per problem."""

import numpy as np
import streamlit as st

from dashboards.common import live, pick_study
from dashboards.panels import show_convergence
from workbench.browse.views import Y_KINDS, x_kinds

st.title("Convergence")
entry = pick_study()
if entry is not None:
    known = bool(np.isfinite(entry.ds.optimum.values).any())  # log regret by default where an optimum is known
    y = st.sidebar.radio("Value", Y_KINDS, index=1 if known else 0,
                         help="log10 regret: log10 |best so far - optimum|, for problems with a known optimum")
    x = st.sidebar.radio("Against", x_kinds(entry.ds), index=0,
                         help="seconds: the cell's wall time; a cost axis: the cumulative cost (seeds resampled "
                              "onto a common grid)")
    chosen = st.sidebar.multiselect("Solvers", entry.solvers, default=entry.solvers)
    live(entry, lambda current: show_convergence(current, y=y, x=x, solvers=chosen or None))
