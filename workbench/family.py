"""Families: a kind of problem as one plug-in.

A :class:`Family` brings everything the core needs to know about a kind of problem: which problems and
solvers belong to it, the loop that drives one cell (written once per family, against :class:`CellRun`),
its cost axes, its default budget, the scores its leaderboards rank (:class:`Metric`), any extra result
variables, and its dashboard pages. The study, runner, recorder, results builder, report, CLI and
dashboard ask the family; none of them branches on a kind.

Families are found by name in :data:`families`. The built-in ones are registered through the
``workbench.families`` entry points of the installed package; a family defined in user code registers with
``families.add(MyFamily())``.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr

from workbench.cell import CellRun
from workbench.errors import InvalidStudyError, UnknownNameError, WorkbenchError
from workbench.problem import Problem
from workbench.registry import Registry, entry_points_loader
from workbench.solver import Solver


@dataclass(frozen=True)
class Metric:
    """A score a leaderboard ranks: one final value per (problem, solver, seed).

    ``read(ds)`` gives it as a DataArray with dims ``problem, solver, seed``; ``lower_is_better`` is fixed,
    or None to follow each problem's direction; ``caption`` says what it is in a table's title, ``note``
    how to read it (shown under the table)."""

    name: str
    caption: str
    read: Callable[[xr.Dataset], xr.DataArray]
    lower_is_better: bool | None = None
    note: str = ""

    def lower(self, direction: str) -> bool:
        return self.lower_is_better if self.lower_is_better is not None else direction == "minimize"

    def scores(self, ds: xr.Dataset) -> xr.DataArray:
        """``read(ds)``, or NaN everywhere while the variables it reads are not recorded yet (no step of the
        study has recorded them)."""
        try:
            return self.read(ds)
        except KeyError:
            shape = tuple(ds.sizes[d] for d in ("problem", "solver", "seed"))
            return xr.DataArray(np.full(shape, np.nan), dims=("problem", "solver", "seed"),
                                coords={d: ds[d].values for d in ("problem", "solver", "seed")})


def _final(ds: xr.Dataset, variable: str, lower_is_better: bool | None) -> xr.DataArray:
    """The best of ``variable`` over the steps run, per cell (NaN for a cell with no successful step)."""
    out = []
    for p in ds.problem.values:
        arr = ds[variable].sel(problem=p)
        low = lower_is_better if lower_is_better is not None else str(ds.direction.sel(problem=p).values) == "minimize"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out.append(arr.min("step", skipna=True) if low else arr.max("step", skipna=True))
    return xr.concat(out, dim="problem")


def last_step(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """The value of ``variable`` at each cell's last recorded step: NaN where that step failed (a diverged
    training is not ranked by its loss before it diverged) or recorded no finite value."""
    arr = ds[variable].transpose("problem", "solver", "seed", "step").values
    failed = ds["failed"].transpose("problem", "solver", "seed", "step").values
    out = np.full(arr.shape[:-1], np.nan)
    for idx in np.ndindex(*arr.shape[:-1]):
        recorded = np.flatnonzero(failed[idx] >= 0)
        if recorded.size and failed[idx][recorded[-1]] == 0:
            out[idx] = arr[idx][recorded[-1]]
    return xr.DataArray(out, dims=("problem", "solver", "seed"),
                        coords={d: ds[d].values for d in ("problem", "solver", "seed")})


def at_incumbent(ds: xr.Dataset, variable: str, by: str, *, lowest: bool) -> xr.DataArray:
    """``variable`` at each cell's incumbent: its successful step of lowest (``lowest``) or highest ``by``
    (NaN for a cell with none). Families read their metrics there (the bilevel incumbent, a noise solver's
    pick)."""
    key = ds[by].transpose("problem", "solver", "seed", "step").values
    failed = ds["failed"].transpose("problem", "solver", "seed", "step").values
    arr = ds[variable].transpose("problem", "solver", "seed", "step").values
    out = np.full(key.shape[:-1], np.nan)
    for idx in np.ndindex(*key.shape[:-1]):
        v = np.where(failed[idx] == 0, key[idx], np.nan)
        if np.isfinite(v).any():
            out[idx] = arr[idx][int(np.nanargmin(v) if lowest else np.nanargmax(v))]
    return xr.DataArray(out, dims=("problem", "solver", "seed"),
                        coords={d: ds[d].values for d in ("problem", "solver", "seed")})


#: the scores every study has: its Dataset always holds ``best`` and ``regret``
CORE_METRICS: tuple[Metric, ...] = (
    Metric("best", "final best value", lambda ds: _final(ds, "best", None), None, "↓ minimized, ↑ maximized"),
    Metric("regret", "final regret |best - optimum|", lambda ds: _final(ds, "regret", True), True,
           "lower is better; known optima only"),
)


@dataclass(frozen=True)
class Page:
    """A dashboard page a family adds: a Streamlit script and its title in the navigation."""

    path: str
    title: str


class Family(ABC):
    """A kind of problem. Subclasses set the class attributes and implement :meth:`drive`."""

    #: the family's name: problems and solvers name it in their ``family`` attribute
    name: ClassVar[str]
    #: one line on what the kind of problem is (``workbench list``)
    summary: ClassVar[str] = ""
    #: cost axes every problem of the family records per step (besides evaluations and seconds)
    axes: ClassVar[tuple[str, ...]] = ()
    #: the family's own scores, ranked before the core ones (the first is the default)
    metrics: ClassVar[tuple[Metric, ...]] = ()
    #: extra dashboard pages
    pages: ClassVar[tuple[Page, ...]] = ()
    #: the axes a study's budget may count besides evaluations (None: any of ``axes``); an axis some steps
    #: spend nothing on cannot end a cell (e.g. gradients, for a solver that takes none)
    budget_axes: ClassVar[tuple[str, ...] | None] = None
    #: other families whose solvers this family's loop also drives, through an adapter (a bilevel problem
    #: as a black box for the ``blackbox`` family's solvers, its costs still counted)
    guests: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def drive(self, run: CellRun) -> None:
        """Run one cell to its budget through ``run`` (see :class:`workbench.cell.CellRun`): ask the
        solver, evaluate, ``run.record(...)`` every step, stop when ``record`` returns False."""

    def default_budget(self, problems: Sequence[Problem]) -> int:
        """Evaluations per cell when a study gives no budget."""
        return 50

    #: the class every problem of the family is an instance of (None: any problem naming the family)
    problem_class: ClassVar[type | None] = None

    def check_problem(self, problem: Problem, where: str) -> None:
        """Raise an ``InvalidStudyError`` naming ``where`` when ``problem`` cannot be part of this family: it
        names another family, is no ``problem_class``, or fails the family's :meth:`validate`."""
        if problem.family != self.name:
            raise InvalidStudyError(f"{where}: {problem.name!r} is of the {problem.family} family, not {self.name}")
        cls = self.problem_class
        if cls is not None and not isinstance(problem, cls):
            raise InvalidStudyError(f"{where}: {problem.name!r} names the {self.name} family but is no {cls.__name__}")
        try:
            self.validate(problem, where)
        except WorkbenchError as e:
            raise InvalidStudyError(str(e)) from e

    def validate(self, problem: Problem, where: str) -> None:
        """The family's own declaration checks of a problem (its fields, named with ``where``); none by default."""
        return None

    def accepts(self, solver: Solver) -> bool:
        """Whether this family's loop can drive ``solver``: its own, or a guest family's."""
        return solver.family == self.name or solver.family in self.guests

    def problem_variables(self, problem: Problem) -> Mapping[str, float]:
        """Per-problem numbers the results carry (dims ``problem``) and :meth:`extend` reads, e.g. a
        normalization range. Stored with each cell, so that live views rebuild the same Dataset."""
        return {}

    def extend(self, ds: xr.Dataset) -> xr.Dataset:
        """Variables computed from the core ones (``value``, ``best``, ... and :meth:`problem_variables`)."""
        return ds

    def all_metrics(self) -> tuple[Metric, ...]:
        return tuple(self.metrics) + tuple(m for m in CORE_METRICS if m.name not in {x.name for x in self.metrics})

    def metric(self, name: str | None) -> Metric:
        """The metric ``name`` (None: the default); an unknown name is a ``ValueError`` listing the known."""
        known = self.all_metrics()
        if name is None:
            return known[0]
        for m in known:
            if m.name == name:
                return m
        raise ValueError(f"metric for a {self.name} study must be one of {tuple(m.name for m in known)}, "
                         f"but got {name!r}")

    def __repr__(self) -> str:
        return f"<family {self.name!r}>"


class _Families(Registry["Family"]):
    def add(self, family: Family) -> Family:
        """Register a family instance under its name."""
        return self.register(family.name)(family)


#: the registered families, by name
families: _Families = _Families("family", loader=entry_points_loader("workbench.families"))


def family_of(obj: Problem | Solver | str) -> Family:
    """The family a problem or solver (or a family name) belongs to."""
    name = obj if isinstance(obj, str) else getattr(obj, "family", None)
    return families.get(str(name))


def module_of(family: Family) -> str:
    """The module defining ``family``, recorded with results so that readers can find it again."""
    return type(family).__module__


def find_family(name: str, module: str = "") -> Family:
    """The family ``name`` for a reader of results (report, dashboard): registered, or registered by importing
    ``module`` (where the results say it is defined: a family of the user's own code); failing both, a
    stand-in that knows the core metrics only, so the results still show."""
    if name not in families and module:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    return families.get(name) if name in families else Unregistered(name)


def family_for(ds: xr.Dataset) -> Family:
    """The family of a results Dataset (attributes ``family`` and ``family_module``)."""
    return find_family(str(ds.attrs.get("family", "blackbox")), str(ds.attrs.get("family_module", "")))


class Unregistered(Family):
    """A family results name but this process cannot import: the core metrics, no loop."""

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[misc]
        self.summary = f"family {name!r} (not importable here: core metrics only)"  # type: ignore[misc]

    def drive(self, run: CellRun) -> None:
        raise UnknownNameError(f"family {self.name!r} is not registered in this process")


__all__ = ["CORE_METRICS", "Family", "Metric", "Page", "at_incumbent", "families", "family_for", "family_of",
           "find_family", "last_step", "module_of"]
