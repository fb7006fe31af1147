"""The dashboard's server process: imports what every page needs (torch, xarray, optuna, altair come with
it) before handing over to Streamlit's own command line, so the first visitor does not wait for them."""

from __future__ import annotations

import sys

import altair  # noqa: F401
import streamlit.web.cli

import workbench.browse.folders  # noqa: F401
import workbench.browse.views  # noqa: F401

if __name__ == "__main__":
    sys.exit(streamlit.web.cli.main())
