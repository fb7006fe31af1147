from __future__ import annotations

from pathlib import Path

import pytest

from problems.synthetic import Branin, Hartmann
from workbench import FunctionProblem, InvalidStudyError, Real, Space, Study, StudyFileError, problem
from workbench.solvers.optuna import OptunaTPE
from workbench.study import load_study


def test_cells_and_keys():
    s = Study(name="q", problems=[Branin(), "hartmann"], solvers=["random", OptunaTPE(name="tpe5", n_startup_trials=5)],
              seeds=range(2), budget=3)
    keys = [c.key("q") for c in s.cells()]
    assert len(keys) == s.n_cells == 8
    assert keys[0] == "q/branin/random/0" and "q/hartmann6/tpe5/1" in keys


def test_a_decorated_function_is_a_problem_of_a_study_as_it_is():
    @problem(space=Space(Real("x", -1.0, 1.0)), optimum=0.0)
    def bowl(record):
        return record["x"] ** 2

    assert isinstance(bowl, FunctionProblem) and bowl({"x": 0.5}) == 0.25
    s = Study(name="q", problems=[bowl, Branin()], solvers=["random"], seeds=[0], budget=3)
    assert s.problems[0] is bowl
    assert [c.key("q") for c in s.cells()] == ["q/bowl/random/0", "q/branin/random/0"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(solvers=["randm"]), r"Study.solvers\[0\]: unknown solver 'randm'; did you mean 'random'"),
        (dict(solvers=[]), "Study.solvers must not be empty"),
        (dict(problems=["nope"]), r"Study.problems\[0\]: unknown problem 'nope'"),
        (dict(problems=[Branin(), Branin()]), "problem names must be unique"),
        (dict(solvers=["random", "random"]), "solver labels .* must be unique"),
        (dict(seeds=[]), "Study.seeds must not be empty"),
        (dict(seeds=[0, -1]), r"Study.seeds\[1\] must be an int >= 0"),
        (dict(budget=0), "Study.budget must be an int >= 1, but got budget=0"),
        (dict(batch_size=1.5), "Study.batch_size must be an int >= 1"),
        (dict(name="a b"), "Study.name must be"),
        (dict(solvers=[42]), r"Study.solvers\[0\]: a solver is a registered name or a Solver"),
    ],
)
def test_invalid_declarations_fail_naming_the_field(kwargs, message):
    args = dict(name="q", problems=[Branin()], solvers=["random"], seeds=[0], budget=5) | kwargs
    with pytest.raises(InvalidStudyError, match=message):
        Study(**args)


def test_invalid_solver_option_names_the_field():
    with pytest.raises(ValueError, match="OptunaTPE.n_startup_trials must be an int >= 0, but got n_startup_trials=-1"):
        OptunaTPE(n_startup_trials=-1)
    with pytest.raises(TypeError):
        OptunaTPE(5)  # options are keyword-only


def test_describe_is_json_ready():
    import json

    s = Study(name="q", problems=[Hartmann(dim=6)], solvers=["optuna-gp"], seeds=[0], budget=3)
    d = json.loads(json.dumps(s.describe()))
    assert d["problems"][0]["name"] == "hartmann6" and d["solvers"][0]["options"]["n_startup_trials"] == 10


def test_load_study_errors(tmp_path):
    with pytest.raises(StudyFileError, match="study file not found"):
        load_study(tmp_path / "missing.py")
    bad = tmp_path / "bad.py"
    bad.write_text("study = Study(\n")
    with pytest.raises(StudyFileError, match=r"bad.py:1: syntax error"):
        load_study(bad)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(StudyFileError, match="defines no `study`"):
        load_study(empty)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("study = 3\n")
    with pytest.raises(StudyFileError, match="is a int, not a workbench Study"):
        load_study(wrong)
    invalid = tmp_path / "invalid.py"
    invalid.write_text("from workbench import Study\nstudy = Study(name='x', problems=['branin'], solvers=['rnd'])\n")
    with pytest.raises(StudyFileError, match=r"invalid.py: Study.solvers\[0\]: unknown solver 'rnd'"):
        load_study(invalid)


def test_pick_runs_a_part_of_a_study_named_in_the_environment(monkeypatch):
    from workbench.study import pick

    monkeypatch.delenv("PART", raising=False)
    assert pick("PART", ["a", "b", "c"]) == ["a", "b", "c"]
    monkeypatch.setenv("PART", "c, a")
    assert pick("PART", ["a", "b", "c"]) == ["a", "c"]
    assert pick("PART", [{"n": "a"}, {"n": "b"}, {"n": "c"}], lambda d: d["n"]) == [{"n": "a"}, {"n": "c"}]
    monkeypatch.setenv("PART", "0,7")
    with pytest.raises(InvalidStudyError, match=r"\$PART names \['7'\], which the study does not hold"):
        pick("PART", range(3))


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "studies").glob("*.py")),
                         ids=lambda p: p.name)
def test_every_shipped_study_file_declares_its_study(path, monkeypatch):
    monkeypatch.chdir(path.parents[1])
    study = load_study(path)
    assert study.n_cells > 0
    labels = [s.label for s in study.solvers]
    assert len(labels) == len(set(labels))
