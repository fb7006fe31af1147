"""At a glance, the most recently updated study: which solver wins (the leaderboard) and how (the
convergence curves); below, every study under the runs folder. Refreshed every few seconds: a new or
running study shows up on its own."""

from urllib.parse import quote

import numpy as np
import pandas as pd
import streamlit as st

from dashboards.common import REFRESH_SECONDS, partial_notice, read, runs_dir, studies
from dashboards.panels import export_buttons, show_convergence, show_leaderboard

st.title("Studies")
st.caption(f"Runs folder: `{runs_dir()}`. The pages in the sidebar show any study in detail.")


@st.fragment(run_every=REFRESH_SECONDS)
def overview() -> None:
    listed = studies()
    if not listed:
        st.info("No studies here yet. Run one: `workbench run studies/quickstart.py`.")
        return
    latest = next((folder for folder, row, _, _ in listed if row is not None), None)
    entry = read(latest) if latest is not None else None
    if entry is not None and entry.ok:
        st.subheader(f"Latest: {entry.name}")
        partial_notice(entry)
        show_leaderboard(entry, key="latest")
        known = bool(np.isfinite(entry.ds.optimum.values).any())
        show_convergence(entry, y="log10 regret" if known else "best")

    st.subheader("All studies")
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
    for folder, row, problem, _ in listed:
        if row is None:
            st.error(f"**{folder.name}**: {problem}")
        elif problem:
            st.warning(f"**{folder.name}**: {problem}")
    if any(is_live for *_, is_live in listed):
        st.caption(f"A study is running: this page refreshes every {REFRESH_SECONDS} s.")


overview()
