"""The workbench command, run as users run it: in a subprocess."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from tests.conftest import workbench_cmd

TINY = """
from problems.synthetic import Branin
from workbench import Study
study = Study(name="tiny", problems=[Branin(), "hartmann"], solvers=["random", "optuna-tpe"], seeds=[0, 1], budget=6)
"""

SLOW = """
import time
from workbench import Real, Space, Study, problem

@problem(space=Space(Real("x", -1.0, 1.0), Real("y", -1.0, 1.0)), optimum=0.0)
def slow_bowl(r):
    with open({log!r}, "a") as f:
        f.write(f"{{r['x']}} {{r['y']}}\\n")
    time.sleep(0.03)
    return r["x"] ** 2 + r["y"] ** 2

study = Study(name="slow", problems=[slow_bowl], solvers=["random", "optuna-tpe"], seeds=[0, 1, 2], budget=30)
"""


def run(args, env, cwd, timeout=300):
    return subprocess.run(workbench_cmd() + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_run_report_and_list_end_to_end(tmp_path, cli_env):
    (tmp_path / "tiny.py").write_text(TINY)
    out = run(["run", "tiny.py"], cli_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "done tiny/hartmann6/optuna-tpe/1" in out.stdout and "avg rank" in out.stdout
    run_dir = tmp_path / "runs" / "tiny"
    assert (run_dir / "results.nc").is_file()
    storage = f"sqlite:///{run_dir / 'optuna.db'}"
    summaries = optuna.get_all_study_summaries(storage)
    assert sorted(s.study_name for s in summaries) == sorted(
        f"tiny/{p}/{s}/{seed}" for p in ("branin", "hartmann6") for s in ("random", "optuna-tpe") for seed in (0, 1)
    )
    for s in summaries:
        trials = optuna.load_study(study_name=s.study_name, storage=storage).get_trials(
            states=(optuna.trial.TrialState.COMPLETE,)
        )
        assert len(trials) == 6 and {"step", "elapsed"} <= set(trials[0].user_attrs)
    report = run(["report", "runs/tiny"], cli_env, tmp_path)
    assert report.returncode == 0 and "branin" in report.stdout and "optuna-tpe" in report.stdout
    regret = run(["report", "runs/tiny", "--metric", "regret"], cli_env, tmp_path)
    assert regret.returncode == 0 and "final regret" in regret.stdout
    problems = run(["list", "problems"], cli_env, tmp_path)
    assert problems.returncode == 0 and "hartmann" in problems.stdout and "michalewicz" in problems.stdout
    lines = problems.stdout.splitlines()
    by_name = {line.split("  ")[0].strip(): line for line in lines}
    # listed by the name results carry ("hartmann6" above), the registered name beside it where it differs
    assert "hartmann6 (hartmann)" in by_name and "branin" in by_name and "offline-styblinskitang50" in by_name
    assert "optimum 0 " in by_name["offline-ackley32"] and "optimum -0 " not in problems.stdout
    assert "with m in (5, 7, 10) minima" in by_name["shekel10 (shekel)"] and "``" not in problems.stdout
    assert " dim 2 " in by_name["branin"] and " no space " in by_name["logreg-digits"]  # its steps are epochs
    from workbench.family import families

    family_column = {next(line.index(f" {f} ") for f in families.names() if f" {f} " in line) for line in lines}
    assert len(family_column) == 1  # aligned for the longest name
    solvers = run(["list", "solvers"], cli_env, tmp_path)
    from workbench.solvers import solvers as registry

    rows = [line.split()[:2] for line in solvers.stdout.splitlines()]
    assert [name for name, _ in rows] == sorted(registry.names())
    kinds = dict(rows)
    assert kinds["optuna-tpe"] == kinds["bo-gp"] == "blackbox" and kinds["ga"] == kinds["root"] == "offline"
    ga = next(line for line in solvers.stdout.splitlines() if line.startswith("ga "))
    assert ga.endswith("(200 steps of 0.01 * sqrt(dim), Design-Bench's settings).")
    assert len({line.index(kinds[line.split()[0]]) for line in solvers.stdout.splitlines()}) == 1
    families = run(["list", "families"], cli_env, tmp_path)
    assert families.returncode == 0 and any(
        line.startswith("blackbox  a queryable objective") for line in families.stdout.splitlines())


@pytest.mark.parametrize(
    "doc, expected",
    [
        (None, ""),
        ("One line.", "One line."),
        ("Gradient ascent from the ``k`` best designs (200 steps of\n    ``0.01 * sqrt(dim)``, its settings).\n\n"
         "    More.", "Gradient ascent from the k best designs (200 steps of 0.01 * sqrt(dim), its settings)."),
        ("First sentence. Second one.", "First sentence."),
        ("A paragraph without a full stop\n    on two lines\n\n    Next paragraph.", "A paragraph without a full "
         "stop on two lines"),
        ("Wraps a :class:`~workbench.problem.Problem` (see :mod:`workbench.family`, :func:`the loop <x.drive>`).",
         "Wraps a Problem (see workbench.family, the loop)."),
        ("Scores, e.g. regret, i.e. a gap. More.", "Scores, e.g. regret, i.e. a gap."),
        ("Version 1.5 of ``a. b`` `text`. Then.", "Version 1.5 of a. b text."),
    ],
)
def test_first_sentence_is_whole_and_plain(doc, expected):
    from workbench.cli import first_sentence

    assert first_sentence(doc) == expected


def test_listed_numbers_and_columns():
    from workbench.cli import _lines, _number

    assert [_number(x) for x in (-0.0, 0.0, -3.322368, 1958.3123, None)] == ["0", "0", "-3.32237", "1958.31", "unknown"]
    assert _lines([["a", "x", "first"], ["long-name", "yy", "second"], ["b", "unavailable: no data"]]) == [
        "a          x   first", "long-name  yy  second", "b          unavailable: no data"]


@pytest.mark.parametrize(
    "files, args, expected",
    [
        ({}, ["run", "nowhere.py"], "study file not found: nowhere.py"),
        ({"s.py": "study = Study(\n"}, ["run", "s.py"], "s.py:1: syntax error"),
        ({"s.py": "x = 1\n"}, ["run", "s.py"], "s.py defines no `study`"),
        ({"s.py": "from workbench import Study\nstudy = Study(name='x', problems=['branin'], solvers=['rnd'])\n"},
         ["run", "s.py"], "unknown solver 'rnd'"),
        ({"s.py": "from workbench import Real\nx = Real('lr', 1.0, 0.1)\n"}, ["run", "s.py"],
         "Real 'lr': low < high must hold"),
        ({}, ["report", "runs/none"], "no results file"),
        ({}, ["frobnicate"], "invalid choice: 'frobnicate'"),
        ({}, ["list", "things"], "invalid choice: 'things'"),
        ({}, ["run"], "the following arguments are required: study_file"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(tmp_path, cli_env, files, args, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    out = run(args, cli_env, tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_kill_9_then_resume_ends_with_exactly_budget_trials(tmp_path, cli_env):
    log = tmp_path / "evaluations.log"
    (tmp_path / "slow.py").write_text(SLOW.format(log=str(log)))
    db = tmp_path / "runs" / "slow" / "optuna.db"
    proc = subprocess.Popen(workbench_cmd() + ["run", "slow.py"], env=cli_env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    recorded = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if db.exists():
            try:
                with sqlite3.connect(db) as con:
                    recorded = con.execute("select count(*) from trials").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if recorded >= 70:  # in the middle of the third cell
                break
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = sum(1 for _ in log.open())
    assert 70 <= before < 180

    out = run(["run", "slow.py"], cli_env, tmp_path)
    assert out.returncode == 0, out.stderr
    storage = f"sqlite:///{db}"
    for s in optuna.get_all_study_summaries(storage):
        trials = optuna.load_study(study_name=s.study_name, storage=storage).trials
        assert len(trials) == 30, s.study_name
        assert sorted(t.user_attrs["step"] for t in trials) == list(range(30))
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len(optuna.get_all_study_summaries(storage)) == 6
    evaluated = sum(1 for _ in log.open())
    # every recorded evaluation ran once; at most the one in flight at the kill ran twice
    assert 180 <= evaluated <= 181


def test_solver_error_is_one_line_exit_1(tmp_path, cli_env):
    (tmp_path / "s.py").write_text(
        "from workbench import Study\n"
        "from tests.test_runner import Spy\n"
        "study = Study(name='x', problems=['branin'], solvers=[Spy(outside=True, name='wild')], budget=3)\n"
    )
    env = dict(cli_env, PYTHONPATH=str(Path(__file__).resolve().parents[1]) + ":" + cli_env["PYTHONPATH"])
    out = run(["run", "s.py"], env, tmp_path)
    assert out.returncode == 1 and "solver 'wild' proposed a point outside the space" in out.stderr
    assert "Traceback" not in out.stderr
