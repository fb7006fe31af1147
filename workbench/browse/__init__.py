"""Pure functions behind the dashboard: results and Optuna trials in, plot-ready tables out.
The Streamlit pages in ``dashboards/`` only draw what these return."""
