"""The toy family's own dashboard page: each cell's bracket width step by step (a family page, drawn by the
same shell as the built-in pages)."""

import streamlit as st

from dashboards.common import live, pick_study

st.title("Brackets")
entry = pick_study()
if entry is not None:

    def draw(current) -> None:
        if "width" not in current.ds:
            st.info("This study records no bracket widths.")
            return
        frame = current.ds["width"].to_dataframe().dropna().reset_index()
        st.dataframe(frame[["problem", "solver", "seed", "step", "width"]], hide_index=True)

    live(entry, draw)
