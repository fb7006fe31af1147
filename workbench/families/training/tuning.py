"""Hyperparameter tuning of a training solver as a black box: ``λ -> validation loss after E epochs``.

:class:`Tuning` turns a training problem and a training solver's declaration into a **black-box problem**
(family ``blackbox``, :class:`~workbench.problem.Queryable` and :class:`~workbench.problem.Costed`), so that
any black-box solver (``random``, ``optuna-tpe``, ``bo-gp``, ...) can tune an optimizer's options::

    Tuning("logreg-digits", SGD(), [Real("lr", 1e-4, 1.0, log=True)], epochs=5)

Each row of ``evaluate`` is one record of the space (option name -> value): the solver is rebuilt with
``dataclasses.replace(solver, **record)`` (and the problem declared again with the row's values of its own
parameters, when the space names any: ``Real("slope", 0.1, 100, log=True)`` on a surrogate-gradient
problem), a fresh model is trained from the cell's seed for ``epochs``
epochs through the training family's counted :class:`Step` (the same data order and initialization for
every row of a cell: the objective is a deterministic function of ``λ``), and the row's value is the final
validation loss (``scores()["val_loss"]``).

A row fails (its evaluation is recorded as failed with the reason; the study goes on) when the options
make no valid solver (``SGD(lr=-1)``), when the training diverges (a parameter or the training or
validation loss turns NaN or infinite: the training stops at the end of the epoch it happened in), or when
the problem's loss raises.

Costs (``cost_axes``): what each row's training spent, counted by the family's :class:`Counter` —
``oracle_calls``, ``epochs`` (epochs run: fewer for a diverged training) and ``model_passes``. A row that
fails before its first batch (an invalid option combination) is charged one unit on each axis, so that a
budget counted in any of them still advances (the training family's own rule for a step that spent
nothing).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from workbench.errors import InvalidProblemError, InvalidSpaceError, UnknownNameError
from workbench.families.training import Counter, Setup, Step, cpu_threads, generator
from workbench.families.training.problem import EPOCHS, ORACLE, PASSES, FixedData, TrainingProblem, check_training
from workbench.families.training.solver import TrainingSolver
from workbench.problem import Problem, catalog, validate_problem
from workbench.space import Parameter, Space

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+\-]+")
#: a space name ``problem.<parameter>`` sets the problem's parameter; a plain name that is both a solver option
#: and a problem parameter sets the solver's option
PROBLEM_PREFIX = "problem."


@dataclasses.dataclass(frozen=True)
class Trained:
    """What one training run gave: the problem's scores after the last epoch (empty when it failed before
    scoring), what it spent, and why it failed (None when it did not)."""

    scores: Mapping[str, float]
    spent: Mapping[str, float]
    reason: str | None = None


def train(problem: TrainingProblem, solver: TrainingSolver, *, seed: int, epochs: int) -> Trained:
    """Train a fresh model of ``problem`` (initialized from ``seed``) with ``solver`` for ``epochs`` epochs,
    the way the training family's loop does (same generators, same counted :class:`Step`), without
    recording anything; stop early when a parameter turns NaN or infinite. Torch's global random state is
    left as it was."""
    batch_size = len(problem.splits()["train"]) if solver.full_batch else problem.batch_size  # type: ignore[attr-defined]
    per_epoch = problem.steps_per_epoch(batch_size)
    counter, batches, reason = Counter(), 0, None
    scores: dict[str, float] = {}
    with torch.random.fork_rng(devices=[]), cpu_threads(problem):
        torch.manual_seed(seed)  # anything a model draws outside the generators passed to it
        try:
            model = problem.model(generator(seed, 1))
            data = generator(seed, 2)
            setup = Setup(problem=problem, seed=seed, device=torch.device("cpu"), steps_per_epoch=per_epoch,
                          total_steps=epochs * per_epoch)
            trainer = solver.start(model, setup)
            for epoch in range(1, epochs + 1):
                problem.schedule(model, (epoch - 1) / epochs)
                for batch in problem.batches(model, batch_size, data):
                    counter.env_steps += batch.env_steps
                    batches += 1
                    trainer.step(Step(problem, model, batch, counter))
                if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                    reason = f"training diverged: a parameter turned NaN or infinite in epoch {epoch}"
                    break
            if reason is None:
                with torch.no_grad():
                    scores = {k: float(v) for k, v in problem.scores(model).items()}
                bad = [k for k in ("train_loss", "val_loss") if k in scores and not math.isfinite(scores[k])]
                if bad:
                    reason = f"training diverged: {bad[0]} is {scores[bad[0]]} after {epochs} epoch(s)"
        except Exception as e:  # the model, the problem's loss, its data or the optimizer raised: this training failed
            reason = f"training failed in epoch {batches // per_epoch + 1}: {type(e).__name__}: {e}"
    spent = {ORACLE: float(counter.oracle_calls), PASSES: float(counter.model_passes), EPOCHS: batches / per_epoch}
    return Trained(scores=scores, spent=spent, reason=reason)


class Tuning(Problem):
    """``train with solver S and options λ for E epochs -> validation loss``, a queryable, costed black box.

    ``problem``: a :class:`TrainingProblem` or its registered name (default parameters); ``solver``: a
    :class:`TrainingSolver` declaration (or its registered name), the options not in the space stay as it
    declares them; ``space``: a :class:`Space` or a list of parameters, each named after one of the
    solver's options or one of the problem's declared parameters (``problem.params``: a row declares the
    problem again with its values, e.g. a surrogate gradient's kind and slope; a name that is both sets
    the solver's option, ``problem.<parameter>`` the problem's); ``epochs``: how long each evaluation trains. ``name`` defaults to
    ``tune-<solver>-<problem>``. The value (minimized) is the validation loss after the last epoch."""

    direction = "minimize"
    cost_axes: tuple[str, ...] = (ORACLE, EPOCHS, PASSES)

    def __init__(self, problem: TrainingProblem | str, solver: TrainingSolver | str,
                 space: Space | list[Parameter] | tuple[Parameter, ...], *, epochs: int,
                 name: str | None = None) -> None:
        self.problem = _training_problem(problem)
        self.solver = _training_solver(solver)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise InvalidProblemError(f"Tuning.epochs must be an int >= 1, but got epochs={epochs!r}")
        self.epochs = epochs
        try:
            self.space = Space.of(space, "Tuning.space")
        except InvalidSpaceError as e:
            raise InvalidProblemError(str(e)) from None
        options = [f.name for f in dataclasses.fields(self.solver) if f.name != "name"]
        declared = [k for k in self.problem.params if k != "name"]
        self._problem_keys: dict[str, str] = {}  # space name -> the problem parameter it sets
        for i, p in enumerate(self.space.parameters):
            if p.name.startswith(PROBLEM_PREFIX) and p.name[len(PROBLEM_PREFIX):] in declared:
                self._problem_keys[p.name] = p.name[len(PROBLEM_PREFIX):]
            elif p.name in declared and p.name not in options:
                self._problem_keys[p.name] = p.name
            elif p.name not in options:
                raise InvalidProblemError(
                    f"Tuning.space[{i}]: {p.name!r} is neither an option of solver {self.solver.label!r} "
                    f"(its options: {', '.join(options) or 'none'}) nor a parameter of problem "
                    f"{self.problem.name!r} (its parameters: {', '.join(declared) or 'none'})")
        if self.solver.full_batch and not isinstance(self.problem, FixedData):
            raise InvalidProblemError(f"Tuning.solver: {self.solver.label!r} trains on the full training set, "
                                      f"which problem {self.problem.name!r} does not have")
        self.name = name or f"tune-{_UNSAFE.sub('-', self.solver.label).strip('-')}-{self.problem.name}"
        self.params = {"problem": self.problem.name, "solver": self.solver.label, "epochs": epochs}
        self.seed = 0
        self._spent: dict[bytes, dict[str, float]] = {}  # per row, what its last evaluation spent
        self._outcomes: dict[bytes, Trained] = {}  # a failed batch's rows, for evaluate_safely's retry
        validate_problem(self, f"problem {self.name!r}")

    def bind(self, seed: int) -> Tuning:
        """The problem as one cell sees it: every evaluation trains from ``seed``."""
        bound = copy.copy(self)
        bound.seed = int(seed)
        bound._spent, bound._outcomes = {}, {}
        return bound

    # ------------------------------------------------------------------------------ Queryable
    def evaluate(self, X: Tensor) -> Tensor:
        """Per row: train with the row's options, the final validation loss. A row that fails raises (the
        cell records it as failed); in a batch of several the rows are trained once each, and the ones that
        failed raise again when evaluated alone (as ``evaluate_safely`` does), without training again."""
        X = X.detach().to("cpu", torch.float64)
        outcomes = [self._outcomes.pop(_key(row), None) or self._train(record)
                    for row, record in zip(X, self.space.decode(X))]
        for row, outcome in zip(X, outcomes):
            self._spent[_key(row)] = dict(outcome.spent)
        failed = [o.reason for o in outcomes if o.reason is not None]
        if failed:
            if len(outcomes) > 1:
                self._outcomes.update({_key(row): o for row, o in zip(X, outcomes)})
            raise ValueError(failed[0] if len(outcomes) == 1 else f"{len(failed)} of {len(outcomes)} trainings failed")
        return torch.tensor([o.scores["val_loss"] for o in outcomes], dtype=torch.float64)

    def _train(self, record: Mapping[str, Any]) -> Trained:
        mine = {self._problem_keys[k]: v for k, v in record.items() if k in self._problem_keys}
        theirs = {k: v for k, v in record.items() if k not in self._problem_keys}
        try:
            solver = dataclasses.replace(self.solver, **theirs)
        except Exception as e:  # options that make no valid solver: this row fails, nothing was spent
            reason = f"solver {self.solver.label!r} with {theirs}: {type(e).__name__}: {e}"
            return Trained(scores={}, spent={a: 0.0 for a in self.cost_axes}, reason=reason)
        problem = self.problem
        if mine:
            try:  # the problem declared again with the row's parameters (and its name, where it takes one)
                named = "name" in inspect.signature(type(self.problem)).parameters
                problem = type(self.problem)(**{**self.problem.params, **mine,
                                                **({"name": self.problem.name} if named else {})})
            except Exception as e:
                reason = f"problem {self.problem.name!r} with {mine}: {type(e).__name__}: {e}"
                return Trained(scores={}, spent={a: 0.0 for a in self.cost_axes}, reason=reason)
        trained = train(problem, solver, seed=self.seed, epochs=self.epochs)
        if trained.reason is None and "val_loss" not in trained.scores:
            reason = f"problem {self.problem.name!r} reports no val_loss (its scores: {', '.join(trained.scores)})"
            return dataclasses.replace(trained, reason=reason)
        return trained

    # ------------------------------------------------------------------------------ Costed
    def cost(self, X: Tensor) -> dict[str, Tensor]:
        """What the last evaluation of each row spent (a row not evaluated yet is trained to find out). A
        row that spent nothing (it failed before its first batch) counts one unit on each axis."""
        X = X.detach().to("cpu", torch.float64)
        rows = []
        for row, record in zip(X, self.space.decode(X)):
            spent = self._spent.pop(_key(row), None)
            if spent is None:
                spent = dict(self._train(record).spent)
            if not any(v > 0 for v in spent.values()):
                spent = {a: 1.0 for a in self.cost_axes}
            rows.append(spent)
        return {a: torch.tensor([r[a] for r in rows], dtype=torch.float64) for a in self.cost_axes}

    def describe(self) -> dict[str, Any]:
        inner = {"name": self.problem.name, "class": f"{type(self.problem).__module__}.{type(self.problem).__qualname__}",
                 "params": dict(self.problem.params)}
        return {**super().describe(), "problem": inner, "solver": self.solver.describe(), "epochs": self.epochs}


def _key(row: Tensor) -> bytes:
    return row.contiguous().numpy().tobytes()


def _training_problem(problem: TrainingProblem | str) -> TrainingProblem:
    if isinstance(problem, str):
        try:
            problem = catalog.get(problem)()
        except UnknownNameError as e:
            raise InvalidProblemError(f"Tuning.problem: {e}") from None
    if not isinstance(problem, TrainingProblem):
        raise InvalidProblemError(f"Tuning.problem must be a TrainingProblem or its registered name, but got {problem!r}")
    check_training(problem, "Tuning.problem")
    return problem


def _training_solver(solver: TrainingSolver | str) -> TrainingSolver:
    if isinstance(solver, str):
        from workbench.solver import solvers

        try:
            solver = solvers.get(solver)()
        except UnknownNameError as e:
            raise InvalidProblemError(f"Tuning.solver: {e}") from None
    if not isinstance(solver, TrainingSolver):
        raise InvalidProblemError(f"Tuning.solver must be a TrainingSolver declaration (e.g. SGD()) or its "
                                  f"registered name, but got {solver!r}")
    return solver


__all__ = ["Trained", "Tuning", "train"]
