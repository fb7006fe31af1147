"""Every page, run by Streamlit's AppTest on results of a real tiny run."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "dashboards" / "views"


@pytest.fixture
def page(runs, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))

    def run(name: str, **query: str) -> AppTest:
        at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def test_studies_page_lists_every_study_and_the_corrupt_one_apart(page):
    at = page("studies")
    table = at.dataframe[0].value
    assert set(table["study"]) == {"tiny", "other"}
    assert table.set_index("study").loc["tiny", "done"] == 8
    assert any("broken" in e.value and "cannot read results file" in e.value for e in at.error)


def test_convergence_page_draws_one_panel_per_problem(page):
    at = page("convergence", study="tiny")
    assert [h.value for h in at.subheader] == ["branin", "edgy"]
    assert at.sidebar.selectbox[0].value == "tiny"
    assert at.sidebar.radio[0].value == "log10 regret"  # the optimum is known
    at.sidebar.multiselect[0].set_value(["random"]).run()
    assert not at.exception


def test_leaderboard_page_shows_the_papers_table(page):
    at = page("leaderboard", study="tiny")
    table = at.dataframe[0].value
    assert list(table.columns) == ["solver", "branin", "edgy", "avg rank"]
    assert table["solver"].tolist() == ["random", "optuna-tpe"]
    at.sidebar.radio[0].set_value("regret").run()
    assert not at.exception and "final regret" in at.caption[0].value


def test_cell_page_shows_trials_and_failures(page):
    at = page("cell", study="tiny")
    at.sidebar.selectbox[1].set_value("edgy").run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    trials = frames[-1]
    assert len(trials) == 10 and "x" in trials.columns
    assert (trials["state"] == "FAIL").any()
    assert any("failed evaluations" in e.value for e in at.error)


def test_compare_page_overlays_shared_problems(page):
    at = page("compare", a="tiny", b="other")
    assert [h.value for h in at.subheader] == ["branin"]


def test_a_study_name_escaping_the_runs_folder_is_refused(page):
    at = page("leaderboard", study="../../etc")
    assert any("Refused" in e.value for e in at.error)
    assert at.sidebar.selectbox[0].value in ("tiny", "other")  # falls back to a study inside the folder
