"""SSO and SSO-SLS: the SGD step at m = 1, the majorization, the Armijo conditions, counting, resuming."""

from __future__ import annotations

import copy

import pytest
import torch

from problems.training import LogregBreastCancer, LogregDigits
from workbench.errors import InvalidConfigError, SolverError
from workbench.families.training import Counter, Setup, Step, generator
from workbench.solvers.training import SGD, SSO, SSOSLS


def setup_of(problem, batch_size=None, total=None) -> Setup:
    per_epoch = problem.steps_per_epoch(batch_size or problem.batch_size)
    return Setup(problem=problem, seed=0, device=torch.device("cpu"), steps_per_epoch=per_epoch, total_steps=total)


def batches(problem, n, batch_size=None, seed=0):
    out = []
    gen = generator(seed, 2)
    model = problem.model(generator(seed, 1))
    while len(out) < n:
        out += list(problem.batches(model, batch_size or problem.batch_size, gen))
    return out[:n]


def flat(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def objective(problem, model, X, y) -> float:
    with torch.no_grad():
        return float(problem.loss(problem.targets(model, X), y).mean() + problem.regularizer(model))


def test_sso_with_one_fixed_inner_step_is_the_sgd_step():
    problem = LogregDigits(batch_size=25)
    model = problem.model(generator(0, 1))
    twin = copy.deepcopy(model)
    sgd = SGD(lr=0.3).start(model, setup_of(problem))
    sso = SSO(m=1, inner="fixed", inner_lr=0.3, eta=0.7).start(twin, setup_of(problem))
    for batch in batches(problem, 5):
        sgd.step(Step(problem, model, batch, Counter()))
        sso.step(Step(problem, twin, batch, Counter()))
        assert model[0].weight.dtype == torch.float64
        assert torch.max(torch.abs(flat(model) - flat(twin))) <= 1e-12
    assert torch.max(torch.abs(flat(model) - flat(problem.model(generator(0, 1))))) > 1e-3  # they moved


@pytest.mark.parametrize("eta", [4.0, 1.0])  # 1/L for the logistic loss (L = 1/4), and a shorter step
def test_full_batch_sso_majorizes_and_descends(eta):
    problem = LogregBreastCancer()
    train = problem.splits()["train"]
    model = problem.model(generator(0, 1))
    trainer = SSO(m=20, eta=eta).start(model, setup_of(problem, len(train)))
    trainer.trace = []
    full = problem.batches(model, len(train), generator(0, 2))
    batch = next(iter(full))
    for _ in range(8):
        before = objective(problem, model, batch.X, batch.y)
        trainer.step(Step(problem, model, batch, Counter()))
        last = trainer.last
        with torch.no_grad():
            z = problem.targets(model, batch.X)
            surrogate = (last["f"] + float((last["g"] * (z - last["z"])).sum())
                         + float(((z - last["z"]) ** 2).sum()) / (2 * last["eta"] * batch.size)
                         + float(problem.regularizer(model)))
        after = objective(problem, model, batch.X, batch.y)
        assert after <= surrogate + 1e-12, (after, surrogate)
        assert surrogate <= before + 1e-12, (surrogate, before)
        assert last["inner_steps"] >= 1
    assert after < before


def test_every_accepted_inner_armijo_step_satisfies_its_condition():
    problem = LogregDigits(batch_size=25)
    model = problem.model(generator(1, 1))
    trainer = SSO(m=10, eta=1.0).start(model, setup_of(problem))
    trainer.trace = []
    for batch in batches(problem, 6, seed=1):
        trainer.step(Step(problem, model, batch, Counter()))
    assert len(trainer.trace) >= 30
    for s, trial, lr, g2 in trainer.trace:
        assert trial <= s - 0.5 * lr * g2 and lr > 0


def test_sso_sls_picks_a_target_step_that_passes_the_target_space_armijo_test():
    problem = LogregDigits(batch_size=25)
    model = problem.model(generator(2, 1))
    solver = SSOSLS(m=5, eta=1.0)
    trainer = solver.start(model, setup_of(problem))
    counts = []
    for batch in batches(problem, 6, seed=2):
        counter = Counter()
        trainer.step(Step(problem, model, batch, counter))
        counts.append(counter.oracle_calls)
        last = trainer.last
        with torch.no_grad():
            moved = float(problem.loss(last["z"] - last["eta"] * batch.size * last["g"], batch.y).mean())
        g2 = float((last["g"] ** 2).sum())
        assert moved <= last["f"] - solver.outer_c * last["eta"] * batch.size * g2 + 1e-15 or last["eta"] <= 1e-4
    assert all(c >= 2 for c in counts)  # the gradient call, and at least one value call of the search


def test_sso_charges_one_oracle_call_per_batch_and_the_inner_steps_to_model_passes():
    problem = LogregBreastCancer(batch_size=25)
    model = problem.model(generator(0, 1))
    trainer = SSO(m=4, inner="fixed", inner_lr=0.05).start(model, setup_of(problem))
    counter = Counter()
    for batch in batches(problem, 3):
        trainer.step(Step(problem, model, batch, counter))
    # per outer step: z_t (1 pass), one oracle call, then 4 inner steps of a forward and a backward pass
    assert counter.oracle_calls == 3 and counter.model_passes == 3 * (1 + 4 * 2)


def test_a_resumed_trainer_takes_the_same_next_step():
    problem = LogregDigits(batch_size=25)
    data = batches(problem, 4)
    for solver in (SSO(m=5, eta=0.5, schedule="sqrt"), SSOSLS(m=3)):
        model = problem.model(generator(0, 1))
        trainer = solver.start(model, setup_of(problem))
        for batch in data[:3]:
            trainer.step(Step(problem, model, batch, Counter()))
        saved_model, saved_state = copy.deepcopy(model.state_dict()), copy.deepcopy(trainer.state_dict())
        trainer.step(Step(problem, model, data[3], Counter()))
        resumed = problem.model(generator(5, 1))
        resumed.load_state_dict(saved_model)
        again = solver.start(resumed, setup_of(problem))
        again.load_state_dict(saved_state)
        again.step(Step(problem, resumed, data[3], Counter()))
        assert torch.max(torch.abs(flat(model) - flat(resumed))) <= 1e-12


def test_schedules_and_options():
    sso = SSO(eta=2.0, schedule="sqrt")
    assert sso.eta_at(2.0, 4, None) == pytest.approx(1.0)
    exp = SSO(eta=2.0, schedule="exponential")
    assert exp.eta_at(2.0, 100, 100) == pytest.approx(2.0 / 100) and exp.eta_at(2.0, 0, 100) == 2.0
    problem = LogregBreastCancer()
    with pytest.raises(SolverError, match="total_steps"):
        exp.start(problem.model(generator(0, 1)), setup_of(problem))
    with pytest.raises(InvalidConfigError, match="SSO.m must be an int >= 1"):
        SSO(m=0)
    with pytest.raises(InvalidConfigError, match="schedule"):
        SSO(schedule="cosine")
    with pytest.raises(InvalidConfigError, match="eta"):
        SSOSLS(eta=-1.0)
