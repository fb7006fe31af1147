"""Every study under the runs folder, refreshed every few seconds (a new or running study shows up)."""

from urllib.parse import quote

import pandas as pd
import streamlit as st

from dashboards.common import REFRESH_SECONDS, export_buttons, runs_dir, studies

st.title("Studies")
st.caption(f"Runs folder: `{runs_dir()}`. Pick a study in the sidebar of the other pages.")


@st.fragment(run_every=REFRESH_SECONDS)
def table() -> None:
    listed = studies()
    if not listed:
        st.info("No studies here yet. Run one: `workbench run studies/quickstart.py`.")
        return
    rows = [row for _, row, _, _ in listed if row is not None]
    if rows:
        frame = pd.DataFrame(rows)
        shown = frame.assign(study=["convergence?study=" + quote(name) for name in frame["study"]])
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "study": st.column_config.LinkColumn("study", display_text=r"convergence\?study=(.*)",
                                                 help="open its convergence curves"),
            "done": st.column_config.NumberColumn("done", help="cells with every evaluation run"),
            "running": st.column_config.NumberColumn("running", help="cells started, not finished"),
            "failed": st.column_config.NumberColumn("failed", help="cells whose solver broke, or whose evaluations all failed"),
            "pending": st.column_config.NumberColumn("pending", help="cells not started"),
        })
        export_buttons(frame, "studies")
    for folder, row, error, _ in listed:
        if row is None:
            st.error(f"**{folder.name}**: {error}")
    if any(is_live for *_, is_live in listed):
        st.caption(f"A study is running: this table refreshes every {REFRESH_SECONDS} s.")


table()
