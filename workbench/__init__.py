"""workbench: declare optimization problems and studies in Python, run them, keep every evaluation."""

from __future__ import annotations

import logging

from workbench.errors import (
    CapabilityError,
    EvaluationError,
    InvalidConfigError,
    InvalidProblemError,
    InvalidSpaceError,
    InvalidStudyError,
    SolverError,
    StudyFileError,
    UnknownNameError,
    WorkbenchError,
)
from workbench.problem import FunctionProblem, Negated, Noisy, Problem, Queryable, problem
from workbench.space import Categorical, Integer, Real, Sequence, Space
from workbench.study import Study

__version__ = "0.1.0"

logging.getLogger("workbench").addHandler(logging.NullHandler())

__all__ = [
    "CapabilityError",
    "Categorical",
    "EvaluationError",
    "FunctionProblem",
    "Integer",
    "InvalidConfigError",
    "InvalidProblemError",
    "InvalidSpaceError",
    "InvalidStudyError",
    "Negated",
    "Noisy",
    "Problem",
    "Queryable",
    "Real",
    "Sequence",
    "SolverError",
    "Space",
    "Study",
    "StudyFileError",
    "UnknownNameError",
    "WorkbenchError",
    "problem",
]
