from __future__ import annotations

import pytest
import torch

from workbench import Categorical, Integer, InvalidSpaceError, Real, Sequence, Space


def test_declaration_errors_name_the_field():
    with pytest.raises(InvalidSpaceError, match=r"Real 'x': low < high must hold, but got \(low=1, high=1\)"):
        Real("x", 1, 1)
    with pytest.raises(InvalidSpaceError, match="Integer 'k': low < high"):
        Integer("k", 5, 2)
    with pytest.raises(InvalidSpaceError, match="log=True needs low > 0"):
        Real("lr", 0.0, 1.0, log=True)
    with pytest.raises(InvalidSpaceError, match="Categorical 'c': choices must not be empty"):
        Categorical("c", [])
    with pytest.raises(InvalidSpaceError, match="choices must be unique"):
        Categorical("c", ["a", "a"])
    with pytest.raises(InvalidSpaceError, match="Sequence 's': length must be an int >= 1"):
        Sequence("s", 0, "AB")
    with pytest.raises(InvalidSpaceError, match="alphabet"):
        Sequence("s", 3, "")
    with pytest.raises(InvalidSpaceError, match="duplicates"):
        Space(Real("x", 0, 1), Integer("x", 0, 3))
    with pytest.raises(InvalidSpaceError, match="name"):
        Real("", 0, 1)
    with pytest.raises(InvalidSpaceError, match="finite"):
        Real("x", 0, float("inf"))
    with pytest.raises(InvalidSpaceError, match="at least one"):
        Space()


def test_encoding_layout_and_round_trip(mixed_problem):
    space = mixed_problem.space
    assert space.dim == 7 and space.column_kinds == ("real", "real", "integer", "categorical") + ("categorical",) * 3
    record = {"x": 0.5, "lr": 0.01, "n": 4, "act": "gelu", "dna": "TAG"}
    X = space.encode([record])
    assert X.tolist() == [[0.5, 0.01, 4.0, 2.0, 3.0, 0.0, 2.0]]
    assert space.decode(X) == [record]
    assert space.bounds.tolist() == [[-2, 1e-4, 1, 0, 0, 0, 0], [2, 1, 8, 2, 3, 3, 3]]
    with pytest.raises(InvalidSpaceError, match="'act'"):
        space.encode([{**record, "act": "silu"}])
    with pytest.raises(InvalidSpaceError, match="no value for parameter 'dna'"):
        space.encode([{k: v for k, v in record.items() if k != "dna"}])


def test_unit_cube_maps_and_sampling(mixed_problem):
    space = mixed_problem.space
    X = space.sample(256, seed=1)
    assert X.shape == (256, 7) and bool(space.contains(X).all())
    assert torch.equal(space.sample(256, seed=1), X) and not torch.equal(space.sample(256, seed=2), X)
    U = space.to_unit(X)
    assert bool(((U >= 0) & (U <= 1)).all())
    torch.testing.assert_close(space.from_unit(U), X)
    # every integer value and every letter is reachable, about uniformly
    assert set(X[:, 2].tolist()) == set(map(float, range(1, 9)))
    counts = torch.bincount(X[:, 4].long(), minlength=4)
    assert counts.min() > 40
    # log scale: about half the samples of lr lie below the geometric midpoint 1e-2
    assert 100 < int((X[:, 1] < 1e-2).sum()) < 156


def test_contains_rejects_out_of_bounds_fractional_and_nan():
    space = Space(Real("x", 0, 1), Integer("k", 0, 3))
    X = torch.tensor([[0.5, 1.0], [1.5, 1.0], [0.5, 1.5], [float("nan"), 1.0], [0.0, 3.0]], dtype=torch.float64)
    assert space.contains(X).tolist() == [True, False, False, False, True]
    assert space.contains(torch.zeros(2, 3, dtype=torch.float64)).tolist() == [False, False]


def test_optuna_distributions_flatten_sequences(mixed_problem):
    space = mixed_problem.space
    dists = space.optuna_distributions()
    assert list(dists) == ["x", "lr", "n", "act", "dna[0]", "dna[1]", "dna[2]"]
    record = {"x": 0.5, "lr": 0.01, "n": 4, "act": "gelu", "dna": "TAG"}
    params = space.to_optuna_params(record)
    assert params["dna[1]"] == "A"
    assert space.from_optuna_params(params) == record


def test_space_of_takes_a_space_or_a_list_of_parameters():
    space = Space(Real("x", 0, 1), Integer("n", 1, 4))
    assert Space.of(space) is space
    assert Space.of([Real("x", 0, 1), Integer("n", 1, 4)]) == space
    assert Space.of((Real("x", 0, 1), Integer("n", 1, 4))) == space
    with pytest.raises(InvalidSpaceError, match=r"^P.space must be a Space or a list of parameters .*but got 3$"):
        Space.of(3, "P.space")
    with pytest.raises(InvalidSpaceError, match=r"^P.space: Space parameter 1 must be Real, .* but got 'n'$"):
        Space.of([Real("x", 0, 1), "n"], "P.space")
    with pytest.raises(InvalidSpaceError, match=r"^space: Space needs at least one parameter"):
        Space.of([])


def test_the_empty_space_is_explicit_and_round_trips():
    """Families whose steps are not points declare ``Space.empty()``; ``Space()`` stays an error."""
    with pytest.raises(InvalidSpaceError, match="at least one parameter"):
        Space()
    space = Space.empty()
    assert space.dim == 0 and space.names == () and space.optuna_distributions() == {}
    X = space.encode([{}, {}])
    assert X.shape == (2, 0) and space.decode(X) == [{}, {}] and bool(space.contains(X).all())
    assert Space.from_description(space.describe()) == space
