"""The toy family of tests/families/bisection.py through the whole product: study, runner, results, report,
status, CLI and dashboard, with a budget in function calls, a per-step metric, artifacts and checkpoints."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import trials_recorded, workbench_cmd
from tests.families.bisection import Bisection, BisectionFamily, RegulaFalsi, RootProblem
from workbench import Study
from workbench.browse.views import convergence, x_kinds
from workbench.budget import Budget
from workbench.errors import InvalidStudyError
from workbench.recorder import Store
from workbench.report import leaderboard
from workbench.results import load_results
from workbench.runner import Runner
from workbench.status import study_status

APP = Path(__file__).resolve().parents[2] / "dashboards"


def cubic() -> RootProblem:
    return RootProblem("cubic", lambda x: x**3 - 2.0, 0.0, 2.0)


def roots_study(budget: Budget | None = None) -> Study:
    return Study("roots", problems=[cubic(), RootProblem("cos", math.cos, 0.0, 3.0)],
                 solvers=[Bisection(name="bisection"), RegulaFalsi(name="regula-falsi")], seeds=[0], budget=budget or Budget(calls=12))


@pytest.fixture(scope="module")
def roots_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("roots-runs")
    study = roots_study()
    Runner(study, run_dir=runs / "roots", device="cpu").run()
    return runs, study


def test_a_cost_budget_stops_at_the_budget_and_plots_against_the_cost_axis(roots_run):
    runs, study = roots_run
    ds = load_results(runs / "roots")
    assert ds.attrs["family"] == "bisection" and ds.axis.values.tolist() == ["calls"]
    calls = ds["cost"].sel(axis="calls")
    for cell in study.cells():
        c = calls.sel(problem=cell.problem.name, solver=cell.solver.label, seed=0).values
        ran = c[np.isfinite(c)]
        assert ran[0] == 3 and ran[-1] >= 12 > ran[-2], ran  # the step that reaches the budget is the last
    width = ds["width"].sel(problem="cubic", solver="bisection", seed=0).values
    assert width[np.isfinite(width)][-1] == pytest.approx(2.0 / 2**10)  # ten halvings in 12 calls
    curve = convergence(ds, x="calls")
    assert set(curve["x"]) <= set(range(3, 13)) and curve["x"].max() == 12 and "calls" in x_kinds(ds)
    board = leaderboard(ds, "width")
    assert board.lower_is_better == [True, True]
    assert leaderboard(ds).metric == "width"  # the family's own metric ranks first
    assert {s.state for s in study_status(study, Store(f"sqlite:///{runs / 'roots' / 'optuna.db'}"))} == {"done"}


def test_a_budget_on_an_axis_no_problem_records_fails_when_declared():
    with pytest.raises(InvalidStudyError, match=r"Study.budget: Budget\(seconds=5\) counts 'seconds', which problems \['cubic', 'cos'\] do not"):
        roots_study(Budget(seconds=5))
    with pytest.raises(InvalidStudyError, match="Budget.calls must be a finite number > 0"):
        Budget(calls=-1)
    with pytest.raises(InvalidStudyError, match=r"Study.solvers\[0\]: 'random' is a solver of the blackbox family"):
        Study("x", problems=[cubic()], solvers=["random"], budget=Budget(calls=5))


def test_a_larger_budget_resumes_a_finished_cell(tmp_path):
    Runner(roots_study(Budget(calls=6)), run_dir=tmp_path / "roots", device="cpu").run()
    ds = load_results(Runner(roots_study(Budget(calls=9)), run_dir=tmp_path / "roots", device="cpu").run())
    c = ds["cost"].sel(axis="calls", problem="cubic", solver="bisection", seed=0).values
    assert c[np.isfinite(c)].tolist() == [3, 4, 5, 6, 7, 8, 9]


def test_every_dashboard_page_shows_the_toy_family(roots_run, monkeypatch):
    runs, _ = roots_run
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(APP / "views" / "convergence.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.sidebar.radio[1].options == ["evaluations", "seconds", "calls"]
    at.sidebar.radio[1].set_value("calls").run()
    assert not at.exception, at.exception
    board = AppTest.from_file(str(APP / "views" / "leaderboard.py"), default_timeout=60)
    board.run()
    assert board.sidebar.radio[0].value == "width" and "final bracket width" in board.caption[0].value
    cell = AppTest.from_file(str(APP / "views" / "cell.py"), default_timeout=60)
    cell.run()
    assert not cell.exception, cell.exception
    assert any("bracket.npy" in m.value for m in cell.markdown), [m.value for m in cell.markdown]
    (page,) = BisectionFamily.pages  # the family's own page
    brackets = AppTest.from_file(page.path, default_timeout=60)
    brackets.run()
    assert not brackets.exception, brackets.exception
    widths = brackets.dataframe[0].value
    bisection = widths[(widths["problem"] == "cubic") & (widths["solver"] == "bisection")]
    assert len(widths) == 4 * 10 and bisection["width"].min() == pytest.approx(2.0 / 2**10)


STUDY = """
import math
from tests.families.bisection import Bisection, BisectionFamily, RegulaFalsi, RootProblem
from workbench import Study
from workbench.budget import Budget

study = Study("roots", problems=[RootProblem("cubic", lambda x: x ** 3 - 2.0, 0.0, 2.0, log={log!r}, delay={delay})],
              solvers=[Bisection(name="bisection"), RegulaFalsi(name="regula-falsi")], seeds=[0],
              budget=Budget(calls={calls}))
"""


def cli(args, env, cwd, **kw):
    return subprocess.run(workbench_cmd() + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, **kw)


def test_run_report_and_status_from_the_command_line(tmp_path, cli_env):
    (tmp_path / "roots.py").write_text(STUDY.format(log="", delay=0.0, calls=10))
    out = cli(["run", "roots.py"], cli_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "final bracket width" in out.stdout and "regula-falsi" in out.stdout
    report = cli(["report", "runs/roots", "--metric", "best"], cli_env, tmp_path)
    assert report.returncode == 0 and "final best value" in report.stdout, report.stderr
    wrong = cli(["report", "runs/roots", "--metric", "p100"], cli_env, tmp_path)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "must be one of ('width', 'best', 'regret')" in wrong.stderr
    status = cli(["status", "roots.py"], cli_env, tmp_path)
    assert status.returncode == 0 and "2 cells: 2 done" in status.stdout, status.stdout + status.stderr


def test_a_killed_cell_resumes_from_its_last_checkpoint(tmp_path, cli_env):
    log = tmp_path / "calls.log"
    (tmp_path / "roots.py").write_text(STUDY.format(log=str(log), delay=0.05, calls=60))
    proc = subprocess.Popen(workbench_cmd() + ["run", "roots.py", "--quiet"], env=cli_env, cwd=tmp_path)
    db = tmp_path / "runs" / "roots" / "optuna.db"
    recorded = trials_recorded(db, 20, poll=0.1)
    assert recorded >= 20, "the run did not get going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    calls_before = len(log.read_text().splitlines())
    out = cli(["run", "roots.py", "--quiet"], cli_env, tmp_path)
    assert out.returncode == 0, out.stderr
    ds = load_results(tmp_path / "runs" / "roots")
    for solver in ("bisection", "regula-falsi"):
        steps = ds["failed"].sel(problem="cubic", solver=solver, seed=0).values
        c = ds["cost"].sel(problem="cubic", solver=solver, seed=0, axis="calls").values
        assert (steps[np.isfinite(c)] == 0).all() and c[np.isfinite(c)][-1] == 60  # 2 + one call a step
    with sqlite3.connect(db) as con:
        steps = con.execute("select count(*), count(distinct t.study_id || ':' || a.value_json) "
                            "from trial_user_attributes a join trials t on a.trial_id = t.trial_id "
                            "where a.key = 'step'").fetchone()
    assert steps[0] == steps[1] == 2 * 58, "a step was recorded twice or lost"  # 2 + 58 steps of one call
    # resumed from the checkpoint: at most the step in flight at the kill was evaluated again, not the cell
    calls_total = len(log.read_text().splitlines())
    assert calls_total <= 2 * 60 + 1, (calls_before, calls_total)
