"""One root exception; each subclass is also the builtin it corresponds to."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Root of every error the workbench raises on purpose."""


class InvalidSpaceError(WorkbenchError, ValueError):
    """A parameter or a search space is declared wrongly."""


class InvalidProblemError(WorkbenchError, ValueError):
    """A problem is declared wrongly."""


class InvalidStudyError(WorkbenchError, ValueError):
    """A study is declared wrongly."""


class InvalidConfigError(WorkbenchError, ValueError):
    """A solver option is out of its allowed range."""


class MissingExtraError(InvalidConfigError):
    """An option needs the packages of an extra that is not installed (the message names the extra)."""


class UnknownNameError(WorkbenchError, KeyError):
    """A name that no registry knows."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(WorkbenchError, ValueError):
    """A name registered twice."""


class CapabilityError(WorkbenchError, TypeError):
    """A solver needs something a problem does not offer."""


class SolverError(WorkbenchError, RuntimeError):
    """A solver misbehaved (for instance, proposed a point outside the space)."""


class EvaluationError(WorkbenchError, RuntimeError):
    """An objective failed while the run was asked to stop on the first failure."""


class StudyFileError(WorkbenchError, ValueError):
    """A study file is missing, does not parse, or defines no study."""


class ResultsError(WorkbenchError, ValueError):
    """A results file is missing or unreadable."""
