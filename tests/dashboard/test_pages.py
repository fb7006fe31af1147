"""Every page, run by Streamlit's AppTest on the results of real tiny runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from workbench.family import families

APP = Path(__file__).resolve().parents[2] / "dashboards"


@pytest.fixture
def page(runs, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))

    def run(name: str, **query: str) -> AppTest:
        at = AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=60)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def charts(at: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Each Vega-Lite figure on the page: its spec and the table it draws."""
    out = []
    for chart in at.get("vega_lite_chart"):
        data = chart.proto.datasets[0].data.data if chart.proto.datasets else chart.proto.data.data
        out.append((json.loads(chart.proto.spec), pa.ipc.open_stream(data).read_pandas()))
    return out


def downloads(at: AppTest) -> list[str]:
    return [b.proto.help.split(": ")[-1] for b in at.get("download_button")]


def test_the_app_opens_on_the_studies_page(runs, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(APP / "app.py"), default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Studies"


@pytest.mark.parametrize("path", [p.path for _, f in families.items() for p in f.pages], ids=lambda p: Path(p).stem)
def test_every_family_page_opens_on_a_study_of_another_family(runs, monkeypatch, path):
    """The pages families add (the app's navigation lists them all) open, and say so, on a black-box study."""
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    at = AppTest.from_file(path, default_timeout=60)
    at.query_params["study"] = "tiny"
    at.run()
    assert not at.exception, at.exception
    if Path(path).stem == "training_lr":
        assert "shows studies of the training family; 'tiny' is of the blackbox family" in at.info[0].value


def test_studies_page_lists_every_study_and_the_corrupt_one_apart(page):
    at = page("studies")
    links = at.dataframe[0].value["study"]
    assert set(links) == {"convergence?study=tiny", "convergence?study=other", "convergence?study=running"}
    table = at.dataframe[0].value.assign(study=links.str.split("=").str[1]).set_index("study")
    assert table.loc["tiny", "done"] == 8 and table.loc["tiny", "status"] == "complete"
    assert table.loc["running", "status"] == "running" and table.loc["running", "running"] == 1
    assert any("broken" in e.value and "cannot read results file" in e.value for e in at.error)
    assert downloads(at) == ["running-leaderboard-best.csv", "running-convergence.csv", "running-convergence.png",
                             "studies.csv"]


def test_studies_page_shows_the_latest_studys_leaderboard_and_curves_at_a_glance(tmp_path, runs, monkeypatch):
    import shutil

    shutil.copytree(runs / "tiny", tmp_path / "tiny")
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP / "views" / "studies.py"), default_timeout=60).run()
    assert not at.exception and at.subheader[0].value == "Latest: tiny" and not at.warning
    assert at.markdown[0].value.startswith("| solver | branin ↓ | edgy ↓ | avg rank |")
    [(spec, data)] = charts(at)
    assert spec["facet"]["sort"] == ["branin", "edgy"] and set(data["solver"]) == {"random", "optuna-tpe"}


def test_convergence_page_draws_one_panel_per_problem(page):
    at = page("convergence", study="tiny")
    assert at.sidebar.selectbox[0].value == "tiny" and at.query_params["study"] == "tiny"
    assert at.sidebar.radio[0].value == "log10 regret"  # the optimum is known
    assert not at.warning  # complete: nothing partial to say
    [(spec, data)] = charts(at)
    assert spec["facet"]["field"] == "problem" and spec["facet"]["sort"] == ["branin", "edgy"]
    assert set(data["solver"]) == {"random", "optuna-tpe"} and data["x"].max() == 10
    assert downloads(at) == ["tiny-convergence.csv", "tiny-convergence.png"]
    at.sidebar.multiselect[0].set_value(["random"]).run()
    at.sidebar.radio[1].set_value("seconds").run()
    assert not at.exception
    [(_, data)] = charts(at)
    assert set(data["solver"]) == {"random"} and data["x"].max() < 60  # seconds of wall time


def test_a_running_study_shows_partial_curves_and_says_so(page, runs):
    (runs / "running" / "optuna.db").touch()  # written to just now: running
    at = page("convergence", study="running")
    [(spec, data)] = charts(at)
    assert spec["facet"]["sort"] == ["stops"]
    assert data["x"].max() == 4  # the running seed got to 4 evaluations: the curve stops there
    assert any("Partial results: 1 of 2 cells done, 1 under way" in w.value and "refreshes" in w.value
               for w in at.warning)


def test_leaderboard_page_shows_the_papers_table(page):
    at = page("leaderboard", study="tiny")
    table = at.markdown[0].value.splitlines()
    assert table[0] == "| solver | branin ↓ | edgy ↓ | avg rank |"
    assert [line.split(" | ")[0] for line in table[2:]] == ["| random", "| optuna-tpe"]
    cells = [line.strip("|").split("|") for line in table[2:]]
    for j in (1, 2):  # one bold entry per problem
        assert sum(row[j].strip().startswith("**") for row in cells) == 1
    at.sidebar.radio[0].set_value("regret").run()
    assert not at.exception and "final regret" in at.caption[0].value
    assert downloads(at) == ["tiny-leaderboard-regret.csv"]


def test_cell_page_shows_trials_and_failures(page):
    at = page("cell", study="tiny")
    at.sidebar.selectbox[1].set_value("edgy").run()
    assert not at.exception
    trials = at.dataframe[-1].value
    assert len(trials) == 10 and "x" in trials.columns
    assert (trials["state"] == "FAIL").any()
    assert any("failed evaluations" in e.value for e in at.error)
    assert at.subheader[0].value == "Parameters against value" and len(charts(at)) == 1
    assert "tiny-edgy-random-0-parameters.png" in downloads(at)


def test_compare_page_overlays_shared_problems(page):
    at = page("compare", a="tiny", b="other")
    [(spec, data)] = charts(at)
    assert spec["facet"]["sort"] == ["branin"] and set(data["study"]) == {"tiny", "other"}
    assert "tiny-leaderboard-best.csv" in downloads(at) and "compare-tiny-other.png" in downloads(at)
    assert [m.value.splitlines()[0] for m in at.markdown] == ["| solver | branin ↓ | edgy ↓ | avg rank |",
                                                              "| solver | branin ↓ | avg rank |"]


def test_a_corrupt_study_gets_a_clear_message_on_its_page(page):
    at = page("convergence", study="broken")
    assert any("broken" in e.value and "cannot be shown" in e.value and "cannot read results file" in e.value
               for e in at.error)
    assert not charts(at)  # nothing else drawn


@pytest.mark.parametrize("name", ["../../etc", "/etc", "..", "tiny/../../x"])
def test_a_study_name_escaping_the_runs_folder_is_refused(page, name):
    at = page("leaderboard", study=name)
    assert any("Refused" in e.value for e in at.error)
    assert at.sidebar.selectbox[0].value in ("tiny", "other", "running", "broken")  # a study inside the folder


def test_figures_export_as_png_offline(runs):
    from dashboards.panels import curves_chart, png
    from workbench.browse.views import convergence
    from workbench.results import load_results

    frame = convergence(load_results(runs / "tiny"))
    image = png(curves_chart(frame, x_title="evaluations", y_title="best so far"), "tiny")
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 20_000


@pytest.fixture(scope="module")
def offline_runs(tmp_path_factory):
    """A finished offline study (a toy task, two solvers, two seeds, 8 candidates each)."""
    from problems.offline import OfflineFunction
    from problems.synthetic import Ackley
    from workbench.runner import Runner
    from workbench.solvers import solvers
    from workbench.solvers.offline import SurrogateConfig
    from workbench.study import Study

    runs = tmp_path_factory.mktemp("offline-runs")
    tiny = SurrogateConfig(hidden=(8,), epochs=2, max_steps=10)
    study = Study("offtoy", problems=[OfflineFunction(Ackley(dim=3), pool=128, name="toy")],
                  solvers=[solvers.get("ga")(steps=5, surrogate=tiny),
                           solvers.get("cmaes-surrogate")(iterations=3, surrogate=tiny)],
                  seeds=(0, 1), budget=8)
    Runner(study, run_dir=runs / "offtoy", device="cpu").run()
    return runs


@pytest.mark.parametrize("name", ["studies", "convergence", "leaderboard", "cell", "compare"])
def test_every_page_reads_an_offline_study(offline_runs, monkeypatch, name):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(offline_runs))
    at = AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=60)
    at.query_params["study"] = "offtoy"
    at.run()
    assert not at.exception, at.exception
    if name == "leaderboard":
        assert at.sidebar.radio[0].value == "p100"
        assert "normalized 100th percentile" in at.caption[0].value
        assert at.markdown[0].value.splitlines()[0] == "| solver | toy ↑ | avg rank |"


def test_a_running_offline_study_shows_its_leaderboard(offline_runs, tmp_path, monkeypatch):
    """While an offline study runs, the pages read it from its storage (no results file yet, or an older one):
    the live view is built by the same builder as results.nc, percentiles included."""
    import shutil

    runs = Path(shutil.copytree(offline_runs, tmp_path / "runs"))
    (runs / "offtoy" / "results.nc").unlink()  # as if the runner had not written results yet
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    for name in ("leaderboard", "studies"):
        at = AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=60)
        at.query_params["study"] = "offtoy"
        at.run()
        assert not at.exception, at.exception
        assert at.markdown[0].value.splitlines()[0] == "| solver | toy ↑ | avg rank |", name
        if name == "leaderboard":
            assert at.sidebar.radio[0].value == "p100"
