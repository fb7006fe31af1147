"""workbench: declare optimization problems and studies in Python, run them, keep every evaluation."""

from __future__ import annotations

import logging

from workbench.budget import Budget
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
from workbench.family import Family, Metric, families
from workbench.problem import Costed, Embedded, FunctionProblem, Negated, Noisy, Problem, Queryable, problem
from workbench.space import Categorical, Integer, Real, Sequence, Space
from workbench.study import Study

__version__ = "0.1.0"

logging.getLogger("workbench").addHandler(logging.NullHandler())

__all__ = [
    "Budget",
    "CapabilityError",
    "Categorical",
    "Costed",
    "EvaluationError",
    "Family",
    "FunctionProblem",
    "Integer",
    "InvalidConfigError",
    "InvalidProblemError",
    "InvalidSpaceError",
    "InvalidStudyError",
    "Metric",
    "Embedded",
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
    "families",
    "problem",
]
