"""Problems: declared objects with a name, a space, a direction and what they offer.

What a problem offers is a *capability*, a small protocol: :class:`Queryable` (a batched ``evaluate``),
:class:`Costed` (what an evaluation costs, on named axes). A solver lists the capabilities it needs; the
runner refuses a mismatch before anything runs. Each problem belongs to a family (``family``, see
:mod:`workbench.family`), the kind of problem whose loop drives it.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError, InvalidSpaceError
from workbench.registry import Registry, entry_points_loader
from workbench.space import Parameter, Real, Space

Direction = Literal["minimize", "maximize"]
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]*$")


@runtime_checkable
class Queryable(Protocol):
    """A problem that can be asked for values: ``evaluate(X)`` maps ``n x dim`` native rows to ``n`` values."""

    def evaluate(self, X: Tensor) -> Tensor: ...


@runtime_checkable
class Costed(Protocol):
    """A problem whose evaluations have costs beyond their count: ``cost(X)`` gives, for ``n x dim`` native
    rows, ``n`` costs on each of its ``cost_axes`` (e.g. simulator seconds, training epochs). They are
    recorded per step, become the results' ``cost`` variable, and a study's budget may be counted in them."""

    cost_axes: tuple[str, ...]

    def cost(self, X: Tensor) -> Mapping[str, Tensor]: ...


class Problem:
    """Base of every problem. Subclasses set ``name``, ``space``, ``direction`` and, where known,
    ``optimum`` (the best attainable value) and ``optimizers`` (records that attain it), either as
    class attributes or in ``__init__``; and implement the methods of their capabilities. ``space`` may
    be given as a list of parameters: :func:`validate_problem` makes it a :class:`Space`."""

    name: str
    space: Space
    direction: Direction = "minimize"
    optimum: float | None = None
    optimizers: tuple[Mapping[str, Any], ...] = ()
    #: keyword arguments that rebuild this problem, recorded in results for provenance
    params: Mapping[str, Any] = {}
    #: the family whose loop drives this problem (see :mod:`workbench.family`)
    family: ClassVar[str] = "blackbox"

    def bind(self, seed: int) -> Problem:
        """The problem as one cell sees it. Problems with randomness of their own (noise) return a copy
        whose randomness flows from ``seed``; deterministic problems return themselves."""
        return self

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "params": dict(self.params),
            "direction": self.direction,
            "optimum": self.optimum,
            "space": self.space.describe(),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')!r}>"


def validate_problem(problem: object, where: str = "problem") -> Problem:
    """Check a problem's declaration, naming the first field that is wrong. A ``space`` given as a list or
    tuple of parameters becomes a :class:`Space` here (assigned back to the problem)."""
    if not isinstance(problem, Problem):
        raise InvalidProblemError(f"{where} must be a workbench Problem, but got {problem!r}")
    name = getattr(problem, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidProblemError(
            f"{where}.name must be a non-empty string of letters, digits, '_', '.', '+', '-', but got {name!r}"
        )
    declared = getattr(problem, "space", None)
    try:
        space = Space.of(declared, f"{where}.space")
    except InvalidSpaceError as e:
        raise InvalidProblemError(str(e)) from None
    if space is not declared:
        problem.space = space
    if problem.direction not in ("minimize", "maximize"):
        raise InvalidProblemError(
            f"{where}.direction must be 'minimize' or 'maximize', but got {problem.direction!r}"
        )
    opt = problem.optimum
    if opt is not None and (isinstance(opt, bool) or not isinstance(opt, (int, float)) or not math.isfinite(opt)):
        raise InvalidProblemError(f"{where}.optimum must be a finite number or None, but got {opt!r}")
    return problem


# ---------------------------------------------------------------------------------------- functions
class FunctionProblem(Problem):
    """A problem from a plain Python function of one record (a dict), evaluated row by row."""

    def __init__(
        self,
        fn: Callable[[dict[str, Any]], float],
        *,
        space: Space | list[Parameter] | tuple[Parameter, ...],
        name: str | None = None,
        direction: Direction = "minimize",
        optimum: float | None = None,
        optimizers: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        if not callable(fn):
            raise InvalidProblemError(f"problem function must be callable, but got {fn!r}")
        self.fn = fn
        self.name = name or fn.__name__
        self.space = space
        self.direction = direction
        self.optimum = optimum
        self.optimizers = tuple(optimizers)
        self.__doc__ = fn.__doc__
        validate_problem(self, f"problem {self.name!r}")

    def evaluate(self, X: Tensor) -> Tensor:
        values = [float(self.fn(record)) for record in self.space.decode(X)]
        return torch.tensor(values, dtype=torch.float64, device=X.device)

    def __call__(self, record: dict[str, Any]) -> float:
        return self.fn(record)


def problem(
    *,
    space: Space | list[Parameter] | tuple[Parameter, ...],
    name: str | None = None,
    direction: Direction = "minimize",
    optimum: float | None = None,
    optimizers: tuple[Mapping[str, Any], ...] = (),
) -> Callable[[Callable[[dict[str, Any]], float]], FunctionProblem]:
    """Turn a function of a record into a problem (a :class:`FunctionProblem`, which goes into a study as it
    is: ``Study(problems=[sphere], ...)``)::

        @problem(space=Space(Real("x", -5, 5)), optimum=0.0)
        def sphere(record):
            return record["x"] ** 2

    ``space`` is a :class:`Space` or a list of parameters (``space=[Real("x", -5, 5)]``).
    """

    def wrap(fn: Callable[[dict[str, Any]], float]) -> FunctionProblem:
        return FunctionProblem(
            fn, space=space, name=name, direction=direction, optimum=optimum, optimizers=optimizers
        )

    return wrap


# ---------------------------------------------------------------------------------------- wrappers
class Wrapped(Problem):
    """A problem that wraps another; by default everything is the inner problem's."""

    def __init__(self, inner: Problem) -> None:
        self.inner = validate_problem(inner, "wrapped problem")
        self.name = inner.name
        self.space = inner.space
        self.direction = inner.direction
        self.optimum = inner.optimum
        self.optimizers = inner.optimizers

    def bind(self, seed: int) -> Problem:
        bound = copy.copy(self)
        bound.inner = self.inner.bind(seed)
        return bound

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "inner": self.inner.describe()}


class Noisy(Wrapped):
    """Adds Gaussian observation noise with standard deviation ``std`` to a queryable problem.

    ``optimum`` stays the noiseless optimum; the noise of each cell flows from the cell's seed.
    """

    def __init__(self, inner: Problem, std: float, *, name: str | None = None) -> None:
        super().__init__(inner)
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not std > 0 or not math.isfinite(std):
            raise InvalidProblemError(f"Noisy.std must be a finite number > 0, but got std={std!r}")
        if not isinstance(inner, Queryable):
            raise InvalidProblemError(f"Noisy needs a queryable problem, but {inner.name!r} has no evaluate")
        self.std = float(std)
        self.name = name or f"{inner.name}+noise{std:g}"
        self.params = {"std": self.std}
        self._generator: torch.Generator | None = None
        validate_problem(self, f"problem {self.name!r}")

    def bind(self, seed: int) -> Problem:
        bound = super().bind(seed)
        assert isinstance(bound, Noisy)
        bound._generator = torch.Generator().manual_seed(int(seed) + 0x5EED)
        return bound

    def evaluate(self, X: Tensor) -> Tensor:
        y = self.inner.evaluate(X)
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(0x5EED)
        noise = torch.randn(y.shape, generator=self._generator, dtype=torch.float64)
        return y + self.std * noise.to(y.device, y.dtype)


class Embedded(Wrapped):
    """The inner problem inside ``dim`` inputs, of which only its own change the value: the sparse
    high-dimensional setting of SAASBO's (Eriksson & Jankowiak, UAI 2021) and REMBO's benchmarks, e.g.
    ``Embedded(Hartmann(), 100)`` ("hartmann6-in100"). Where the inner inputs sit among the ``dim`` is a
    permutation drawn from ``seed`` (the same for every cell); the other inputs are ``Real(f"u{i}", 0, 1)``."""

    def __init__(self, inner: Problem, dim: int, *, seed: int = 0, name: str | None = None) -> None:
        super().__init__(inner)
        if not isinstance(inner, Queryable):
            raise InvalidProblemError(f"Embedded needs a queryable problem, but {inner.name!r} has no evaluate")
        width = inner.space.dim
        if len(inner.space.parameters) != width:
            raise InvalidProblemError(f"Embedded needs one native column per parameter, but {inner.name!r} has a "
                                      "Sequence")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= width:
            raise InvalidProblemError(f"Embedded.dim must be an int > {width} (the inner problem's inputs), "
                                      f"but got dim={dim!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidProblemError(f"Embedded.seed must be an int, but got seed={seed!r}")
        taken = {p.name for p in inner.space.parameters}
        #: the columns of the inner problem's inputs, in its order
        self.active = torch.randperm(dim, generator=torch.Generator().manual_seed(seed))[:width].tolist()
        params: list[Parameter] = [Real(f"u{i}", 0.0, 1.0) for i in range(dim)]
        if taken & {p.name for p in params}:
            raise InvalidProblemError(f"Embedded: the inner problem's parameter names {sorted(taken)} clash with "
                                      "the added inputs u0, u1, ...")
        for column, p in zip(self.active, inner.space.parameters):
            params[column] = p
        self.space = Space(*params)
        self.dim, self.seed = dim, seed
        self.name = name or f"{inner.name}-in{dim}"
        self.params = {"dim": dim, "seed": seed}
        self.optimizers = ()
        validate_problem(self, f"problem {self.name!r}")

    def evaluate(self, X: Tensor) -> Tensor:
        return self.inner.evaluate(X[..., self.active])


class Negated(Wrapped):
    """The same problem with values negated and the direction flipped."""

    def __init__(self, inner: Problem, *, name: str | None = None) -> None:
        super().__init__(inner)
        if not isinstance(inner, Queryable):
            raise InvalidProblemError(f"Negated needs a queryable problem, but {inner.name!r} has no evaluate")
        self.name = name or f"{inner.name}-neg"
        self.direction = "maximize" if inner.direction == "minimize" else "minimize"
        self.optimum = None if inner.optimum is None else -inner.optimum
        validate_problem(self, f"problem {self.name!r}")

    def evaluate(self, X: Tensor) -> Tensor:
        return -self.inner.evaluate(X)


#: the registered problem classes, by name (``workbench list problems``); the built-in library registers
#: through the ``workbench.problems`` entry points
catalog: Registry[type[Problem]] = Registry("problem", loader=entry_points_loader("workbench.problems"))


def resolve_problem(spec: str | Problem) -> Problem:
    """A registered name (default parameters) or a problem, as a validated problem."""
    return validate_problem(catalog.get(spec)() if isinstance(spec, str) else spec)
