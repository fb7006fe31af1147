"""The training family's page: learning-rate sensitivity. A final score (training loss by default) against
each solver's learning rate, one line per optimizer, a panel per problem: the median over seeds and a band
(min to max, or the quartiles). The table is computed by ``workbench.families.training.views``."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.common import live, pick_study
from dashboards.panels import export_buttons
from workbench.families.training.views import SCORES, learning_rates, lr_bands, lr_sensitivity

BANDS = {"min – max": "minmax", "quartiles": "quartiles"}

st.title("Learning rates")
entry = pick_study()
if entry is not None and entry.ds.attrs.get("family") != "training":
    st.info(f"This page shows studies of the training family; {entry.name!r} is of the "
            f"{entry.ds.attrs.get('family', 'blackbox')} family.")
elif entry is not None:
    score = st.sidebar.radio("Score", SCORES, index=0,
                             help="the final value of each cell: training loss, its gap to f*, test loss or accuracy")
    band = st.sidebar.radio("Band over seeds", list(BANDS), index=0)
    log_y = st.sidebar.checkbox("log y", value=score in ("train_loss", "gap", "test_loss"))

    def chart(bands: pd.DataFrame) -> alt.FacetChart:
        enc = {"color": alt.Color("optimizer:N", title="optimizer", scale=alt.Scale(scheme="tableau10"))}
        x = alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log"))
        y_scale = alt.Scale(type="log" if log_y else "linear", zero=False)
        area = alt.Chart().mark_area(opacity=0.18).encode(x=x, y=alt.Y("lo:Q", title=score, scale=y_scale),
                                                          y2="hi:Q", **enc)
        line = alt.Chart().mark_line(point=True).encode(
            x=x, y=alt.Y("median:Q", title=score, scale=y_scale),
            tooltip=["problem", "optimizer", "lr", "median", "lo", "hi", "seeds", "diverged"], **enc)
        width = 760 if bands["problem"].nunique() == 1 else 360
        return (alt.layer(area, line, data=bands).properties(width=width, height=260)
                .facet(facet=alt.Facet("problem:N", title=None, sort=list(dict.fromkeys(bands["problem"]))), columns=2)
                .resolve_scale(x="independent", y="independent")
                .configure_legend(orient="bottom", columns=4, title=None)
                .configure_header(labelFontSize=15, labelFontWeight="bold"))

    def draw(current) -> None:
        rates = learning_rates(current.ds)
        unknown = rates.loc[rates["lr"].isna(), "solver"].tolist()
        if unknown:
            st.caption(f"No learning rate known for {', '.join(unknown)} (neither declared nor in the label): left out.")
        frame = lr_sensitivity(current.ds)
        if frame.empty:
            st.info("No cell with a known learning rate has recorded an epoch yet.")
            return
        bands = lr_bands(frame, score, BANDS[band]).dropna(subset=["median"])
        if bands.empty:
            st.info(f"No finite {score} recorded yet" + (" (a classification score?)." if score == "test_accuracy" else "."))
        else:
            seeds = frame["seed"].nunique()
            st.caption(f"**{current.title}**: final {score} against the learning rate, median over {seeds} seeds, "
                       f"band {band}; diverged cells are left out and counted (hover a point).")
            figure = chart(bands)
            st.altair_chart(figure)
            export_buttons(frame, f"{current.name}-learning-rates", figure, title=f"{current.title}: {score}")
        diverged = frame[frame["diverged"]]
        if len(diverged):
            st.subheader("Diverged")
            st.dataframe(diverged[["problem", "solver", "lr", "seed", "epochs"]], hide_index=True)

    live(entry, draw)
