"""Every study under the runs folder, refreshed while any of them runs."""

import pandas as pd
import streamlit as st

from dashboards.common import REFRESH_SECONDS, export_buttons, runs_dir, studies
from workbench.dashboard.catalog import study_table

st.title("Studies")
st.caption(f"Runs folder: {runs_dir()}")


@st.fragment(run_every=REFRESH_SECONDS)
def table() -> None:
    entries = studies()
    if not entries:
        st.info("No studies yet. Run one: `workbench run studies/quickstart.py`.")
        return
    rows = study_table(entries)
    frame = pd.DataFrame(rows)
    good = frame[frame["status"] != "unreadable"].drop(columns=["error"])
    if len(good):
        st.dataframe(good, hide_index=True, width="stretch")
        export_buttons(good, "studies")
    for row in rows:
        if row["status"] == "unreadable":
            st.error(f"**{row['study']}**: {row['error']}")
    if any(e.live for e in entries):
        st.caption(f"A study is running: this table refreshes every {REFRESH_SECONDS} s.")


table()
