"""The workbench dashboard (Streamlit): thin pages over workbench.dashboard's pure functions."""
