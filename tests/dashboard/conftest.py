from __future__ import annotations

import shutil

import pytest

from problems.synthetic import Branin
from workbench import Real, Space, Study, problem
from workbench.runner import Runner


@problem(space=Space(Real("x", -1.0, 1.0)), name="edgy", optimum=0.0)
def edgy(r):
    """Fails above 0.5."""
    if r["x"] > 0.5:
        raise ValueError("x too large")
    return r["x"] ** 2


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A runs folder from real tiny runs: ``tiny`` (two problems, one with failing evaluations), ``other``,
    ``broken`` (garbage bytes for results), ``running`` (only a storage: a run stopped in its second cell,
    so a results file was never written)."""
    root = tmp_path_factory.mktemp("runs")
    study = Study(name="tiny", problems=[Branin(), edgy], solvers=["random", "optuna-tpe"], seeds=[0, 1], budget=10)
    Runner(study, run_dir=root / "tiny", device="cpu").run()
    other = Study(name="other", problems=[Branin()], solvers=["random"], seeds=[0, 1], budget=10)
    Runner(other, run_dir=root / "other", device="cpu").run()
    (root / "broken").mkdir()
    (root / "broken" / "results.nc").write_bytes(b"\x89HDF\r\n\x1a\n garbage, half written")
    calls = {"n": 0}

    @problem(space=Space(Real("x", -1.0, 1.0)), name="stops", optimum=0.0)
    def stops(r):
        calls["n"] += 1
        if calls["n"] > 14:
            raise KeyboardInterrupt  # as if the user stopped the run: the runner writes no results
        return abs(r["x"])

    running = Study(name="running", problems=[stops], solvers=["random"], seeds=[0, 1, 2], budget=10)
    with pytest.raises(KeyboardInterrupt):
        Runner(running, run_dir=root / "running", device="cpu").run()
    assert not (root / "running" / "results.nc").exists()
    return root


@pytest.fixture
def runs_copy(runs, tmp_path):
    """A copy of the runs folder a test may change."""
    return shutil.copytree(runs, tmp_path / "runs")
