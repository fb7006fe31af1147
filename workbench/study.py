"""Study declarations (problems x solvers x seeds x budget) and study files."""

from __future__ import annotations

import re
import runpy
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.budget import EVALUATIONS, Budget
from workbench.errors import InvalidStudyError, StudyFileError, WorkbenchError
from workbench.family import Family, family_of, module_of
from workbench.problem import Problem, resolve_problem
from workbench.solver import Solver
from workbench.solvers import resolve_solver

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Cell:
    """One (problem, solver, seed) of a study."""

    problem: Problem
    solver: Solver
    seed: int

    def key(self, study: str) -> str:
        """The name of this cell's Optuna study: ``{study}/{problem}/{solver}/{seed}``."""
        return f"{study}/{self.problem.name}/{self.solver.label}/{self.seed}"


class Study:
    """A declaration: every problem is run by every solver under every seed, until the ``budget`` is spent
    (an int: evaluations; or a :class:`~workbench.budget.Budget` on a cost axis; the family's default
    unless given), proposed ``batch_size`` at a time.

    Every problem of a study belongs to one family (see :mod:`workbench.family`), whose loop drives the
    cells; every solver must be one of that family's, or of a family it drives as a guest. Solvers are
    registered names or solver declarations; problems are problem objects or registered names. Validated here, naming the field at fault."""

    def __init__(
        self,
        name: str,
        problems: Iterable[Problem | str],
        solvers: Iterable[str | Solver],
        seeds: Iterable[int] = (0,),
        budget: int | Budget | None = None,
        batch_size: int = 1,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidStudyError(
                f"Study.name must be a non-empty string of letters, digits, '_', '.', '-', but got {name!r}"
            )
        self.name = name
        self.problems = tuple(_each(problems, "problems", resolve_problem))
        self.solvers = tuple(_each(solvers, "solvers", resolve_solver))
        if isinstance(seeds, int):
            seeds = [seeds]
        try:
            seed_list = list(seeds)
        except TypeError:
            raise InvalidStudyError(f"Study.seeds must be an iterable of ints, but got {seeds!r}") from None
        for i, s in enumerate(seed_list):
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise InvalidStudyError(f"Study.seeds[{i}] must be an int >= 0, but got {s!r}")
        if not seed_list:
            raise InvalidStudyError("Study.seeds must not be empty")
        if len(set(seed_list)) != len(seed_list):
            raise InvalidStudyError(f"Study.seeds must be unique, but got {seed_list}")
        self.seeds = tuple(seed_list)
        self.family = _family(self.problems, self.solvers)
        self.budget = Budget.of(self.family.default_budget(self.problems) if budget is None else budget)
        allowed = self.family.budget_axes
        if self.budget.axis != EVALUATIONS and allowed is not None and self.budget.axis not in allowed:
            raise InvalidStudyError(
                f"Study.budget: {self.budget!r} counts {self.budget.axis!r}, which a {self.family.name} budget cannot "
                f"count (it may count: {', '.join(('evaluations', *allowed))})")
        if self.budget.axis != EVALUATIONS:
            silent = [p.name for p in self.problems if self.budget.axis not in self.family.axes
                      and self.budget.axis not in _cost_axes(p)]
            if silent:
                raise InvalidStudyError(
                    f"Study.budget: {self.budget!r} counts {self.budget.axis!r}, which problems {silent} do not record "
                    f"(cost axes: {', '.join(self.axes) or 'none'}; or count evaluations: budget=Budget(evaluations=N))")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidStudyError(f"Study.batch_size must be an int >= 1, but got batch_size={batch_size!r}")
        self.batch_size = batch_size
        _unique([p.name for p in self.problems], "problems", "problem names")
        _unique([s.label for s in self.solvers], "solvers", "solver labels (give one a name=...)")

    def cells(self) -> Iterator[Cell]:
        """Every cell, problem-major: the order the runner works through them."""
        for p in self.problems:
            for s in self.solvers:
                for seed in self.seeds:
                    yield Cell(p, s, seed)

    @property
    def axes(self) -> tuple[str, ...]:
        """The cost axes recorded: the family's, then those the problems declare (``cost_axes``: a
        :class:`Costed` problem's, or the axes a family's loop records for a problem of its own)."""
        declared = [a for p in self.problems for a in _cost_axes(p)]
        return tuple(dict.fromkeys([*self.family.axes, *declared]))

    @property
    def n_cells(self) -> int:
        return len(self.problems) * len(self.solvers) * len(self.seeds)

    def describe(self) -> dict[str, Any]:
        """The declaration as plain JSON-able data (stored with the results)."""
        return {
            "name": self.name,
            "problems": [p.describe() for p in self.problems],
            "solvers": [s.describe() for s in self.solvers],
            "seeds": list(self.seeds),
            "budget": self.budget.describe(),
            "batch_size": self.batch_size,
            "family": self.family.name,
        }

    def __repr__(self) -> str:
        return (
            f"Study({self.name!r}, problems={[p.name for p in self.problems]}, "
            f"solvers={[s.label for s in self.solvers]}, seeds={list(self.seeds)}, budget={self.budget!r})"
        )


def _family(problems: tuple[Problem, ...], solvers: tuple[Solver, ...]) -> Family:
    """The one family of a study's problems, every solver one of its own."""
    names = [p.family for p in problems]
    if len(set(names)) > 1:
        groups = {n: [p.name for p in problems if p.family == n] for n in dict.fromkeys(names)}
        raise InvalidStudyError(
            "Study.problems mixes families: " + "; ".join(f"{n} {ps}" for n, ps in groups.items())
            + ": declare them in separate studies")
    try:
        family = family_of(names[0])
    except WorkbenchError as e:
        raise InvalidStudyError(f"Study.problems[0]: {problems[0].name!r} names family {names[0]!r}: {e}") from e
    if module_of(family).startswith("__"):
        raise InvalidStudyError(
            f"Study.problems: family {family.name!r} is defined in the study file itself; define it in a module "
            "the study file imports, so that reports and the dashboard can find it again")
    for i, p in enumerate(problems):
        family.check_problem(p, f"Study.problems[{i}]")
    for i, s in enumerate(solvers):
        if not family.accepts(s):
            guests = f"; its loop also drives {', '.join(family.guests)} solvers" if family.guests else ""
            raise InvalidStudyError(
                f"Study.solvers[{i}]: {s.label!r} is a solver of the {s.family or 'no'} family, but this study's "
                f"problems are of the {family.name} family ({family.summary}{guests})")
    return family


def _each(items: Iterable[Any], field: str, resolve: Any) -> Iterator[Any]:
    if isinstance(items, (str, Problem)) or not isinstance(items, Iterable):
        items = [items]
    count = 0
    for i, item in enumerate(items):
        try:
            yield resolve(item)
        except WorkbenchError as e:
            raise InvalidStudyError(f"Study.{field}[{i}]: {e}") from e
        except TypeError as e:
            raise InvalidStudyError(f"Study.{field}[{i}]: {e}") from e
        count += 1
    if not count:
        raise InvalidStudyError(f"Study.{field} must not be empty")


def _cost_axes(problem: Problem) -> tuple[str, ...]:
    return tuple(getattr(problem, "cost_axes", ()) or ())


def _unique(names: list[str], field: str, what: str) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidStudyError(f"Study.{field}: {what} must be unique, but got duplicates {dupes}")


def pick(variable: str, items: Iterable[Any], name: Any = str) -> list[Any]:
    """The ``items`` whose ``name(item)`` is listed in environment variable ``variable`` (comma-separated),
    all of them when it is unset: study files use it to run a part of a large study. The cells keep their
    names, so parts run one after another fill one storage, and a last run over everything only writes
    the results."""
    import os

    items = list(items)
    wanted = os.environ.get(variable)
    if not wanted:
        return items
    keep = {w.strip() for w in wanted.split(",") if w.strip()}
    unknown = keep - {str(name(item)) for item in items}
    if unknown:
        raise InvalidStudyError(f"${variable} names {sorted(unknown)}, which the study does not hold")
    return [item for item in items if str(name(item)) in keep]


def load_study(path: str | Path) -> Study:
    """Run a study file and return the ``study`` it defines; every way this can go wrong is one
    :class:`StudyFileError` with a one-line message."""
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"study file not found: {path}")
    cwd = str(Path.cwd())
    if cwd not in sys.path:  # a study file imports the user's own problem modules from where they run it
        sys.path.insert(0, cwd)
    try:
        namespace = runpy.run_path(str(path), run_name="__workbench_study__")
    except SyntaxError as e:
        raise StudyFileError(f"{path}:{e.lineno}: syntax error: {e.msg}") from e
    except WorkbenchError as e:
        raise StudyFileError(f"{path}: {e}") from e
    except Exception as e:  # the file's own code failed; say where, in one line
        raise StudyFileError(f"{path}: {type(e).__name__}: {e}") from e
    if "study" not in namespace:
        raise StudyFileError(f"{path} defines no `study` (expected `study = Study(...)`)")
    study = namespace["study"]
    if not isinstance(study, Study):
        raise StudyFileError(f"`study` in {path} is a {type(study).__name__}, not a workbench Study")
    return study
