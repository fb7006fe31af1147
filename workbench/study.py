"""Study declarations (problems x solvers x seeds x budget) and study files."""

from __future__ import annotations

import re
import runpy
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import InvalidStudyError, StudyFileError, WorkbenchError
from workbench.problem import Problem, resolve_problem

if TYPE_CHECKING:
    from workbench.solvers.base import Solver

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
    """A declaration: every problem is run by every solver under every seed, ``budget`` evaluations
    each (50 unless given), proposed ``batch_size`` at a time.

    An *offline* study (every problem offline, see :mod:`workbench.offline`) gives each solver the
    visible data once and scores ``budget`` proposed designs per seed (the problems' ``candidates``,
    128, unless given); offline and queryable problems do not mix in one study.

    Solvers are registered names or solver declarations; problems are problem objects or registered
    names. Validated here, naming the field at fault."""

    def __init__(
        self,
        name: str,
        problems: Iterable[Problem | str],
        solvers: Iterable[str | Solver],
        seeds: Iterable[int] = (0,),
        budget: int | None = None,
        batch_size: int = 1,
    ) -> None:
        from workbench.solvers import resolve_solver

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
        self.offline = _offline_kind(self.problems)
        _check_solver_kinds(self.solvers, self.offline)
        if budget is None:
            budget = max(p.candidates for p in self.problems) if self.offline else 50  # type: ignore[attr-defined]
        for field, value in (("budget", budget), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidStudyError(f"Study.{field} must be an int >= 1, but got {field}={value!r}")
        self.budget = budget
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
    def n_cells(self) -> int:
        return len(self.problems) * len(self.solvers) * len(self.seeds)

    def describe(self) -> dict[str, Any]:
        """The declaration as plain JSON-able data (stored with the results)."""
        return {
            "name": self.name,
            "problems": [p.describe() for p in self.problems],
            "solvers": [s.describe() for s in self.solvers],
            "seeds": list(self.seeds),
            "budget": self.budget,
            "batch_size": self.batch_size,
            "kind": "offline" if self.offline else "query",
        }

    def __repr__(self) -> str:
        return (
            f"Study({self.name!r}, problems={[p.name for p in self.problems]}, "
            f"solvers={[s.label for s in self.solvers]}, seeds={list(self.seeds)}, budget={self.budget})"
        )


def _offline_kind(problems: tuple[Problem, ...]) -> bool:
    from workbench.offline import Offline

    kinds = [isinstance(p, Offline) for p in problems]
    if any(kinds) and not all(kinds):
        offline = [p.name for p, k in zip(problems, kinds) if k]
        online = [p.name for p, k in zip(problems, kinds) if not k]
        raise InvalidStudyError(
            f"Study.problems mixes offline problems {offline} with queryable ones {online}: "
            "declare them in separate studies"
        )
    return all(kinds)


def _check_solver_kinds(solvers: tuple[Solver, ...], offline: bool) -> None:
    from workbench.offline import OfflineSolver

    for i, s in enumerate(solvers):
        if isinstance(s, OfflineSolver) != offline:
            need = "offline solvers (they propose from the visible data)" if offline else "solvers that query"
            have = "an offline solver" if not offline else "a solver that queries the objective"
            raise InvalidStudyError(f"Study.solvers[{i}]: {s.label!r} is {have}, but this study's problems "
                                    f"need {need}")


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
