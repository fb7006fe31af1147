"""The ``sls``, ``sgd-sai`` and ``lbfgs`` training solvers: SLS takes only Armijo steps and pays an oracle
call per trial; SGD-SaI moves one-element, constant and late-starting blocks the reference rules freeze or
blow up, and keeps half of Adam's state; L-BFGS reaches the reference optimum; every solver resumes exactly
from its ``state_dict``."""

from __future__ import annotations

import io
import math
import statistics

import pytest
import torch
from torch import Tensor, nn

from problems.training.datasets import LogregBreastCancer, MlpDigits
from workbench.errors import InvalidConfigError
from workbench.families.training import Batch, Counter, Setup, Step, TrainingProblem, generator
from workbench.families.training.reference import reference_optimum
from workbench.solvers import solvers
from workbench.solvers.training import Adam, Lbfgs, SgdSai, Sls
from workbench.solvers.training.sgd_sai import MEDIAN, SNR, gsnr


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny float64 tensors: a second thread only spins against the first (and other tests' processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cancer(one_thread) -> LogregBreastCancer:
    return LogregBreastCancer()


def start(problem, solver, seed: int = 0):
    """The model, the trainer and the data generator of one cell, as the family's loop makes them."""
    batch_size = len(problem.splits()["train"]) if solver.full_batch else problem.batch_size
    model = problem.model(generator(seed, 1))
    setup = Setup(problem=problem, seed=seed, device=torch.device("cpu"),
                  steps_per_epoch=problem.steps_per_epoch(batch_size))
    return model, solver.start(model, setup), generator(seed, 2), batch_size, setup


def objective(problem, model, batch: Batch) -> tuple[float, list[Tensor]]:
    """The minibatch objective and its gradient, computed here (outside any Step, uncounted)."""
    params = [p for p in model.parameters() if p.requires_grad]
    f = problem.loss(problem.targets(model, batch.X), batch.y).mean() + problem.regularizer(model)
    grads = torch.autograd.grad(f, params)
    return float(f.detach()), [g.detach() for g in grads]


def flat(tensors) -> Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])


# --------------------------------------------------------------------------------------------------- sls
def test_every_sls_step_satisfies_armijo_and_every_trial_is_an_oracle_call(cancer):
    solver = Sls()
    model, trainer, data, bs, _ = start(cancer, solver)
    counter = Counter()
    taken = backtracked = 0
    for _ in range(3):
        for batch in cancer.batches(model, bs, data):
            f0, g = objective(cancer, model, batch)
            theta0, g = flat(model.parameters()), flat(g)
            before = counter.snapshot()
            trainer.step(Step(cancer, model, batch, counter))
            rec = trainer.last
            theta1 = flat(model.parameters())
            # what was counted: one gradient (1 call, 2 passes) and one call and one pass per trial
            assert counter.oracle_calls - before["oracle_calls"] == 1 + rec.trials
            assert counter.model_passes - before["model_passes"] == 2 + rec.trials
            assert rec.f_before == pytest.approx(f0, rel=1e-13)
            assert rec.grad_norm_sq == pytest.approx(float(g @ g), rel=1e-12)
            if not rec.accepted:
                assert torch.equal(theta0, theta1)
                continue
            taken += 1
            backtracked += rec.trials > 1
            # the step taken is along -g, of the recorded length, and decreases f by Armijo's margin:
            # checked from the parameters and a fresh evaluation, not from what the trainer says
            assert torch.allclose(theta1, theta0 - rec.eta * g, rtol=0, atol=1e-13)
            with torch.no_grad():
                f1 = float(cancer.loss(cancer.targets(model, batch.X), batch.y).mean() + cancer.regularizer(model))
            assert f1 == pytest.approx(rec.f_after, rel=1e-13)
            assert f1 <= f0 - solver.c * rec.eta * float(g @ g) + 1e-15
            assert 0 < rec.eta <= solver.max_step_size
    assert taken == 3 * cancer.steps_per_epoch(bs)
    assert backtracked > 0  # the paper's start (1, growing) overshoots here: backtracking is exercised


def test_sls_grows_its_step_size_by_gamma_per_epoch_and_caps_it(cancer):
    model, trainer, data, bs, setup = start(cancer, Sls(init_step_size=1e-3, max_step_size=0.05))
    batch = next(cancer.batches(model, bs, data))
    trainer.step(Step(cancer, model, batch, Counter()))
    assert trainer.last.trials == 1  # a tiny step passes at once
    assert trainer.last.eta == pytest.approx(1e-3 * 2.0 ** (1 / setup.steps_per_epoch))
    for _ in range(setup.steps_per_epoch * 8):  # 2^8 growth would pass the cap
        trainer.step(Step(cancer, model, batch, Counter()))
        assert trainer.last.eta <= 0.05


def test_sls_stays_put_when_no_trial_passes(cancer):
    model, trainer, data, bs, _ = start(cancer, Sls(init_step_size=1e6, max_step_size=None, max_backtracks=3))
    batch = next(cancer.batches(model, bs, data))
    theta0 = flat(model.parameters())
    counter = Counter()
    trainer.step(Step(cancer, model, batch, counter))
    assert not trainer.last.accepted and trainer.last.trials == 3
    assert trainer.last.eta == pytest.approx(1e6 * 2 ** (1 / 14) * 0.9**2)  # the last trial
    assert counter.oracle_calls == 4
    assert torch.equal(flat(model.parameters()), theta0)
    assert trainer.state_dict()["step_size"] == pytest.approx(1e6 * 2 ** (1 / 14) * 0.9**3)


# --------------------------------------------------------------------------------------------------- sgd-sai
class Blocks(nn.Module):
    """A regression model of blocks the g-SNR rule finds hard: ``w`` (ordinary), ``s`` (one element),
    ``c`` (two entries whose gradients are always equal), ``A`` (its first gradient is zero: it feeds the
    output only through ``b``, which starts at zero), ``b``, and ``u`` (one element, and its first gradient
    is zero: it multiplies ``b``'s sum)."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(torch.randn(4, generator=g, dtype=torch.float64))
        self.s = nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.c = nn.Parameter(torch.zeros(2, dtype=torch.float64))
        self.A = nn.Parameter(torch.randn(3, 4, generator=g, dtype=torch.float64))
        self.b = nn.Parameter(torch.zeros(3, dtype=torch.float64))
        self.u = nn.Parameter(torch.ones(1, dtype=torch.float64))

    def forward(self, X: Tensor) -> Tensor:
        return X @ self.w + self.s + self.c.sum() + (X @ self.A.T) @ self.b + self.u * self.b.sum()


class BlocksProblem(TrainingProblem):
    name = "blocks"

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(1)
        self.X = torch.randn(32, 4, generator=g, dtype=torch.float64)
        self.y = self.X @ torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64) + 1.5

    def model(self, generator: torch.Generator) -> nn.Module:
        return Blocks()

    def loss(self, z: Tensor, y: Tensor) -> Tensor:
        return 0.5 * (z - y) ** 2


def library_rule(model: nn.Module, grads_of, steps: int, lr=1e-2, momentum=0.9, weight_decay=0.0, eps=1e-8):
    """pytorch-optimizer 4.1.0's SGDSaI rule, reimplemented: g-SNR fixed at the first step (``‖g‖/(std+eps)``
    for tensors with ndim > 1 and size(0) != 1, else ``‖g‖``), a zero-started momentum buffer, decoupled
    weight decay."""
    params = list(model.parameters())
    scales, bufs = None, [torch.zeros_like(p) for p in params]
    for _ in range(steps):
        grads = grads_of(model)
        if scales is None:
            scales = []
            for g in grads:
                sigma = float(g.std().nan_to_num()) if g.ndim > 1 and g.shape[0] != 1 else 0.0
                scales.append(float(g.norm()) / (sigma + eps) if sigma != 0.0 else float(g.norm()))
        with torch.no_grad():
            for p, g, s, m in zip(params, grads, scales, bufs):
                m.mul_(momentum).add_(g, alpha=1 - momentum)
                p.mul_(1 - lr * weight_decay).add_(m, alpha=-lr * s)
    return scales


def test_gsnr_is_undefined_for_one_element_and_constant_blocks():
    assert gsnr(torch.tensor([3.0], dtype=torch.float64), 1e-8) is None
    assert gsnr(torch.full((3,), 0.1, dtype=torch.float64), 1e-8) is None  # std is a few ulps, not 0
    assert gsnr(torch.full((5, 7), -2.5), 1e-8) is None
    g = torch.tensor([1.0, -1.0, 2.0, 0.0], dtype=torch.float64)
    assert gsnr(g, 0.0) == pytest.approx(float(g.norm() / g.std()))


def test_sgd_sai_moves_one_element_constant_and_late_blocks_that_the_library_rule_mishandles():
    problem = BlocksProblem()
    solver = SgdSai(weight_decay=0.0)  # no decay: a block moves only by its gradient
    model = problem.model(torch.Generator())
    trainer = solver.start(model, Setup(problem=problem, seed=0, device=torch.device("cpu"), steps_per_epoch=1))
    batch = Batch(problem.X, problem.y)
    names = [n for n, _ in model.named_parameters()]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    counter = Counter()
    trainer.step(Step(problem, model, batch, counter))
    kinds = dict(zip(names, trainer.kinds))
    scales = {n: (None if s is None else float(s)) for n, s in zip(names, trainer.scales)}
    assert kinds == {"w": SNR, "s": MEDIAN, "c": MEDIAN, "A": None, "b": SNR, "u": None}
    assert scales["s"] == scales["c"] == pytest.approx(statistics.median([scales["w"], scales["b"]]))
    assert torch.equal(model.A.detach(), before["A"])  # no gradient yet, no scale yet
    assert torch.equal(model.u.detach(), before["u"])
    trainer.step(Step(problem, model, batch, counter))
    # set at the second step: A from its own g-SNR, u the median of the g-SNRs measured so far (w, b, A)
    kinds = dict(zip(names, trainer.kinds))
    scales = {n: float(s) for n, s in zip(names, trainer.scales)}
    assert kinds["A"] == SNR and kinds["u"] == MEDIAN
    assert scales["u"] == pytest.approx(statistics.median([scales["w"], scales["b"], scales["A"]]))
    for _ in range(3):
        trainer.step(Step(problem, model, batch, counter))
    assert math.isfinite(scales["s"]) and 0 < scales["s"] < 1e3
    for n, p in model.named_parameters():
        assert not torch.equal(p.detach(), before[n]), f"block {n} did not move"
    assert counter.oracle_calls == 5

    # the library's rule on the same model and data: A's scale is fixed at 0 on the first step, forever
    def grads_of(m: nn.Module) -> list[Tensor]:
        f = problem.loss(m(batch.X), batch.y).mean()
        return [g.detach() for g in torch.autograd.grad(f, list(m.parameters()))]

    reference = problem.model(torch.Generator())
    lib_scales = library_rule(reference, grads_of, steps=5)
    assert lib_scales[names.index("A")] == 0.0 and lib_scales[names.index("u")] == 0.0
    assert torch.equal(reference.A.detach(), before["A"]) and torch.equal(reference.u.detach(), before["u"])
    # and it gives the one-element block the size of its first gradient, not a g-SNR
    assert lib_scales[names.index("s")] == pytest.approx(abs(float(grads_of(problem.model(torch.Generator()))[1])))


def test_sgd_sai_keeps_less_state_than_adam_measured_from_its_tensors():
    problem = MlpDigits()
    out = {}
    for solver in (SgdSai(), Adam()):
        model, trainer, data, bs, _ = start(problem, solver)
        trainer.step(Step(problem, model, next(problem.batches(model, bs, data)), Counter()))
        out[type(solver).__name__] = trainer.state_bytes()
        n_params = sum(p.numel() for p in model.parameters())
        n_blocks = len(list(model.parameters()))
    assert out["SgdSai"] == 8 * (n_params + n_blocks)  # one float64 buffer per entry, one scale per block
    assert out["SgdSai"] < out["Adam"]
    assert out["Adam"] >= 2 * 8 * n_params


# --------------------------------------------------------------------------------------------------- lbfgs
def test_lbfgs_reaches_the_reference_optimum_within_50_epochs(cancer):
    solver = Lbfgs()
    assert solver.full_batch
    fstar = reference_optimum(cancer)
    model, trainer, data, bs, setup = start(cancer, solver)
    assert bs == len(cancer.splits()["train"]) and setup.steps_per_epoch == 1
    counter, epochs, value = Counter(), 0, math.inf
    while epochs < 50 and value - fstar > 1e-6:
        (batch,) = list(cancer.batches(model, bs, data))
        trainer.step(Step(cancer, model, batch, counter))
        epochs += 1
        with torch.no_grad():
            value = cancer.scores(model)["train_loss"]
    assert value - fstar <= 1e-6, f"gap {value - fstar:.3g} after {epochs} epochs"
    # one evaluation to start each epoch's step, at least one line-search trial per iteration
    assert counter.oracle_calls >= 2 * epochs
    assert counter.model_passes == 2 * counter.oracle_calls
    assert trainer.state_bytes() > 0


# --------------------------------------------------------------------------------------------------- resume
@pytest.mark.parametrize("solver, problem, split", [
    (Sls(), LogregBreastCancer, 17),
    (SgdSai(), MlpDigits, 5),
    (SgdSai(), BlocksProblem, 1),  # resumed while block A still waits for its first nonzero gradient
    (Lbfgs(), LogregBreastCancer, 4),
])
def test_a_resumed_trainer_takes_the_same_next_steps(solver, problem, split):
    problem = problem()
    if isinstance(problem, BlocksProblem):
        model = problem.model(torch.Generator())
        setup = Setup(problem=problem, seed=0, device=torch.device("cpu"), steps_per_epoch=1)
        trainer = solver.start(model, setup)
        batches = [Batch(problem.X, problem.y)] * (split + 3)
    else:
        model, trainer, data, bs, setup = start(problem, solver)
        batches = []
        while len(batches) < split + 3:
            batches += list(problem.batches(model, bs, data))
    counter = Counter()
    for batch in batches[:split]:
        trainer.step(Step(problem, model, batch, counter))
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "trainer": trainer.state_dict()}, buf)  # as the loop checkpoints
    state = torch.load(io.BytesIO(buf.getvalue()), weights_only=False)
    fresh = problem.model(generator(99, 1)) if not isinstance(problem, BlocksProblem) else problem.model(torch.Generator())
    fresh.load_state_dict(state["model"])
    resumed = solver.start(fresh, setup)
    resumed.load_state_dict(state["trainer"])
    c1, c2 = Counter(), Counter()
    for batch in batches[split:split + 3]:
        trainer.step(Step(problem, model, batch, c1))
        resumed.step(Step(problem, fresh, batch, c2))
        a, b = flat(model.parameters()), flat(fresh.parameters())
        assert not torch.equal(a, flat(state["model"].values()))
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
    assert c1 == c2
    assert resumed.state_bytes() == trainer.state_bytes()


# --------------------------------------------------------------------------------------------------- options
def test_registered_names():
    assert solvers.get("sls") is Sls
    assert solvers.get("sgd-sai") is SgdSai
    assert solvers.get("lbfgs") is Lbfgs
    assert Sls().label == "sls" and SgdSai().label == "sgd-sai" and Lbfgs().label == "lbfgs"
    assert (Sls().init_step_size, Sls().c, Sls().beta, Sls().gamma, Sls().max_backtracks) == (1.0, 0.1, 0.9, 2.0, 100)
    assert (SgdSai().lr, SgdSai().momentum, SgdSai().weight_decay, SgdSai().eps) == (1e-2, 0.9, 1e-2, 1e-8)
    assert (Lbfgs().lr, Lbfgs().line_search) == (1.0, "strong_wolfe")


@pytest.mark.parametrize("cls, field, value", [
    (Sls, "init_step_size", -1.0), (Sls, "c", 1.0), (Sls, "beta", 0.0), (Sls, "gamma", 0.5),
    (Sls, "max_step_size", 0.0), (Sls, "max_backtracks", 0),
    (SgdSai, "lr", -1.0), (SgdSai, "momentum", 1.0), (SgdSai, "weight_decay", -0.1), (SgdSai, "eps", math.nan),
    (SgdSai, "weight_decay", 200.0),
    (Lbfgs, "lr", -1.0), (Lbfgs, "history_size", 0), (Lbfgs, "line_search", "wolfe"), (Lbfgs, "max_iter", 1.5),
    (Lbfgs, "tolerance_grad", -1.0),
])
def test_a_wrong_option_is_refused_naming_the_field(cls, field, value):
    with pytest.raises(InvalidConfigError, match=rf"{cls.__name__}\.{field} must be"):
        cls(**{field: value})
