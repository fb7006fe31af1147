"""The noise-search page's data (pick curves, bands, norm paths, hacking gains, image pairs and grids) and
the page itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.families.noise.toy import Toy
from workbench import Study
from workbench.artifacts import FOLDER, Artifacts
from workbench.browse.views import artifact_value, cell_artifacts
from workbench.budget import Budget
from workbench.families.noise.views import bands, grid, hacking, image_pair, norm_paths, pick_curves
from workbench.recorder import open_storage
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers.noise import BestOfN, ReNO

PAGE = Path(__file__).resolve().parents[3] / "dashboards" / "views" / "noise.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    study = Study("tiny-noise", problems=[Toy(), Toy(seed=1, name="toy-b")], solvers=[ReNO(lr=1.0), BestOfN()],
                  seeds=[0, 1], budget=Budget(reward_calls=6))
    Runner(study, run_dir=root / study.name, device="cpu").run()
    return root


def test_pick_curves_follow_the_best_observed_reward(runs):
    ds = load_results(runs / "tiny-noise")
    curves = pick_curves(ds)
    cell = curves[(curves.problem == "toy-noise") & (curves.solver == "best-of-n") & (curves.seed == 0)]
    values = ds["value"].sel(problem="toy-noise", solver="best-of-n", seed=0).values
    np.testing.assert_allclose(cell["value"], np.maximum.accumulate(values))  # no reward noise: the running max
    assert list(cell["reward_calls"]) == [1, 2, 3, 4, 5, 6]
    b = bands(curves, "value")
    assert set(b.solver) == {"reno", "best-of-n"} and (b["low"] <= b["mean"]).all() and (b["n"] == 2).all()
    assert np.isfinite(norm_paths(ds)["norm_ratio"]).all()
    gains = hacking(ds)
    assert len(gains) == 8 and (gains["reward_gain"] >= -1e-12).all()  # the pick is never below the first image


def test_the_first_and_picked_images_come_back_from_the_artifacts(runs):
    storage = open_storage(f"sqlite:///{runs / 'tiny-noise' / 'optuna.db'}")
    import optuna

    study = optuna.load_study(study_name="tiny-noise/toy-noise/best-of-n/0", storage=storage)
    refs = cell_artifacts(study.get_trials(deepcopy=False))
    store = Artifacts(runs / "tiny-noise" / FOLDER)
    first, pick = image_pair(refs, lambda *a: artifact_value(store, *a))
    assert first.shape == (2, 2, 1) and first.dtype == np.uint8
    ds = load_results(runs / "tiny-noise")
    values = ds["value"].sel(problem="toy-noise", solver="best-of-n", seed=0).values
    assert int(refs[refs.name == "image"].step.max()) == int(np.nanargmax(values))
    picture = grid({("toy-noise", "best-of-n"): (first, pick)}, ["toy-noise", "toy-b"], ["best-of-n", "reno"], scale=2)
    assert picture.shape == (2 * (2 + 1 + 2), 2 * (2 * 2 + 1 + 2 * 2), 3)


def test_the_page_draws_images_curves_and_gains(runs, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.query_params["study"] = "tiny-noise"
    at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader] == ["Images: first and picked", "Reward of the pick",
                                                "Held-out judge of the pick", "‖ε‖ / √d over the steps",
                                                "Optimized reward against the held-out judge"]
