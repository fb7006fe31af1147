"""The offline solvers: every one proposes k in-space designs, seeded, on a continuous and a sequence toy;
gradient ascent improves on the visible best; IGNITE lowers the surrogate's sharpness; ROOT's bridge moves
low-value designs to high-value ones."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import Tensor

from workbench.errors import CapabilityError, InvalidConfigError
from workbench.families.offline import OfflineData, OfflineProblem, OfflineSolver, generator, scoring
from workbench.runner import Runner
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo import AcquisitionConfig
from workbench.solvers.offline import (
    ROOT,
    BridgeConfig,
    CMAESSurrogate,
    COMs,
    EditScorer,
    GradientAscent,
    LocalSearch,
    ModelBasedGA,
    NetEncoding,
    PosteriorMean,
    RankingModel,
    Sharpness,
    SurrogateConfig,
    Transitions,
    fit_surrogate,
    sharpness,
)
from workbench.solvers.offline.base import standardized
from workbench.solvers.offline.cmaes import DIAGONAL_ABOVE
from workbench.solvers.offline.coms import Conservatism
from workbench.solvers.offline.ga import ascend
from workbench.solvers.offline.rank import ranking_loss
from workbench.solvers.offline.surrogate import bootstrap_counts, bounded_logstd
from workbench.space import Categorical, Real, Sequence, Space
from workbench.study import Study

K = 8
TINY = SurrogateConfig(hidden=(16, 16), epochs=5, max_steps=40)
TINY_BRIDGE = BridgeConfig(hidden=32, timesteps=100, sample_steps=10, batch_size=64)
TINY_ROOT = dict(bridge=TINY_BRIDGE, epochs=1, passes=1, n_fit=128, functions=2, top=32, points=32, gp_steps=10)
#: fast options of every registered offline solver (a new solver must add its own here)
FAST: dict[str, dict] = {
    "ga": dict(steps=10),
    "ga-mean": dict(steps=10, surrogate=dataclasses.replace(TINY, members=2)),
    "ga-min": dict(steps=10, surrogate=dataclasses.replace(TINY, members=2)),
    "ignite-ga": dict(steps=10, surrogate=dataclasses.replace(TINY, sharpness=Sharpness())),
    "ignite-ga-mean": dict(steps=10, surrogate=dataclasses.replace(TINY, members=2, sharpness=Sharpness())),
    "ignite-ga-min": dict(steps=10, surrogate=dataclasses.replace(TINY, members=2, sharpness=Sharpness())),
    "cmaes-surrogate": dict(iterations=5),
    "ignite-cmaes": dict(iterations=5, surrogate=dataclasses.replace(TINY, sharpness=Sharpness())),
    "root": TINY_ROOT,
    "bo-qei": dict(n_top=16, n_random=16, acquisition=AcquisitionConfig(acquisition="qlogei", mc_samples=8,
                                                                        num_restarts=1, raw_samples=8, maxiter=5)),
    "coms": dict(particle_steps=3, solver_steps=5, surrogate=dataclasses.replace(TINY, activation="relu")),
    "ram": dict(lists=20, list_length=16, search_steps=5,
                surrogate=dataclasses.replace(TINY, activation="relu", batch_size=4)),
    "local-search": dict(edits=3, surrogate=dataclasses.replace(TINY, members=2)),
    "mbga": dict(particles=32, generations=3, surrogate=dataclasses.replace(TINY, members=2)),
}


def offline_names() -> list[str]:
    return [n for n in solvers.names() if issubclass(solvers.get(n), OfflineSolver)]


def fast(name: str) -> OfflineSolver:
    options = dict(FAST[name])
    cls = solvers.get(name)
    if "surrogate" not in options and any(f.name == "surrogate" for f in dataclasses.fields(cls)):
        if isinstance(cls().surrogate, SurrogateConfig):
            options["surrogate"] = TINY
    return cls(**options)


class Bowl(OfflineProblem):
    """Maximize ``-||x - c||^2`` on [-1, 1]^dim; the visible rows are the worse half of a Sobol pool."""

    name = "test-bowl"

    def __init__(self, dim: int = 2, n: int = 256) -> None:
        self.space = Space(*[Real(f"x{i}", -1.0, 1.0) for i in range(dim)])
        self.centre = torch.full((dim,), 0.4, dtype=torch.float64)
        X = self.space.sample(n, seed=3)
        y = self.score(X)
        keep = y <= y.median()
        self._X, self._y = X[keep], y[keep]

    def score(self, X: Tensor) -> Tensor:
        return -((X - self.centre) ** 2).sum(-1)

    def visible(self) -> tuple[Tensor, Tensor]:
        return self._X, self._y

    def score_range(self) -> tuple[float, float]:
        return -float(((self.centre + 1) ** 2).sum()), 0.0


class Motif(OfflineProblem):
    """A length-5 DNA sequence scored by its matches to a motif; the visible rows have at most 2 matches."""

    name = "test-motif"
    motif = torch.tensor([0.0, 1.0, 2.0, 3.0, 0.0], dtype=torch.float64)

    def __init__(self) -> None:
        self.space = Space(Sequence("seq", 5, "ACGT"))
        X = torch.cartesian_prod(*[torch.arange(4.0, dtype=torch.float64)] * 5)
        y = self.score(X)
        keep = y <= 2
        self._X, self._y = X[keep], y[keep]

    def score(self, X: Tensor) -> Tensor:
        return (X == self.motif).sum(-1).to(torch.float64)

    def visible(self) -> tuple[Tensor, Tensor]:
        return self._X, self._y

    def score_range(self) -> tuple[float, float]:
        return 0.0, 5.0


def cell(problem: OfflineProblem, seed: int = 0) -> CellContext:
    return CellContext(space=problem.space, seed=seed, device=torch.device("cpu"))


def test_every_offline_solver_has_fast_settings():
    assert set(offline_names()) == set(FAST)


@pytest.mark.parametrize("problem", [Bowl(), Motif()], ids=["continuous", "sequence"])
@pytest.mark.parametrize("name", sorted(FAST))
def test_solver_proposes_k_designs_inside_the_space_seeded(name, problem):
    solver = fast(name)
    data = problem.dataset()
    if solver.missing(problem):  # a solver that cannot run here says so when declared, and refuses to run
        with pytest.raises(InvalidConfigError, match="Sequence and Categorical parameters only"):
            solver.propose(data, K, cell(problem, 0))
        return
    first = solver.propose(data, K, cell(problem, 0))
    assert first.shape == (K, problem.space.dim)
    assert bool(problem.space.contains(first).all())
    again = solver.propose(data, K, cell(problem, 0))
    assert torch.equal(first, again), f"{name}: the same seed gave other designs"


def test_gradient_ascent_improves_on_the_visible_best():
    problem = Bowl(dim=4, n=512)
    data = problem.dataset()
    solver = GradientAscent(surrogate=SurrogateConfig(hidden=(32, 32), epochs=60, max_steps=300, lr=3e-3), steps=50)
    X = solver.propose(data, 16, cell(problem))
    with scoring():
        values = problem.oracle(X)
    assert float(values.max()) > float(data.y.max())


@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_cmaes_on_the_surrogate_improves_on_the_visible_best(covariance):
    problem = Bowl(dim=4, n=512)
    data = problem.dataset()
    solver = CMAESSurrogate(surrogate=SurrogateConfig(hidden=(32, 32), epochs=60, max_steps=300, lr=3e-3),
                            iterations=20, sigma=0.2, covariance=covariance)
    X = solver.propose(data, 16, cell(problem))
    with scoring():
        values = problem.oracle(X)
    assert float(values.max()) > float(data.y.max())


def test_cmaes_covariance_follows_the_dimension_and_is_validated():
    from cmaes import CMA, SepCMA

    auto = CMAESSurrogate()
    assert auto.strategy(DIAGONAL_ABOVE) is CMA and auto.strategy(DIAGONAL_ABOVE + 1) is SepCMA
    assert CMAESSurrogate(covariance="full").strategy(4000) is CMA
    assert CMAESSurrogate(covariance="diagonal").strategy(2) is SepCMA
    with pytest.raises(InvalidConfigError, match=r"CMAESSurrogate\.covariance .*covariance='sep'"):
        CMAESSurrogate(covariance="sep")


def test_ignite_lowers_the_surrogate_sharpness():
    problem = Bowl(dim=4, n=512)
    data = problem.dataset()
    Z = NetEncoding(data.space, data.X).encode(data.X)
    y = standardized(data.y).float()
    plain = SurrogateConfig(hidden=(32, 32), members=2, epochs=60, max_steps=200, lr=3e-3)
    # a tight bound and a quick dual ascent, so a short training feels the constraint
    constrained = dataclasses.replace(plain, sharpness=Sharpness(eps=0.05, dual_lr=1.0))
    before = sharpness(fit_surrogate(plain, Z, y, generator=torch.Generator().manual_seed(0)), Z)
    after = sharpness(fit_surrogate(constrained, Z, y, generator=torch.Generator().manual_seed(0)), Z)
    assert bool((after < 0.8 * before).all()), (before, after)


def test_the_trace_follows_the_multiplier_of_a_violated_constraint():
    Z, y = _bowl_features()
    config = SurrogateConfig(hidden=(16, 16), epochs=20, max_steps=30, lr=3e-3,
                             sharpness=Sharpness(eps=1e-6, lambda_0=0.0, dual_lr=0.5))
    trace: list[dict[str, float]] = []
    fit_surrogate(config, Z, y, generator=torch.Generator().manual_seed(0), trace=trace)
    assert [t["step"] for t in trace] == list(range(30))
    # eps far below rho * ||grad h||: every dual step adds dual_lr * (rho * ||grad h|| - eps) to lambda
    lams = [0.0] + [t["lambda"] for t in trace]
    for before, t, after in zip(lams, trace, lams[1:]):
        assert after == pytest.approx(before + 0.5 * (t["rho_norm"] - 1e-6), rel=1e-5)
    assert all(t["rho_norm"] > 0 for t in trace)


def _bowl_features(n: int = 512):
    data = Bowl(dim=4, n=n).dataset()
    return NetEncoding(data.space, data.X).encode(data.X), standardized(data.y).float()


def test_a_slack_constraint_with_a_nonnegative_multiplier_is_plain_training_and_a_free_one_is_not():
    # eps far above rho * ||grad h||: the dual step lowers lambda from 0 every step. Kept >= 0 it stays 0 and
    # the training is the plain one, step for step; let go negative (the reference code), it rewards sharpness.
    Z, y = _bowl_features()
    plain = SurrogateConfig(hidden=(16, 16), epochs=5, max_steps=40, lr=3e-3)
    slack = Sharpness(eps=1e6, lambda_0=0.0, dual_lr=1e-3)
    nets = [fit_surrogate(c, Z, y, generator=torch.Generator().manual_seed(0)) for c in (
        plain, dataclasses.replace(plain, sharpness=slack),
        dataclasses.replace(plain, sharpness=dataclasses.replace(slack, nonnegative=False)))]
    assert all(torch.equal(a, b) for a, b in zip(nets[0].params, nets[1].params))
    assert not torch.allclose(nets[0](Z), nets[2](Z))


def test_the_log_std_head_is_soft_clamped_as_design_bench_does_it():
    lo, hi = torch.tensor(math.log(0.1)), torch.tensor(math.log(0.2))
    out = bounded_logstd(torch.linspace(-30, 30, 601), lo, hi)
    assert bool((out >= lo).all()) and bool((out.diff() >= 0).all())
    # far below: the lower bound; far above: the upper bound passed through the second softplus
    assert float(out[0] - lo) < 1e-6
    assert abs(float(out[-1] - (lo + torch.nn.functional.softplus(hi - lo)))) < 1e-5


def test_the_gaussian_likelihood_head_learns_the_mean():
    Z, y = _bowl_features()
    config = SurrogateConfig(hidden=(32, 32), members=2, epochs=60, max_steps=300, lr=3e-3, loss="nll")
    net = fit_surrogate(config, Z[:200], y[:200], generator=torch.Generator().manual_seed(0))
    out = net.outputs(net.first(Z[200:]))
    assert out.shape == (2, len(Z) - 200, 2) and torch.equal(net(Z[200:]), out[..., 0])
    for member in net(Z[200:]):  # the mean head ranks held-out designs as their scores do
        assert float(torch.corrcoef(torch.stack([member, y[200:]]))[0, 1]) > 0.9


def test_bootstrap_weights_drop_the_rows_a_resample_misses_and_nothing_else_changes():
    Z, y = _bowl_features()
    config = SurrogateConfig(hidden=(16, 16), epochs=5, max_steps=40, lr=3e-3, bootstrap=True)
    counts = bootstrap_counts(torch.Generator().manual_seed(0), 1, len(y))[0]
    assert float(counts.sum()) == len(y)
    missed, drawn = int(torch.nonzero(counts == 0)[0]), int(torch.nonzero(counts > 0)[0])

    def fit(y_):
        return fit_surrogate(config, Z, y_, generator=torch.Generator().manual_seed(0))(Z)

    base = fit(y)
    y_missed, y_drawn = y.clone(), y.clone()
    y_missed[missed] += 100.0
    y_drawn[drawn] += 100.0
    assert torch.equal(fit(y_missed), base)  # a row the resample missed weighs nothing
    assert not torch.allclose(fit(y_drawn), base)
    # all-ones counts would be the unweighted fit: the same initialization and batch order
    plain = fit_surrogate(dataclasses.replace(config, bootstrap=False), Z, y, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(plain(Z), base)
    with pytest.raises(InvalidConfigError, match=r"SurrogateConfig\.loss\b"):
        SurrogateConfig(loss="huber")
    with pytest.raises(InvalidConfigError, match=r"Sharpness\.nonnegative\b"):
        Sharpness(nonnegative="no")


def test_root_bridge_moves_low_designs_to_high_ones():
    problem = Bowl(dim=2, n=512)
    data = problem.dataset()
    root = ROOT(bridge=BridgeConfig(hidden=64, timesteps=200, sample_steps=20, batch_size=64),
                epochs=3, passes=6, n_fit=256, functions=4, top=64, points=64, gp_steps=30)
    ctx = cell(problem)
    enc, Z, y, bridge, best = root.train(data, ctx)
    low = torch.argsort(y)[:64]  # the worst visible designs
    target = torch.full((64,), 0.8 * best)
    moved = enc.decode(bridge.sample(Z[low], y[low].float(), target, generator(ctx, 9)))
    with scoring():
        start, end = problem.oracle(data.X[low]), problem.oracle(moved)
    assert float(end.mean()) > float(data.y.max()), (float(start.mean()), float(end.mean()))  # beyond the visible best
    assert float((moved - problem.centre).norm(dim=1).mean()) < float((data.X[low] - problem.centre).norm(dim=1).mean())


def test_root_scale_follows_the_device_and_explicit_options_override_it():
    cpu, gpu = ROOT().at("cpu"), ROOT().at(torch.device("cuda"))  # resolving builds nothing on the device
    assert (cpu.scale, cpu.epochs, cpu.passes, cpu.n_fit, cpu.bridge.hidden) == ("cpu", 8, 2, 4000, 512)
    # the CPU budget keeps 1,000 GP rows for wide designs (Ehrlich's 992 features), 4,000 up to 256 features
    assert [ROOT().at("cpu", f).n_fit for f in (24, 256, 257, 992)] == [4000, 4000, 1000, 1000]
    assert ROOT().at("cuda", 3968).n_fit == 15000 and ROOT(n_fit=500).at("cpu", 992).n_fit == 500
    assert (gpu.scale, gpu.epochs, gpu.passes, gpu.n_fit, gpu.bridge.hidden) == ("paper", 100, 1, 15000, 1024)
    mixed = ROOT(scale="paper", epochs=3, bridge=BridgeConfig(hidden=64, condition="ordered")).at("cpu")
    assert (mixed.scale, mixed.epochs, mixed.passes, mixed.n_fit, mixed.bridge.hidden) == ("paper", 3, 1, 15000, 64)
    assert mixed.bridge.condition == "ordered" and mixed.settled and not ROOT(scale="cpu").settled
    for make, field in [(lambda: ROOT(scale="gpu"), "scale"), (lambda: ROOT(epochs=0), "epochs"),
                        (lambda: ROOT(n_fit=-5), "n_fit"), (lambda: BridgeConfig(hidden=0), "hidden")]:
        with pytest.raises((InvalidConfigError, ValueError), match=rf"\.{field}\b"):
            make()


def test_root_puts_the_settings_it_ran_with_on_record():
    problem = Bowl(dim=2, n=96)
    ctx = cell(problem)
    data = problem.dataset()
    ROOT(scale="paper", **{**TINY_ROOT, "n_fit": None}).propose(data, K, ctx)
    notes = ctx.notes
    assert (notes["scale"], notes["epochs"], notes["passes"], notes["hidden"]) == ("paper", 1, 1, 32)
    assert notes["n_fit"] == len(data) < 15000  # the paper's 15,000 rows, capped by the visible data
    assert notes["target"] == pytest.approx(0.3 * notes["best_synthetic"])


def test_root_walk_in_the_span_matches_the_direct_gradient_steps():
    # More features than fitted rows takes the span form (a * q0 + C X); it must follow the same path.
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(60, 300, generator=g), torch.randn(60, generator=g)
    gp = PosteriorMean(X, y, noise=0.01)
    gp.set(25.0, 6.25)
    Q = X[:40] + 0.1 * torch.randn(40, 300, generator=g)
    step = torch.full((40,), 0.05)
    step[:20] = -0.05
    direct = Q.clone()
    for _ in range(50):
        direct = direct + step[:, None] * gp.value_and_grad(direct)[1]
    walked = gp.walk(Q, step, 50)
    assert float((direct - Q).abs().max()) > 0.1  # the walk goes somewhere
    torch.testing.assert_close(walked, direct, atol=1e-4, rtol=1e-4)
    assert bool((gp(walked)[20:] > gp(Q)[20:]).all() and (gp(walked)[:20] < gp(Q)[:20]).all())
    few = PosteriorMean(X[:, :50], y, noise=0.01)  # fewer features than rows: plain gradient steps
    few.set(6.25, 6.25)
    plain = Q[:, :50]
    for _ in range(5):
        plain = plain + step[:, None] * few.value_and_grad(plain)[1]
    assert torch.equal(few.walk(Q[:, :50], step, 5), plain)


class NoAC(OfflineProblem):
    """Length-6 DNA sequences scored by their A at even and C at odd positions (ACACAC scores 6); "A" is never
    followed by "C" in the visible rows (which score at most 2), so a search that respects the learned
    transitions reaches 3 at most and never writes "AC", and one that does not goes for ACACAC."""

    name = "test-no-ac"

    def __init__(self) -> None:
        self.space = Space(Sequence("seq", 6, "ACGT"))
        X = torch.cartesian_prod(*[torch.arange(4.0, dtype=torch.float64)] * 6)
        has_ac = ((X[:, :-1] == 0) & (X[:, 1:] == 1)).any(1)
        y = self.score(X)
        keep = ~has_ac & (y <= 2)
        self._X, self._y = X[keep], y[keep]

    def score(self, X: Tensor) -> Tensor:
        return (X == torch.tensor([0.0, 1.0] * 3, dtype=X.dtype)).sum(-1).to(torch.float64)

    def visible(self) -> tuple[Tensor, Tensor]:
        return self._X, self._y

    def score_range(self) -> tuple[float, float]:
        return 0.0, 6.0


def _has_ac(X: Tensor) -> Tensor:
    return ((X[:, :-1] == 0) & (X[:, 1:] == 1)).any(1)


def test_learned_transitions_are_the_seen_pairs_and_letters_allowed_agrees_with_them():
    data = NoAC().dataset()
    moves = Transitions(data.space, data.X)
    (start, length, table), = moves.blocks
    assert (start, length) == (0, 6) and not bool(table[0, 1]) and int(table.sum()) == 15
    assert bool(moves.feasible(data.X).all())
    rows = torch.tensor([[0, 2, 0, 3, 1, 1], [1, 1, 1, 1, 1, 0]])
    allowed = moves.letters_allowed(rows)
    for i in range(2):
        for col in range(6):
            assert torch.equal(allowed[i, col], moves.allowed_at(rows[i : i + 1], col)[0])
            for v in range(4):
                edited = rows[i].clone()
                edited[col] = v
                # allowed iff the edit creates no unseen pair next to it
                new_pairs = [(edited[j], edited[j + 1]) for j in (col - 1, col) if 0 <= j < 5]
                assert bool(allowed[i, col, v]) == all(bool(table[a, b]) for a, b in new_pairs)
    assert bool(Transitions(data.space, data.X, learned=False).letters_allowed(rows).all())


def test_edit_scorer_equals_the_surrogate_on_every_edited_design():
    problem = Motif()
    data = problem.dataset()
    solver = LocalSearch(surrogate=dataclasses.replace(TINY, members=3), kappa=0.5)
    fitted = solver.fit(data, cell(problem))
    scorer = EditScorer(fitted, kappa=0.5, chunk=64)  # a small chunk: one design a piece
    rows = data.X[:7].long()
    scores = scorer.score(rows)
    for i in range(7):
        edited = rows[i].repeat(20, 1)
        edited[torch.arange(20), torch.arange(20) // 4] = torch.arange(20) % 4
        direct = fitted.net(fitted.enc.encode(edited.double()))
        expected = direct.mean(0) + 0.5 * direct.std(0)
        torch.testing.assert_close(scores[i].reshape(-1), expected, atol=1e-5, rtol=1e-5)
    own = scores[torch.arange(7)[:, None], torch.arange(5)[None, :], rows]  # writing the letter already there
    torch.testing.assert_close(own, scorer.values(rows)[:, None].expand(7, 5), atol=1e-5, rtol=1e-5)


def test_edit_scorer_on_a_mixed_space_of_choices_and_sequences():
    space = Space(Categorical("a", ["x", "y", "z"]), Sequence("s", 4, "ABCDE"), Categorical("one", ["only"]),
                  Categorical("b", list("1234567")), Sequence("t", 3, "AB"))
    g = torch.Generator().manual_seed(0)
    X = torch.stack([torch.randint(int(n), (300,), generator=g) for n in [3, 5, 5, 5, 5, 1, 7, 2, 2, 2]], 1).double()
    data = OfflineData(space=space, X=X, y=torch.randn(300, generator=g, dtype=torch.float64))
    fitted = LocalSearch(surrogate=dataclasses.replace(TINY, members=3)).fit(data, CellContext(space=space, seed=0,
                                                                                                device=torch.device("cpu")))
    scorer = EditScorer(fitted, kappa=0.7, chunk=50)
    rows = X[:4].long()
    scores = scorer.score(rows)
    sizes = torch.tensor([3, 5, 5, 5, 5, 1, 7, 2, 2, 2])
    assert scores.shape == (4, 10, 7)
    for i in range(4):
        for col in range(10):
            for v in range(7):
                if v >= sizes[col]:
                    assert scores[i, col, v] == float("-inf")
                    continue
                edited = rows[i : i + 1].clone()
                edited[0, col] = v
                direct = fitted.net(fitted.enc.encode(edited.double()))
                expected = direct.mean(0) + 0.7 * direct.std(0)
                torch.testing.assert_close(scores[i, col, v : v + 1], expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(InvalidConfigError, match="EditScorer needs a space of Sequence and Categorical"):
        bowl = Bowl().dataset()
        EditScorer(LocalSearch(surrogate=TINY).fit(bowl, cell(Bowl())))


def test_sequence_search_options_fail_when_declared_naming_the_field():
    for make, field in [(lambda: LocalSearch(feasibility="strict"), "feasibility"),
                        (lambda: LocalSearch(edits=-1), "edits"),
                        (lambda: LocalSearch(kappa=1.0, surrogate=TINY), "kappa"),
                        (lambda: LocalSearch(kappa=1.0, aggregation="min"), "kappa"),
                        (lambda: ModelBasedGA(survival=1.0), "survival"),
                        (lambda: ModelBasedGA(mutation=0.0), "mutation"),
                        (lambda: ModelBasedGA(particles=1), "particles"),
                        (lambda: COMs(standardize="yes"), "standardize"),
                        (lambda: COMs(tau=0.0), "tau"),
                        (lambda: RankingModel(loss="lambdarank"), "loss"),
                        (lambda: RankingModel(validation=1.0), "validation"),
                        (lambda: RankingModel(surrogate=SurrogateConfig(loss="nll")), "surrogate")]:
        with pytest.raises(InvalidConfigError, match=rf"\.{field}\b"):
            make()


@pytest.mark.parametrize("name", ["local-search", "mbga"])
def test_sequence_searches_respect_the_learned_transitions_and_beat_the_visible_best(name):
    problem = NoAC()
    data = problem.dataset()
    net = SurrogateConfig(hidden=(32, 32), members=2, epochs=40, max_steps=300, lr=3e-3)
    options = dict(edits=6) if name == "local-search" else dict(particles=200, generations=15)
    learned = solvers.get(name)(surrogate=net, **options)
    X = learned.propose(data, 16, cell(problem))
    assert not bool(_has_ac(X).any()), "a proposal holds a pair never seen in the visible data"
    with scoring():
        values = problem.oracle(X)
    assert float(values.max()) == 3.0 > float(data.y.max())  # the best that avoids "AC"
    free = solvers.get(name)(surrogate=net, feasibility="none", **options).propose(data, 16, cell(problem))
    assert bool(_has_ac(free).any()), "without the learned transitions the search writes A before C"


def test_local_search_climbs_at_most_edits_letters_from_its_start():
    problem = NoAC()
    data = problem.dataset()
    net = SurrogateConfig(hidden=(32, 32), members=2, epochs=40, max_steps=300, lr=3e-3)
    X = LocalSearch(surrogate=net, edits=2).propose(data, 8, cell(problem))
    starts = data.X[torch.argsort(data.y, descending=True)[:8]]
    changed = (X != starts).sum(1)
    assert bool((changed <= 2).all()) and bool((changed > 0).any())
    solver = LocalSearch(surrogate=net, edits=2)
    fitted = solver.fit(data, cell(problem))
    scorer = EditScorer(fitted)
    assert bool((scorer.values(X) >= scorer.values(starts) - 1e-6).all())  # the acquisition never falls


def test_mbga_proposes_distinct_designs_that_are_not_visible():
    problem = NoAC()
    data = problem.dataset()
    X = ModelBasedGA(surrogate=SurrogateConfig(hidden=(16, 16), members=2, epochs=5, max_steps=40),
                     particles=64, generations=4).propose(data, 16, cell(problem))
    assert len({tuple(r.tolist()) for r in X}) == 16
    visible = {tuple(r.tolist()) for r in data.X}
    assert not any(tuple(r.tolist()) in visible for r in X)


def test_sequence_searches_refuse_real_columns_before_any_cell_runs(tmp_path):
    with pytest.raises(CapabilityError, match="local-search.*Sequence and Categorical parameters only"):
        Runner(Study("s", problems=[Bowl()], solvers=["local-search"], seeds=[0]), run_dir=tmp_path).check()


def test_coms_dual_step_raises_alpha_while_the_surrogate_overestimates():
    problem = Bowl(dim=4, n=512)
    data = problem.dataset()
    Z = NetEncoding(data.space, data.X).encode(data.X)
    y = standardized(data.y).float()
    net = SurrogateConfig(hidden=(32, 32), activation="relu", epochs=60, max_steps=120, lr=3e-3)
    tight = Conservatism(1, alpha=0.1, alpha_lr=0.05, tau=0.01, steps=10, lr=0.05, device=torch.device("cpu"))
    loose = Conservatism(1, alpha=0.1, alpha_lr=0.05, tau=1e3, steps=10, lr=0.05, device=torch.device("cpu"))
    fitted = fit_surrogate(net, Z, y, generator=torch.Generator().manual_seed(0), penalty=tight)
    fit_surrogate(net, Z, y, generator=torch.Generator().manual_seed(0), penalty=loose)
    assert float(tight.alpha) > 0.1 > float(loose.alpha)
    plain = fit_surrogate(net, Z, y, generator=torch.Generator().manual_seed(0))

    def overestimation(model):  # how much 10 ascent steps raise the prediction from the data
        fixed = model.params
        return float((model(ascend(lambda x: model(x, fixed), Z, 10, 0.05)) - model(Z)).mean())

    assert overestimation(fitted) < 0.5 * overestimation(plain)


def test_coms_defaults_follow_the_space():
    assert COMs().settings(Motif().dataset()) == (2.0, 2.0, False)
    assert COMs().settings(Bowl().dataset()) == (0.5, 0.05, True)
    assert COMs(tau=1.0, particle_lr=0.1, standardize=True).settings(Motif().dataset()) == (1.0, 0.1, True)
    with pytest.raises(InvalidConfigError, match=r"COMs\.surrogate\.sharpness"):
        COMs(surrogate=SurrogateConfig(sharpness=Sharpness()))


def test_ranking_losses_see_only_the_order_they_should():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(4, 30, generator=g)
    shuffled = y[:, torch.randperm(30, generator=g)]
    for loss in ("listnet", "rankcosine"):
        assert float(ranking_loss(y + 3.0, y, loss)) == pytest.approx(float(ranking_loss(y, y, loss)), abs=1e-6)
        assert float(ranking_loss(y, y, loss)) < float(ranking_loss(shuffled, y, loss))
    assert float(ranking_loss(2.0 * y + 1.0, y, "rankcosine")) == pytest.approx(0.0, abs=1e-6)
    assert float(ranking_loss(y, y, "mse")) == 0.0


def test_ranking_model_orders_unseen_designs():
    problem = Bowl(dim=4, n=1024)
    data = problem.dataset()
    solver = RankingModel(lists=200, list_length=32,
                          surrogate=SurrogateConfig(hidden=(32, 32), activation="relu", epochs=30, batch_size=8, lr=3e-3))
    fitted = solver.fit(data, cell(problem))
    X = problem.space.sample(256, seed=11)
    with scoring():
        truth = problem.oracle(X)
    pred = fitted.predict(fitted.enc.encode(X))
    rank = lambda v: torch.argsort(torch.argsort(v)).double()  # noqa: E731
    spearman = float(torch.corrcoef(torch.stack([rank(pred.double()), rank(truth)]))[0, 1])
    assert spearman > 0.8, spearman
