from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import optuna
import pytest

from workbench import Categorical, Integer, Real, Sequence, Space, problem

ROOT = Path(__file__).resolve().parents[1]
optuna.logging.set_verbosity(optuna.logging.WARNING)
# caches (the training problems' f*) go to a folder of this test session, never the user's: every process
# the tests start inherits it
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="workbench-test-cache-")


@pytest.fixture
def mixed_problem():
    """A cheap problem over every kind of parameter, with a known optimum of 0."""
    space = Space(
        Real("x", -2.0, 2.0),
        Real("lr", 1e-4, 1.0, log=True),
        Integer("n", 1, 8),
        Categorical("act", ("relu", "tanh", "gelu")),
        Sequence("dna", 3, "ACGT"),
    )

    @problem(space=space, optimum=0.0, optimizers=({"x": 0.0, "lr": 1e-2, "n": 3, "act": "tanh", "dna": "GGG"},))
    def mixed(r):
        import math

        return (
            r["x"] ** 2
            + (math.log10(r["lr"]) + 2) ** 2
            + (r["n"] - 3) ** 2
            + (r["act"] != "tanh")
            + sum(c != "G" for c in r["dna"])
        )

    return mixed


@pytest.fixture
def cli_env():
    """Environment for CLI subprocesses: the project importable, no progress bars."""
    env = dict(os.environ)
    env["CI"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def workbench_cmd() -> list[str]:
    return [sys.executable, "-m", "workbench.cli"]


def trials_recorded(db: Path, at_least: int, *, timeout: float = 120.0, poll: float = 0.05) -> int:
    """Wait until the SQLite storage ``db`` holds ``at_least`` trials (or ``timeout`` passes); the count seen."""
    import sqlite3
    import time

    deadline, recorded = time.time() + timeout, 0
    while time.time() < deadline and recorded < at_least:
        time.sleep(poll)
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    recorded = con.execute("select count(*) from trials").fetchone()[0]
            except sqlite3.Error:
                continue
    return recorded
