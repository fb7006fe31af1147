"""The workbench dashboard (Streamlit): thin pages over workbench.browse's pure functions."""
