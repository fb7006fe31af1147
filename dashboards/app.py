"""Entry point: `workbench dashboard [RUNS_DIR]` serves this file with Streamlit."""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `dashboards` importable when run by path

from workbench.family import families  # noqa: E402

HERE = Path(__file__).parent
st.set_page_config(page_title="workbench", layout="wide")
pages = [
    st.Page(HERE / "views" / "studies.py", title="Studies", default=True),
    st.Page(HERE / "views" / "convergence.py", title="Convergence"),
    st.Page(HERE / "views" / "leaderboard.py", title="Leaderboard"),
    st.Page(HERE / "views" / "cell.py", title="Cell detail"),
    st.Page(HERE / "views" / "compare.py", title="Compare"),
]
pages += [st.Page(page.path, title=page.title) for _, family in families.items() for page in family.pages]
st.navigation(pages).run()
