"""Offline studies end to end: the runner hands solvers the visible data only, scores K proposals with the
hidden oracle, records each as a trial, and the results and report carry the papers' normalized percentiles."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest
import torch
from torch import Tensor

from problems.offline import OfflineFunction
from problems.synthetic import Ackley, Branin
from workbench.browse.folders import rebuild
from workbench.browse.live import storage_cells
from workbench.errors import InvalidStudyError, SolverError
from workbench.families.offline import OfflineData, OfflineProblem, OfflineSolver, generator, scoring
from workbench.families.offline.tables import offline_tables
from workbench.recorder import Store, default_storage_url
from workbench.report import leaderboard
from workbench.results import Series, load_results
from workbench.runner import Runner
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.offline import SurrogateConfig
from workbench.space import Real, Space
from workbench.study import Study

K = 12


def task() -> OfflineFunction:
    return OfflineFunction(Ackley(dim=4), pool=256, name="toy-ackley4")


def fast_ga() -> OfflineSolver:
    return solvers.get("ga")(steps=5, surrogate=SurrogateConfig(hidden=(8,), epochs=2, max_steps=10))


@dataclass(frozen=True, kw_only=True)
class Spy(OfflineSolver):
    """Records what it was given; proposes the visible top designs, jittered."""

    seen: ClassVar[list[Any]] = []

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        Spy.seen.append(data)
        top = data.top(k).X
        noise = 0.01 * torch.randn(top.shape, generator=generator(cell), dtype=top.dtype)
        return (top + noise).clamp(-32.768, 32.768)


@dataclass(frozen=True, kw_only=True)
class Cheater(OfflineSolver):
    """Tries to call the oracle of a problem it got hold of."""

    target: Any = None

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        y = self.target.oracle(data.X[:k])
        return data.X[torch.argsort(y, descending=True)[:k]]


@dataclass(frozen=True, kw_only=True)
class Noter(Spy):
    """A spy that puts what it settled on on record."""

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        cell.notes.update(device=cell.device.type, rows=len(data), seed_twice=2 * cell.seed)
        return super().propose(data, k, cell)


def _run(study: Study, tmp_path, **kw) -> Any:
    return load_results(Runner(study, run_dir=tmp_path / study.name, device="cpu", **kw).run())


def test_an_offline_study_scores_k_candidates_per_seed_and_reports_percentiles(tmp_path):
    problem = task()
    study = Study("off", problems=[problem], solvers=[fast_ga(), Spy(name="spy")], seeds=(0, 1), budget=K)
    ds = _run(study, tmp_path)
    assert ds.attrs["family"] == "offline" and ds.sizes["step"] == K
    lo, hi = problem.score_range()
    np.testing.assert_allclose(ds.normalized.values, (ds.value.values - lo) / (hi - lo))
    assert not np.isnan(ds.value.values).any() and (ds.failed.values == 0).all()
    pct = ds.percentile.sel(q=100.0).values
    np.testing.assert_allclose(pct, ds.normalized.max("step").values)
    np.testing.assert_allclose(ds.percentile.sel(q=50.0).values, np.median(ds.normalized.values, axis=-1))
    assert (ds.percentile.sel(q=80.0) <= ds.percentile.sel(q=100.0)).all()
    # every candidate is one trial in the storage, step = candidate index
    storage = default_storage_url(tmp_path / "off")
    for s in optuna.get_all_study_summaries(storage):
        trials = optuna.load_study(study_name=s.study_name, storage=storage).get_trials()
        assert sorted(t.user_attrs["step"] for t in trials) == list(range(K))
    board = leaderboard(ds, "p100")
    assert board.lower_is_better == [False] and board.seeds.tolist() == [[2], [2]]
    np.testing.assert_allclose(board.mean[:, 0], pct.mean(axis=-1)[0])


def test_the_benchmark_tables_summarize_the_tasks_every_solver_finished(tmp_path):
    a, b = task(), OfflineFunction(Ackley(dim=4), pool=256, name="toy-ackley4-b")
    study = Study("tab", problems=[a, b], solvers=[fast_ga(), Spy(name="spy")], seeds=(0, 1), budget=K)
    ds = _run(study, tmp_path)
    pct = ds.percentile.sel(q=100.0)
    ds["percentile"] = ds.percentile.where(~((ds.solver == "spy") & (ds.problem == b.name)))  # spy missed b
    table = offline_tables(ds).splitlines()
    assert "mean over 1 tasks" in table[0] and table[3].startswith("| spy |") and "—" in table[3]
    ga_a = float(pct.sel(solver="ga", problem=a.name).mean())
    assert f"| {ga_a:.3f} |" in table[2]  # the summary covers only the task both finished
    dropped = offline_tables(ds, drop=("spy",)).splitlines()
    ga_both = float(pct.sel(solver="ga").mean())
    assert "mean over 2 tasks" in dropped[0] and len([r for r in dropped if r.startswith("| spy ")]) == 0
    assert f"| {ga_both:.3f} | 1.00 |" in dropped[2]
    with pytest.raises(ValueError, match="no solver 'nope'"):
        offline_tables(ds, drop=("nope",))


def test_what_a_solver_puts_on_record_reaches_the_results(tmp_path):
    study = Study("notes", problems=[task()], solvers=[Noter(), Spy()], seeds=(0, 3), budget=K)
    ds = _run(study, tmp_path)
    notes = json.loads(ds.attrs["notes"])
    rows = len(task().dataset())
    assert notes == {f"toy-ackley4/Noter/{s}": {"device": "cpu", "rows": rows, "seed_twice": 2 * s} for s in (0, 3)}
    again = Series.of_dataset(ds, "toy-ackley4", "Noter", 3)  # a Dataset read back keeps them
    assert again.notes == notes["toy-ackley4/Noter/3"] and Series.of_dataset(ds, "toy-ackley4", "Spy", 0).notes == {}
    # and so does the dashboard's live view, rebuilt from the storage alone
    stored = storage_cells(Store(default_storage_url(tmp_path / "notes")).studies())
    assert json.loads(rebuild(stored, None).attrs["notes"]) == notes


@dataclass(frozen=True, kw_only=True)
class BadNoter(Spy):
    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        cell.notes["target"] = float("nan")
        return super().propose(data, k, cell)


def test_notes_that_are_not_plain_json_are_one_solver_error_after_the_steps_are_recorded(tmp_path):
    study = Study("badnotes", problems=[task()], solvers=[BadNoter()], seeds=(0,), budget=K)
    with pytest.raises(SolverError, match=r"solver 'BadNoter' put notes on record that are not plain JSON"):
        Runner(study, run_dir=tmp_path / "badnotes", device="cpu").run()
    store = Store(default_storage_url(tmp_path / "badnotes"))
    (cell,) = store.studies()
    assert len(store.trials(cell._study_id)) == K


def test_solvers_get_only_the_visible_data(tmp_path):
    problem = task()
    Spy.seen.clear()
    _run(Study("spy", problems=[problem], solvers=[Spy()], seeds=(3,), budget=K), tmp_path)
    (data,) = Spy.seen
    assert isinstance(data, OfflineData) and not isinstance(data, OfflineProblem)
    X, y = problem.visible()
    torch.testing.assert_close(data.X, X.to(torch.float64))
    full_best = problem.full_data()[1].max()
    assert float(data.y.max()) < float(full_best)  # the better half of the pool stays hidden


def test_a_solver_that_calls_the_oracle_is_stopped(tmp_path):
    problem = task()
    study = Study("cheat", problems=[problem], solvers=[Cheater(target=problem)], budget=K)
    with pytest.raises(SolverError, match="oracle of offline problem 'toy-ackley4' is hidden"):
        Runner(study, run_dir=tmp_path / "cheat", device="cpu").run()
    store = Store(default_storage_url(tmp_path / "cheat"))
    (frozen,) = store.studies()
    assert "hidden" in frozen.user_attrs["error"] and not store.trials(frozen._study_id)


class Fragile(OfflineProblem):
    """Scores NaN on designs with x0 > 0 and raises on designs with x1 > 0.9."""

    name = "fragile"
    space = Space([Real("x0", -1, 1), Real("x1", -1, 1)])

    def visible(self) -> tuple[Tensor, Tensor]:
        X = self.space.sample(64, 0)
        return X, -X.pow(2).sum(-1)

    def score(self, X: Tensor) -> Tensor:
        if bool((X[:, 1] > 0.9).any()):
            raise RuntimeError("assay failed")
        y = -X.pow(2).sum(-1)
        return torch.where(X[:, 0] > 0, torch.full_like(y, float("nan")), y)

    def score_range(self) -> tuple[float, float]:
        return -2.0, 0.0


@dataclass(frozen=True, kw_only=True)
class Fixed(OfflineSolver):
    rows: tuple[tuple[float, float], ...] = ()

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        return torch.tensor(self.rows, dtype=torch.float64)


def test_failed_candidates_are_recorded_and_the_study_goes_on(tmp_path):
    rows = ((-0.5, 0.0), (0.5, 0.0), (-0.1, 0.95), (0.0, 0.0))
    ds = _run(Study("frag", problems=[Fragile()], solvers=[Fixed(rows=rows)], budget=4), tmp_path)
    assert ds.failed.values.ravel().tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(ds.value.values.ravel(), [-0.25, np.nan, np.nan, 0.0])
    np.testing.assert_allclose(ds.percentile.sel(q=100.0).values.ravel(), [1.0])  # failures left out


def test_a_wrong_proposal_is_one_solver_error(tmp_path):
    study = Study("bad", problems=[Fragile()], solvers=[Fixed(rows=((0.0, 0.0),))], budget=4)
    with pytest.raises(SolverError, match=r"returned \(1, 2\) from propose\(data, 4\); expected \(4, 2\)"):
        Runner(study, run_dir=tmp_path / "bad", device="cpu").run()
    outside = Study("out", problems=[Fragile()], solvers=[Fixed(rows=((0.0, 3.0),))], budget=1)
    with pytest.raises(SolverError, match="outside the space"):
        Runner(outside, run_dir=tmp_path / "out", device="cpu").run()


def test_an_interrupted_cell_resumes_with_the_same_designs(tmp_path):
    problem = task()
    study = Study("resume", problems=[problem], solvers=[Spy()], seeds=(0,), budget=K)
    full = _run(study, tmp_path / "a")
    # a cell cut off after 5 candidates: record them, then run the study again
    runner = Runner(study, run_dir=tmp_path / "b" / "resume", device="cpu")
    (cell,) = study.cells()
    recorder = runner.recorder(cell)
    context = CellContext(space=problem.space, seed=0, device=torch.device("cpu"))
    first = Spy().propose(problem.dataset(), K, context)[:5]
    with scoring():
        recorder.record(first, problem.oracle(first), [None] * 5, step=0, elapsed=0.1)
    resumed = load_results(runner.run())
    np.testing.assert_allclose(resumed.value.values, full.value.values)


def test_offline_declarations_fail_when_declared():
    with pytest.raises(InvalidStudyError, match=r"mixes families: offline \['toy-ackley4'\]; blackbox \['branin'\]"):
        Study("mix", problems=[task(), Branin()], solvers=[Spy()])
    with pytest.raises(InvalidStudyError, match=r"Study.solvers\[1\]: 'random' is a solver of the blackbox family, "
                                                r"but this study's problems are of the offline family"):
        Study("mix", problems=[task()], solvers=[Spy(), "random"])
    with pytest.raises(InvalidStudyError, match=r"Study.solvers\[0\]: 'spy' is a solver of the offline family"):
        Study("mix", problems=[Branin()], solvers=[Spy(name="spy")])
    assert Study("k", problems=[task()], solvers=[Spy()]).budget.evaluations == 128
    assert Study("k", problems=[Branin()], solvers=["random"]).budget.evaluations == 50


STUDY = """
from problems.offline import OfflineFunction
from problems.synthetic import Ackley
from workbench import Study
from workbench.solvers import solvers
from workbench.solvers.offline import SurrogateConfig

tiny = SurrogateConfig(hidden=(8,), epochs=2, max_steps=10)
study = Study("offcli", problems=[OfflineFunction(Ackley(dim=4), pool=256, name="toy")],
              solvers=[solvers.get("ga")(steps=5, surrogate=tiny), solvers.get("cmaes-surrogate")(iterations=3, surrogate=tiny)],
              seeds=(0, 1), budget=8)
"""


def test_run_and_report_print_the_percentile_table(tmp_path, cli_env):
    (tmp_path / "off.py").write_text(STUDY)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=tmp_path, env=cli_env,
                              capture_output=True, text=True, timeout=300)

    out = cli("run", "off.py")
    assert out.returncode == 0, out.stderr
    assert "normalized 100th percentile of 8 candidates" in out.stdout and "avg rank" in out.stdout
    p50 = cli("report", "runs/offcli", "--metric", "p50")
    assert p50.returncode == 0 and "50th percentile" in p50.stdout and "cmaes-surrogate" in p50.stdout
