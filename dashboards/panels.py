"""Blocks of drawing the pages share: the convergence figure, the leaderboard, export buttons. They draw
what ``dashboards.common`` reads and ``workbench.browse`` computes."""

from __future__ import annotations

import io
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.common import convergence_of, leaderboard_of
from workbench.browse.folders import StudyEntry
from workbench.report import leaderboard, metric_of, note, title


def show_convergence(entry: StudyEntry, *, y: str, x: str = "evaluations", solvers: list[str] | None = None) -> None:
    """The study's convergence figure (a panel per problem) with its caption and export buttons."""
    frame = convergence_of(entry.folder, y=y, x=x, solvers=solvers, common_steps=entry.live)
    if frame.empty:
        st.info("Nothing to plot yet" + (" (no problem here has a known optimum)." if y != "best" else "."))
        return
    if y == "best":
        goal = ", ".join(f"{p} {'↓' if d == 'minimize' else '↑'}" for p, d in
                         zip(entry.ds.problem.values, entry.ds.direction.values) if p in set(frame["problem"]))
    else:
        goal = "lower is better"
    what = "best value so far" if y == "best" else "log10 regret of the best so far"
    st.caption(f"**{entry.title}**: {what}, mean over {len(entry.seeds)} seeds, band ± one standard error ({goal}).")
    chart = curves_chart(frame, x_title=x, y_title=y if y != "best" else "best so far", color_order=entry.solvers)
    st.altair_chart(chart)
    export_buttons(frame, f"{entry.name}-convergence", chart, title=f"{entry.title}: {y}")


def show_leaderboard(entry: StudyEntry, metric: str | None = None, *, key: str = "") -> None:
    """The papers' table with its caption and CSV export (default score: the study family's first metric)."""
    chosen = metric_of(entry.ds, metric)
    how = "; ".join(note(leaderboard(entry.ds, chosen.name), chosen))
    st.caption(f"**{entry.title}**: {title(entry.ds, chosen)}, mean ± std over {len(entry.seeds)} seeds (rank per "
               f"problem); best in bold; {how}.")
    table, numbers = leaderboard_of(entry.folder, chosen.name)
    st.markdown(table)
    export_buttons(numbers, f"{entry.name}-leaderboard-{chosen.name}", key=key)


def curves_chart(frame: pd.DataFrame, *, x_title: str, y_title: str, color_order: list[str] | None = None,
                 dash: str | None = None, dash_order: list[str] | None = None, band: bool = True,
                 columns: int = 2) -> alt.FacetChart:
    """One figure, a panel per problem: mean curves with a standard-error band, each panel with its own
    scales. Colors by solver in ``color_order`` (the same solver, the same color in every panel); ``dash``:
    a column told apart by line style, the first of ``dash_order`` solid; ``band=False``: lines only. One
    figure rather than a chart per problem: the browser draws it in one go, markedly faster on big studies."""
    scale = alt.Scale(scheme="tableau10", domain=color_order) if color_order else alt.Scale(scheme="tableau10")
    enc: dict[str, Any] = {"color": alt.Color("solver:N", title="solver", scale=scale, sort=color_order)}
    if dash:
        dashes = alt.Scale(domain=dash_order, range=[[1, 0], [6, 3]]) if dash_order else alt.Undefined
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=dash, scale=dashes)
    bands = alt.Chart().mark_area(opacity=0.18).encode(
        x=alt.X("x:Q", title=x_title), y=alt.Y("lo:Q", title=y_title, scale=alt.Scale(zero=False)), y2="hi:Q", **enc
    )
    line = alt.Chart().mark_line().encode(
        x=alt.X("x:Q", title=x_title), y=alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=False)),
        tooltip=["problem", "solver", *([dash] if dash else []), "x", "mean", "seeds"], **enc,
    )
    n = frame["problem"].nunique() if len(frame) else 1
    width = 760 if n == 1 else 360
    return (
        alt.layer(*([bands] if band else []), line, data=frame).properties(width=width, height=240)
        .facet(facet=alt.Facet("problem:N", title=None, sort=list(dict.fromkeys(frame["problem"]))), columns=columns)
        .resolve_scale(x="independent", y="independent")
        .configure_legend(orient="bottom", columns=4, title=None, symbolType="stroke", symbolStrokeWidth=3,
                          symbolOpacity=1)
        .configure_header(labelFontSize=15, labelFontWeight="bold")
    )


def export_buttons(frame: pd.DataFrame, name: str, chart: alt.Chart | None = None, *, title: str = "",
                   key: str = "") -> None:
    """Download the table as CSV and, when given, the figure as PNG (with ``title``; rendered on click)."""
    with st.container(horizontal=True):
        st.download_button("CSV", frame.to_csv(index=False).encode(), file_name=f"{name}.csv", mime="text/csv",
                           key=f"csv-{key}{name}", help=f"download the table: {name}.csv",
                           icon=":material/download:")
        if chart is not None:
            st.download_button("PNG", lambda: png(chart, title), file_name=f"{name}.png", mime="image/png",
                               key=f"png-{key}{name}", help=f"download the figure: {name}.png",
                               icon=":material/download:", on_click="ignore")


def png(chart: alt.Chart, title: str = "") -> bytes:
    """The chart as a PNG image (drawn by vl-convert, offline), twice the screen resolution."""
    buf = io.BytesIO()
    (chart.properties(title=title) if title else chart).save(buf, format="png", scale_factor=2)
    return buf.getvalue()
