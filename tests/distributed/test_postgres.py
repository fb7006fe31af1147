"""Many workers on one real PostgreSQL server: claims, faults, restarts, secrets.

The server is started by the tests (tests/pg.py) from Debian's postgresql package, which scripts/test.sh
installs; without it these tests are skipped, saying why."""

from __future__ import annotations

import collections
import signal
import subprocess
import time

import numpy as np
import optuna
import pytest

from tests.conftest import workbench_cmd
from tests.pg import PASSWORD, PostgresServer, pg_bin
from workbench.results import load_results

pytestmark = pytest.mark.skipif(
    pg_bin() is None, reason="PostgreSQL server binaries not found (scripts/test.sh installs Debian's postgresql)"
)

STUDY = """
import os, signal, time
from workbench import Real, Space, Study, problem

CALLS = []

@problem(space=Space(Real("x", -1.0, 1.0), Real("y", -1.0, 1.0)), optimum=0.0)
def bowl(r):
    time.sleep({sleep})
    CALLS.append(1)
    if len(CALLS) == int(os.environ.get("DIST_FREEZE_AT_CALL", "0")):
        os.kill(os.getpid(), signal.SIGSTOP)  # the worker stops itself mid-cell, its claim held, steps left
    return r["x"] ** 2 + (r["y"] - 0.25) ** 2

study = Study(name="{name}", problems=[bowl], solvers={solvers}, seeds=range({seeds}), budget={budget})
"""


@pytest.fixture(scope="module")
def server():
    pg = PostgresServer()
    yield pg
    pg.close()


def write_study(tmp_path, name="dist", sleep=0.0, solvers=("random",), seeds=6, budget=8):
    path = tmp_path / f"{name}.py"
    path.write_text(STUDY.format(name=name, sleep=sleep, solvers=list(solvers), seeds=seeds, budget=budget))
    return path.name


def worker(tmp_path, env, study_file, url, *extra, freeze_at_call=0):
    return subprocess.Popen(
        workbench_cmd() + ["worker", study_file, "--quiet", *extra],
        cwd=tmp_path, env=dict(env, WORKBENCH_STORAGE=url, DIST_FREEZE_AT_CALL=str(freeze_at_call)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def is_stopped(proc):
    """Whether the process is stopped by a signal (state T in /proc)."""
    with open(f"/proc/{proc.pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def cell_trials(url, name):
    """Trials of every cell study (claims excluded), by cell name. Read while workers run: a claim study
    deleted between Optuna's listing and its reading of the trials raises KeyError; read again then."""
    for attempt in range(5):
        try:
            return _cell_trials(url, name)
        except KeyError:
            if attempt == 4:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def _cell_trials(url, name):
    storage = optuna.storages.RDBStorage(url)
    out = {}
    for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
        assert "#claim" not in s.study_name, f"a claim was left behind: {s.study_name}"
        if s.study_name.startswith(f"{name}/"):
            out[s.study_name] = optuna.load_study(study_name=s.study_name, storage=storage).trials
    return out


def assert_exactly_budget(trials_by_cell, n_cells, budget):
    assert len(trials_by_cell) == n_cells
    for key, trials in trials_by_cell.items():
        steps = [t.user_attrs["step"] for t in trials]
        assert sorted(steps) == list(range(budget)), f"{key}: steps {sorted(steps)}"
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials), key


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def n_recorded(url, name):
    try:
        return sum(len(t) for t in cell_trials(url, name).values())
    except AssertionError:  # claims present while running: count from the raw tables instead
        import psycopg

        with psycopg.connect(url) as con:
            return con.execute("select count(*) from trials").fetchone()[0]


def test_two_workers_started_at_the_same_instant_never_share_a_cell(server, tmp_path, cli_env):
    url = server.new_database()
    study = write_study(tmp_path, seeds=10, budget=6, sleep=0.01)
    procs = [worker(tmp_path, cli_env, study, url) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trials = cell_trials(url, "dist")
    assert_exactly_budget(trials, 10, 6)
    owners = {key: {t.user_attrs["worker"] for t in ts} for key, ts in trials.items()}
    assert all(len(w) == 1 for w in owners.values()), owners
    assert len(set().union(*owners.values())) == 2, "both workers should have run cells"


def test_sigkill_a_worker_mid_cell_and_another_finishes_it(server, tmp_path, cli_env):
    url = server.new_database()
    study = write_study(tmp_path, seeds=3, budget=20, sleep=0.05)
    first = worker(tmp_path, cli_env, study, url)
    wait_for(lambda: n_recorded(url, "dist") >= 25, 120, "the first worker to get into its second cell")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    second = worker(tmp_path, cli_env, study, url)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    trials = cell_trials(url, "dist")
    assert_exactly_budget(trials, 3, 20)
    shared = [k for k, ts in trials.items() if len({t.user_attrs["worker"] for t in ts}) == 2]
    assert len(shared) == 1, "exactly the cell in flight at the kill was finished by the second worker"
    assert "taking over" in err


def test_a_frozen_worker_loses_its_cell_after_the_grace_period(server, tmp_path, cli_env):
    url = server.new_database()
    study = write_study(tmp_path, seeds=2, budget=30, sleep=0.05)
    # the worker stops itself inside its sixth evaluation (SIGSTOP): alive but silent, its heartbeat lapses while
    # it holds the first cell with steps left. (A stop sent from here after polling the storage could land
    # between cells, or after both, however slow the machine, and then nothing would be taken over.)
    first = worker(tmp_path, cli_env, study, url, "--grace", "3", freeze_at_call=6)
    wait_for(lambda: first.poll() is not None or is_stopped(first), 120, "the first worker to stop itself")
    assert first.poll() is None, first.communicate()
    try:
        second = worker(tmp_path, cli_env, study, url, "--grace", "3")
        wait_for(lambda: n_recorded(url, "dist") >= 40, 120, "the second worker to take over")
    finally:
        first.send_signal(signal.SIGCONT)
    _, err2 = second.communicate(timeout=300)
    _, err1 = first.communicate(timeout=300)
    assert second.returncode == 0 and first.returncode == 0, (err1, err2)
    assert "taking over" in err2
    trials = cell_trials(url, "dist")
    assert len(trials) == 2
    for key, ts in trials.items():
        steps = collections.Counter(t.user_attrs["step"] for t in ts)
        assert sorted(steps) == list(range(30)), key
        # SIGSTOP can land between the thawed worker's last claim check and its write: at most that one
        # step is written twice, and the successor's (newer claim) trial is the one that counts
        twice = [s for s, n in steps.items() if n > 1]
        assert len(twice) <= 1 and max(steps.values()) <= 2, (key, twice)
    ds = load_results(tmp_path / "runs" / "dist")
    assert int((ds.failed == 0).sum()) == 60  # exactly budget evaluations per cell in the results


def test_workers_ride_out_a_postgres_restart(server, tmp_path, cli_env):
    url = server.new_database()
    # 180 evaluations of 0.15 s on 2 workers: about 14 s of work, so the 3 s outage lands while both work (with
    # 0.05 s a slow poll could see 20 recorded only when the workers were already finishing, and nothing failed)
    study = write_study(tmp_path, seeds=6, budget=30, sleep=0.15)
    procs = [worker(tmp_path, cli_env, study, url) for _ in range(2)]
    wait_for(lambda: n_recorded(url, "dist") >= 20, 120, "some progress before the restart")
    server.stop()
    time.sleep(3)
    assert all(p.poll() is None for p in procs), "the workers should still be running while the server is down"
    server.start()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert_exactly_budget(cell_trials(url, "dist"), 6, 30)
    stderr = "".join(e for _, e in outs)
    assert "retrying" in stderr, outs  # they did lose the server, and came back
    assert PASSWORD not in stderr


def test_results_are_the_same_on_one_worker_or_many(server, tmp_path, cli_env):
    study = write_study(tmp_path, name="same", solvers=("random", "optuna-tpe"), seeds=3, budget=12)
    for n, sub in ((1, "one"), (3, "many")):
        url = server.new_database()
        out = subprocess.run(
            workbench_cmd() + ["run", study, "--workers", str(n), "--runs-dir", sub],
            cwd=tmp_path, env=dict(cli_env, WORKBENCH_STORAGE=url), capture_output=True, text=True, timeout=300,
        )
        assert out.returncode == 0, out.stderr
        assert PASSWORD not in out.stdout + out.stderr
    one, many = load_results(tmp_path / "one" / "same"), load_results(tmp_path / "many" / "same")
    np.testing.assert_array_equal(one.value.values, many.value.values)
    np.testing.assert_array_equal(one.best.values, many.best.values)
    assert PASSWORD not in str(one.attrs) and "***" in one.attrs["storage"]


def test_status_shows_cells_and_hides_the_password(server, tmp_path, cli_env):
    url = server.new_database()
    study = write_study(tmp_path, name="st", seeds=4, budget=3)
    proc = worker(tmp_path, cli_env, study, url)
    proc.communicate(timeout=300)
    out = subprocess.run(workbench_cmd() + ["status", study, "--storage", url, "--cells"], cwd=tmp_path,
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "4 cells: 4 done, 0 running, 0 stale, 0 failed, 0 pending" in out.stdout
    assert PASSWORD not in out.stdout + out.stderr


def test_load_eight_workers_eighty_cells(server, tmp_path, cli_env):
    url = server.new_database()
    study = write_study(tmp_path, name="load", seeds=80, budget=3)
    t0 = time.time()
    out = subprocess.run(
        workbench_cmd() + ["run", study, "--workers", "8", "--quiet"],
        cwd=tmp_path, env=dict(cli_env, WORKBENCH_STORAGE=url), capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    trials = cell_trials(url, "load")
    assert_exactly_budget(trials, 80, 3)
    owners = collections.Counter(len({t.user_attrs["worker"] for t in ts}) for ts in trials.values())
    assert owners == {1: 80}, "a cell was run by more than one worker"
    workers = {t.user_attrs["worker"] for ts in trials.values() for t in ts}
    assert len(workers) >= 2
    print(f"8 workers, 80 cells x 3 evaluations: {time.time() - t0:.1f} s, {len(workers)} workers ran cells")
