from __future__ import annotations

import pytest
import torch

from problems.synthetic import Branin, Hartmann, Shekel
from workbench import (
    Embedded,
    FunctionProblem,
    Integer,
    InvalidProblemError,
    Negated,
    Noisy,
    Problem,
    Real,
    Space,
    Study,
    problem,
)
from workbench.problem import catalog, validate_problem


def test_branin_matches_its_known_optimum_and_names():
    b = Branin()
    assert b.name == "branin" and b.space.dim == 2 and b.direction == "minimize"
    assert b.optimum == pytest.approx(0.397887)
    y = b.evaluate(b.space.encode(b.optimizers))
    assert torch.allclose(y, torch.full_like(y, 0.397887), atol=1e-5)
    assert Hartmann(dim=6).name == "hartmann6" and Shekel(m=5).name == "shekel5"


def test_bad_problem_parameters_fail_at_declaration():
    with pytest.raises(InvalidProblemError, match=r"Hartmann\(dim=7\)"):
        Hartmann(dim=7)
    with pytest.raises(InvalidProblemError, match="Branin has a fixed dimension"):
        Branin(dim=3)
    with pytest.raises(InvalidProblemError, match="Shekel.m must be 5, 7 or 10"):
        Shekel(m=4)
    with pytest.raises(InvalidProblemError, match="direction must be 'minimize' or 'maximize'"):
        problem(space=Space(Real("x", 0, 1)), name="f", direction="down")(lambda r: r["x"])
    with pytest.raises(InvalidProblemError, match="optimum must be a finite number"):
        problem(space=Space(Real("x", 0, 1)), name="f", optimum=float("nan"))(lambda r: r["x"])

    class Nameless(Problem):
        space = Space(Real("x", 0, 1))

        def evaluate(self, X):
            return X[:, 0]

    with pytest.raises(InvalidProblemError, match="name"):
        validate_problem(Nameless())


def test_function_decorator_evaluates_records_one_by_one():
    seen = []

    @problem(space=Space(Real("x", -1, 1), Real("y", -1, 1)), optimum=0.0)
    def bowl(record):
        seen.append(record)
        return record["x"] ** 2 + record["y"] ** 2

    X = torch.tensor([[0.5, 0.0], [0.0, -1.0]], dtype=torch.float64)
    assert bowl.evaluate(X).tolist() == [0.25, 1.0]
    assert seen == [{"x": 0.5, "y": 0.0}, {"x": 0.0, "y": -1.0}]
    assert bowl.name == "bowl"


def test_a_space_may_be_declared_as_a_list_of_parameters():
    params = [Real("x", 0, 1), Integer("n", 1, 4)]
    expected = Space(*params)

    @problem(space=params)
    def listed(record):
        return record["x"] * record["n"]

    assert isinstance(listed.space, Space) and listed.space == expected
    assert listed.evaluate(torch.tensor([[0.5, 2.0]], dtype=torch.float64)).tolist() == [1.0]
    assert FunctionProblem(lambda r: r["x"], space=tuple(params), name="tupled").space == expected

    class Listed(Problem):
        name = "listed-class"
        space = [Real("x", 0, 1), Integer("n", 1, 4)]

        def evaluate(self, X):
            return X[:, 0]

    checked = validate_problem(Listed())
    assert isinstance(checked.space, Space) and checked.space == expected
    assert Study(name="s", problems=[Listed(), listed], solvers=["random"], seeds=[0], budget=2).problems[0] \
        .space == expected

    with pytest.raises(InvalidProblemError, match=r"problem 'f'.space must be a Space or a list of parameters"):
        problem(space="x", name="f")(lambda r: 0.0)
    with pytest.raises(InvalidProblemError, match=r"problem 'f'.space: Space parameter 1 must be Real"):
        problem(space=[Real("x", 0, 1), "n"], name="f")(lambda r: 0.0)


def test_noisy_wrapper_is_seeded_per_cell():
    base = Branin()
    noisy = Noisy(base, std=0.5)
    assert noisy.name == "branin+noise0.5" and noisy.optimum == base.optimum
    X = base.space.sample(200, seed=0)
    a, b, c = noisy.bind(1).evaluate(X), noisy.bind(1).evaluate(X), noisy.bind(2).evaluate(X)
    assert torch.equal(a, b) and not torch.equal(a, c)
    residual = a - base.evaluate(X)
    assert 0.4 < float(residual.std()) < 0.6
    with pytest.raises(InvalidProblemError, match="std must be a finite number > 0"):
        Noisy(base, std=0)


def test_negated_wrapper_flips_direction_values_and_optimum():
    neg = Negated(Branin())
    assert neg.direction == "maximize" and neg.optimum == pytest.approx(-0.397887)
    X = neg.space.sample(4, seed=0)
    assert torch.equal(neg.evaluate(X), -Branin().evaluate(X))


def test_embedded_problem_only_hears_its_own_inputs():
    emb = Embedded(Branin(), 20, seed=1)
    assert emb.name == "branin-in20" and emb.space.dim == 20 and emb.optimum == pytest.approx(0.397887)
    assert len(set(emb.active)) == 2 and emb.active != [0, 1]  # a seeded permutation, not the first columns
    assert [emb.space.parameters[c].name for c in emb.active] == ["x0", "x1"]
    X = emb.space.sample(8, seed=0)
    assert torch.equal(emb.evaluate(X), Branin().evaluate(X[:, emb.active]))
    moved = emb.space.sample(8, seed=1)
    moved[:, emb.active] = X[:, emb.active]  # every other input changed
    assert torch.equal(emb.evaluate(moved), emb.evaluate(X))
    assert Embedded(Branin(), 20, seed=1).active == emb.active and Embedded(Branin(), 20, seed=2).active != emb.active
    for bad, field in [(dict(dim=2), "dim"), (dict(dim=20.0), "dim"), (dict(dim=20, seed="a"), "seed")]:
        with pytest.raises(InvalidProblemError, match=rf"Embedded\.{field}\b"):
            Embedded(Branin(), **bad)


def test_catalog_knows_the_classic_functions():
    for name in ["branin", "hartmann", "ackley", "levy", "rosenbrock", "michalewicz", "griewank"]:
        assert name in catalog
