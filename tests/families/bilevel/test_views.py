"""The bilevel page's data (problem rebuilt from the results, loss surface, θ paths, incumbents) and the page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from problems.bilevel import BilevelQuadratic, TVDenoising
from workbench import Study
from workbench.browse.views import cell_trials
from workbench.budget import Budget
from workbench.families.bilevel.views import incumbent, loss_surface, lower_solution, rebuild, theta_path
from workbench.recorder import open_storage
from workbench.results import load_results
from workbench.runner import Runner
from workbench.solvers.bilevel import HOAG

PAGE = Path(__file__).resolve().parents[3] / "dashboards" / "views" / "bilevel.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    study = Study("tiny-bilevel", problems=[BilevelQuadratic(n=30, m=3), TVDenoising(size=12)],
                  solvers=[HOAG(), "random"], seeds=[1], budget=Budget(lower_iterations=60))
    Runner(study, run_dir=root / study.name, device="cpu").run()
    return root


def test_the_problem_is_rebuilt_with_the_cell_s_data(runs):
    ds = load_results(runs / "tiny-bilevel")
    problem = rebuild(ds, "tv-denoising", 1)
    assert isinstance(problem, TVDenoising) and problem.size == 12
    torch.testing.assert_close(problem.noisy, TVDenoising(size=12).bind(1).noisy)
    assert rebuild(ds, "no-such-problem", 1) is None


def test_the_loss_surface_is_the_upper_loss_at_solved_lower_levels():
    problem = TVDenoising(size=12)
    grid = loss_surface(problem, 3, box=((-5.0, -1.0), (-5.0, -3.0)))
    assert len(grid) == 9 and np.isfinite(grid["value"]).all()
    row = grid.iloc[4]
    x, _ = lower_solution(problem, (row["theta_x"], row["theta_y"]))
    assert float(problem.upper(x)) == pytest.approx(row["value"], rel=1e-3)
    with pytest.raises(ValueError, match="2-D"):
        loss_surface(BilevelQuadratic(n=10, m=3), 3)


def test_theta_paths_and_incumbents_come_from_the_recorded_trials(runs):
    ds = load_results(runs / "tiny-bilevel")
    storage = open_storage(f"sqlite:///{runs / 'tiny-bilevel' / 'optuna.db'}")
    import optuna

    study = optuna.load_study(study_name="tiny-bilevel/tv-denoising/hoag/1", storage=storage)
    frame = cell_trials(study.trials, TVDenoising(size=12).space)
    path = theta_path(frame, ["log_alpha", "log_nu"])
    recorded = ds["failed"].sel(problem="tv-denoising", solver="hoag", seed=1).values >= 0
    assert list(path["step"]) == sorted(path["step"]) and len(path) == int(recorded.sum())
    best = incumbent(ds, "tv-denoising", "hoag", 1)
    values = ds["value"].sel(problem="tv-denoising", solver="hoag", seed=1).values
    assert values[best] == np.nanmin(values)


def test_the_page_draws_paths_and_images_and_explains_other_problems(runs, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.query_params["study"] = "tiny-bilevel"
    at.run()
    assert not at.exception, at.exception
    # the first problem the page can draw is chosen: the quadratic has nothing but its curves
    assert at.sidebar.selectbox[1].value == "tv-denoising"
    assert [s.value for s in at.subheader] == ["θ paths over the upper-level loss", "Denoised at each solver's incumbent θ"]
    at.sidebar.selectbox[1].select("bilevel-quadratic").run()
    assert not at.exception and "has 3 hyperparameters and no images" in at.info[0].value
