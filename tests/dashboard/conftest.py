from __future__ import annotations

import pytest

from problems.synthetic import Branin
from workbench import Real, Space, Study, problem
from workbench.runner import Runner


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A runs folder with one real tiny run (one cell with a failed evaluation) and one corrupt study."""
    root = tmp_path_factory.mktemp("runs")

    @problem(space=Space(Real("x", -1.0, 1.0)), name="edgy", optimum=0.0)
    def edgy(r):
        if r["x"] > 0.5:
            raise ValueError("x too large")
        return r["x"] ** 2

    study = Study(name="tiny", problems=[Branin(), edgy], solvers=["random", "optuna-tpe"], seeds=[0, 1], budget=10)
    Runner(study, run_dir=root / "tiny", device="cpu").run()
    other = Study(name="other", problems=[Branin()], solvers=["random"], seeds=[0, 1], budget=10)
    Runner(other, run_dir=root / "other", device="cpu").run()
    (root / "broken").mkdir()
    (root / "broken" / "results.nc").write_bytes(b"\x89HDF garbage, half written")
    return root
