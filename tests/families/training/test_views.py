"""The training family's learning-rate view: the tidy table from a tiny real study with a grid of learning
rates (one solver entry per rate), its bands over seeds, and the family's dashboard page drawing it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from streamlit.testing.v1 import AppTest

from problems.training import SyntheticLogistic
from workbench import Study
from workbench.families.training import TrainingFamily
from workbench.families.training.views import learning_rates, lr_bands, lr_sensitivity
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers.training import SGD, Adam


@pytest.fixture(scope="module")
def lr_run(tmp_path_factory):
    """Two epochs of SGD at two rates and one that diverges, and Adam at one rate, on 120 examples."""
    runs = tmp_path_factory.mktemp("lr-runs")
    problem = SyntheticLogistic(n=200, d=5, batch_size=50, name="tiny-logistic")
    solvers = [SGD(lr=0.1, name="sgd(lr=0.1)"), SGD(lr=1.0, name="sgd(lr=1)"), SGD(lr=1e200, name="sgd(lr=1e200)"),
               Adam(lr=0.01, name="adam(lr=0.01)")]
    study = Study("lr-grid", problems=[problem], solvers=solvers, seeds=[0, 1], budget=2)
    Runner(study, run_dir=runs / "lr-grid", device="cpu").run()
    return runs, load_results(runs / "lr-grid")


def test_each_solvers_rate_comes_from_the_declaration(lr_run):
    _, ds = lr_run
    rates = learning_rates(ds)
    assert rates["solver"].tolist() == ["sgd(lr=0.1)", "sgd(lr=1)", "sgd(lr=1e200)", "adam(lr=0.01)"]
    assert rates["lr"].tolist() == [0.1, 1.0, 1e200, 0.01] and set(rates["source"]) == {"declaration"}
    assert rates["optimizer"].tolist() == ["sgd", "sgd", "sgd", "adam"] and rates["kind"].tolist()[-1] == "adam"


def test_the_tidy_table_has_a_row_per_cell_with_final_scores(lr_run):
    _, ds = lr_run
    frame = lr_sensitivity(ds)
    assert list(frame.columns[:8]) == ["problem", "solver", "optimizer", "kind", "lr", "seed", "diverged", "epochs"]
    assert {"train_loss", "test_accuracy", "test_loss", "gap"} <= set(frame.columns) and len(frame) == 8
    ok = frame[~frame["diverged"]]
    assert len(ok) == 6 and (ok["epochs"] == 2).all() and np.isfinite(ok["train_loss"]).all()
    assert ok["test_accuracy"].between(0, 1).all() and (ok["gap"] >= -1e-9).all()
    last = ds["value"].sel(problem="tiny-logistic", solver="sgd(lr=0.1)", seed=1).values[-1]
    assert ok[(ok["solver"] == "sgd(lr=0.1)") & (ok["seed"] == 1)]["train_loss"].item() == last
    assert (ok["train_loss"] != ok["train_loss"].astype(np.float32)).any()  # the step's value kept in float64
    bad = frame[frame["diverged"]]
    assert bad["lr"].tolist() == [1e200, 1e200] and (bad["epochs"] == 1).all()

    bands = lr_bands(frame)
    assert bands[["optimizer", "lr"]].values.tolist() == [["adam", 0.01], ["sgd", 0.1], ["sgd", 1.0], ["sgd", 1e200]]
    sgd = bands[bands["lr"] == 0.1].iloc[0]
    seeds = ok[ok["solver"] == "sgd(lr=0.1)"]["train_loss"]
    assert sgd["median"] == pytest.approx(seeds.median()) and (sgd["lo"], sgd["hi"]) == (seeds.min(), seeds.max())
    assert sgd["seeds"] == 2 and sgd["diverged"] == 0
    gone = bands[bands["lr"] == 1e200].iloc[0]
    assert math.isnan(gone["median"]) and gone["seeds"] == 0 and gone["diverged"] == 2
    quart = lr_bands(frame, "test_accuracy", "quartiles").dropna()
    assert len(quart) == 3 and (quart["lo"] <= quart["median"]).all() and (quart["median"] <= quart["hi"]).all()
    with pytest.raises(ValueError, match="score must be one of"):
        lr_bands(frame, "nope")


def test_without_a_stored_declaration_the_rate_is_read_from_the_label(lr_run):
    _, ds = lr_run
    live = ds.copy()
    live.attrs["study"] = json.dumps({"name": "lr-grid"})  # a study read from its storage alone
    rates = learning_rates(live)
    assert rates["lr"].tolist() == [0.1, 1.0, 1e200, 0.01] and set(rates["source"]) == {"label"}
    assert lr_sensitivity(live)[["lr", "train_loss"]].equals(lr_sensitivity(ds)[["lr", "train_loss"]])


def test_options_that_differ_within_a_kind_name_the_line():
    declared = [{"name": "a", "class": "workbench.solvers.training.basic.SGD", "options": {"name": "a", "lr": 0.1, "momentum": 0.0}},
                {"name": "b", "class": "workbench.solvers.training.basic.SGD", "options": {"name": "b", "lr": 0.3, "momentum": 0.9}},
                {"name": "c", "class": "workbench.solvers.training.basic.Adam", "options": {"name": "c", "lr": 0.01, "beta1": 0.9}}]
    ds = xr.Dataset(coords={"solver": ["a", "b", "c", "adam(lr=1e-3, beta1=0.8)", "mystery"]},
                    attrs={"study": json.dumps({"solvers": declared})})
    rates = learning_rates(ds)
    assert rates["optimizer"].tolist() == ["sgd(momentum=0)", "sgd(momentum=0.9)", "adam", "adam(beta1=0.8)", "mystery"]
    assert rates["lr"].tolist()[:4] == [0.1, 0.3, 0.01, 1e-3] and math.isnan(rates["lr"].iloc[4])
    assert rates["source"].tolist() == ["declaration"] * 3 + ["label", "unknown"]


def test_grid_labels_with_semicolons_are_read():
    """Labels of ``workbench.solvers.training.grids.grid`` separate options with ';'."""
    ds = xr.Dataset(coords={"solver": ["sgd(lr=0.1;momentum=0.9)", "sgd(momentum=0.9;lr=1)", "sgd(lr=0.1)"]})
    rates = learning_rates(ds)
    assert rates["lr"].tolist() == [0.1, 1.0, 0.1]
    assert rates["kind"].tolist() == ["sgd(momentum=0.9)", "sgd(momentum=0.9)", "sgd"]


def test_the_family_page_draws_the_rates(lr_run, monkeypatch):
    runs, _ = lr_run
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    page = TrainingFamily.pages[0]
    at = AppTest.from_file(page.path, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Learning rates" and at.sidebar.radio[0].value == "train_loss"
    [chart] = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["facet"]["field"] == "problem" and spec["spec"]["layer"][1]["encoding"]["x"]["scale"]["type"] == "log"
    assert at.dataframe[0].value["lr"].tolist() == [1e200, 1e200]  # the diverged cells, listed
    at.sidebar.radio[0].set_value("test_accuracy").run()
    assert not at.exception, at.exception
