"""The training family's page: surrogate gradients. A final score (test accuracy by default) against each
problem's surrogate slope, one line per surrogate kind (the straight-through kinds, which have no slope, as
horizontal rules), a panel per network and solver: the mean over seeds and a min-max band; below, the best
slope of each kind. The tables are computed by ``workbench.families.training.surrogate_views``."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.common import live, pick_study
from dashboards.panels import export_buttons
from workbench.families.training.surrogate_views import best_per_kind, surrogate_scores, surrogate_summary
from workbench.families.training.views import SCORES

st.title("Surrogate gradients")
entry = pick_study()
if entry is not None and entry.ds.attrs.get("family") != "training":
    st.info(f"This page shows studies of the training family; {entry.name!r} is of the "
            f"{entry.ds.attrs.get('family', 'blackbox')} family.")
elif entry is not None:
    score = st.sidebar.radio("Score", SCORES, index=SCORES.index("test_accuracy"),
                             help="the final value of each cell: training loss, its gap to f*, test loss or accuracy")

    def chart(summary: pd.DataFrame) -> alt.FacetChart:
        summary = summary.assign(panel=summary["network"] + " · " + summary["solver"])
        color = alt.Color("kind:N", title="surrogate", scale=alt.Scale(scheme="tableau10"))
        x = alt.X("slope:Q", title="slope (k, α or ReSTE's o)", scale=alt.Scale(type="log"))
        sloped = summary.dropna(subset=["slope"])
        flat = summary[summary["slope"].isna()]
        tooltip = ["kind", "slope", "mean", "median", "lo", "hi", "seeds", "diverged"]
        band = alt.Chart(sloped).mark_area(opacity=0.15).encode(x=x, y=alt.Y("lo:Q", title=score, scale=alt.Scale(zero=False)),
                                                               y2="hi:Q", color=color)
        line = alt.Chart(sloped).mark_line(point=True).encode(x=x, y=alt.Y("mean:Q", title=score), color=color,
                                                              tooltip=tooltip)
        rules = alt.Chart(flat).mark_rule(strokeDash=[6, 4]).encode(y="mean:Q", color=color, tooltip=tooltip)
        return (alt.layer(band, line, rules, data=summary).properties(width=360, height=260)
                .facet(facet=alt.Facet("panel:N", title=None), columns=2, data=summary)
                .resolve_scale(y="independent")
                .configure_legend(orient="bottom", columns=4, title=None))

    def draw(current) -> None:
        frame = surrogate_scores(current.ds)
        if frame.empty:
            st.info("No problem of this study declares a surrogate gradient (or no cell has recorded an epoch yet).")
            return
        summary = surrogate_summary(frame, score)
        if summary["mean"].isna().all():
            st.info(f"No finite {score} recorded yet.")
            return
        seeds = frame["seed"].nunique()
        st.caption(f"**{current.title}**: final {score} against the surrogate's slope, mean over {seeds} seeds with "
                   f"a min-max band; dashed rules: the kinds without a slope; diverged cells are left out and counted.")
        figure = chart(summary)
        st.altair_chart(figure)
        higher = score == "test_accuracy"
        st.subheader("Best slope of each surrogate")
        st.dataframe(best_per_kind(summary, higher_is_better=higher), hide_index=True)
        export_buttons(frame, f"{current.name}-surrogates", figure, title=f"{current.title}: {score}")

    live(entry, draw)
