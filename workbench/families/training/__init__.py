"""The training family: train a model whose loss lives in target space, counting the expensive calls.

A cell trains the problem's model (initialized from the cell's seed) with the solver's optimizer, one
**step per epoch**: after each epoch the loop records the training objective over the whole training set
(the step's value, minimized; its optimum ``f*`` where the problem knows it), the problem's other scores as
metrics (``val_loss``, ``test_loss``, ``test_accuracy``), the optimizer's state in bytes, and what the epoch
cost on the family's axes:

* ``oracle_calls`` — calls of the expensive target-space oracle (``ℓ`` and its gradient in ``z``, or its
  value alone);
* ``oracle_examples`` — the examples those calls covered (a full-batch call covers the training set);
* ``model_passes`` — forward and backward passes through the model (the cheap work);
* ``epochs`` — passes over the data (a fraction for an epoch cut short by the budget);
* ``train_seconds`` — wall time of the epoch's batches and optimizer steps (scoring excluded; for problems
  that collect data by acting, the rollouts are in it);
* ``env_steps`` — environment steps, for problems that collect their data by acting (``cost_axes``).

A budget may count any of them (``Budget(oracle_calls=2000)``, ``Budget(epochs=100)``); an int counts
epochs. Small models train on one CPU thread (``TrainingProblem.cpu_threads``). The loop checkpoints the
model, the optimizer and the data order after every epoch, so a killed cell resumes from its last epoch. A training objective that turns NaN or infinite, or a loss that raises,
ends the cell with that epoch recorded as failed; the study goes on.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import xarray as xr
from torch import Tensor

from workbench.cell import CellRun
from workbench.errors import SolverError, WorkbenchError
from workbench.families.training.problem import (
    ENV_STEPS,
    EPOCHS,
    EXAMPLES,
    ORACLE,
    PASSES,
    TRAIN_SECONDS,
    Batch,
    FixedData,
    Split,
    TrainingProblem,
    check_training,
)
from workbench.families.training.solver import Counter, Setup, Step, Trainer, TrainingSolver, tensor_bytes
from workbench.family import Family, Metric, Page, families, last_step
from workbench.problem import Problem


def _gap(ds: xr.Dataset) -> xr.DataArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return last_step(ds, "value") - ds["optimum"]


METRICS = (
    Metric("train_loss", "final training loss after {steps} epochs", lambda ds: last_step(ds, "value"), True,
           "lower is better; the objective over the whole training set after the last epoch"),
    Metric("gap", "final training-loss gap F - f*", _gap, True, "lower is better; f* from full-batch L-BFGS"),
    Metric("test_accuracy", "final test accuracy", lambda ds: last_step(ds, "test_accuracy"), False,
           "higher is better; classification problems only"),
    Metric("test_loss", "final test loss", lambda ds: last_step(ds, "test_loss"), True, "lower is better"),
)


def generator(seed: int, salt: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed) * 1_000_003 + salt)
    return g


class TrainingFamily(Family):
    name = "training"
    summary = "train a model whose loss lives in target space; cost = expensive oracle calls, model passes, epochs"
    axes = (ORACLE, EXAMPLES, PASSES, EPOCHS, TRAIN_SECONDS)
    metrics = METRICS
    # an absolute path: Streamlit resolves a relative page path against dashboards/app.py's folder
    pages = (Page(str(Path(__file__).resolve().parents[3] / "dashboards" / "views" / "training_lr.py"), "Learning rates"),
             Page(str(Path(__file__).resolve().parents[3] / "dashboards" / "views" / "training_surrogates.py"),
                  "Surrogate gradients"))

    def default_budget(self, problems: Sequence[Problem]) -> int:
        return 20  # epochs

    problem_class = TrainingProblem

    def validate(self, problem: Problem, where: str) -> None:
        check_training(problem, where)  # type: ignore[arg-type]

    def drive(self, run: CellRun) -> None:
        # models train on the CPU (the problems here are small); torch's global random state is left as it was
        with cpu_threads(run.problem), torch.random.fork_rng(devices=[]):
            self._drive(run)

    def _drive(self, run: CellRun) -> None:
        problem: TrainingProblem = run.problem  # type: ignore[assignment]
        solver: TrainingSolver = run.solver  # type: ignore[assignment]
        if solver.full_batch and not isinstance(problem, FixedData):
            raise SolverError(f"solver {solver.label!r} trains on the full training set, which problem "
                              f"{problem.name!r} does not have (its data come from acting)")
        batch_size = len(problem.splits()["train"]) if solver.full_batch else problem.batch_size  # type: ignore[attr-defined]
        per_epoch = problem.steps_per_epoch(batch_size)
        torch.manual_seed(run.seed)  # anything a model draws outside the generators the loop passes
        model = problem.model(generator(run.seed, 1))
        data = generator(run.seed, 2)
        setup = Setup(problem=problem, seed=run.seed, device=run.device, steps_per_epoch=per_epoch,
                      total_steps=_total_steps(run, per_epoch))
        trainer = solver.start(model, setup)
        state = _on_cpu(run.restore())
        if state is not None:
            model.load_state_dict(state["model"])
            trainer.load_state_dict(state["trainer"])
            data.set_state(state["data"])
        counter = Counter()
        axes = set(run.axes)
        going = not run.done
        while going:
            epoch = run.step + 1
            before, batches, reason = counter.snapshot(), 0, None
            stop_at = _stop_at(run, before, per_epoch)
            t0 = time.perf_counter()
            try:
                problem.schedule(model, _progress(run.step, per_epoch, setup.total_steps))
                for batch in problem.batches(model, batch_size, data):
                    counter.env_steps += batch.env_steps
                    batches += 1
                    trainer.step(Step(problem, model, batch, counter))
                    if stop_at is not None and _reached(counter, batches, stop_at):
                        break
            except WorkbenchError:
                raise
            except Exception as e:  # the problem's loss or data raised: this epoch fails, the cell ends
                reason = f"epoch {epoch} failed: {type(e).__name__}: {e}"
            seconds = time.perf_counter() - t0
            scores: dict[str, float] = {}
            if reason is None:
                try:
                    with torch.no_grad():
                        scores = {k: float(v) for k, v in problem.scores(model).items()}
                except Exception as e:
                    reason = f"scoring after epoch {epoch} failed: {type(e).__name__}: {e}"
            value = scores.pop("train_loss", math.nan)
            if reason is None and not math.isfinite(value):
                reason = f"training loss turned {value} in epoch {epoch}"
            spent = counter.snapshot()
            costs = {ORACLE: spent[ORACLE] - before[ORACLE], EXAMPLES: spent[EXAMPLES] - before[EXAMPLES],
                     PASSES: spent[PASSES] - before[PASSES],
                     EPOCHS: max(batches, 1) / per_epoch, TRAIN_SECONDS: max(seconds, 1e-9)}
            if ENV_STEPS in axes:
                costs[ENV_STEPS] = spent[ENV_STEPS] - before[ENV_STEPS]
            if run.budget.axis in costs and costs[run.budget.axis] <= 0:
                costs[run.budget.axis] = 1  # a step that failed before it spent anything still counts once
            metrics = {k: v for k, v in scores.items() if math.isfinite(v)}
            metrics["optimizer_bytes"] = float(trainer.state_bytes())
            going = run.record(torch.empty(1, 0, dtype=torch.float64), torch.tensor([value], dtype=torch.float64), [reason],
                               costs=costs, metrics=metrics)
            if reason is not None:
                return  # a diverged or broken training has nothing left to try; the cell ends here
            run.save({"model": model.state_dict(), "trainer": trainer.state_dict(), "data": data.get_state()})


def _on_cpu(state: Any) -> Any:
    """A checkpoint's tensors on the CPU, where training runs (checkpoints load onto the run's device)."""
    if isinstance(state, Tensor):
        return state.cpu()
    if isinstance(state, dict):
        return {k: _on_cpu(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_on_cpu(v) for v in state)
    return state


@contextlib.contextmanager
def cpu_threads(problem: Problem) -> Iterator[None]:
    """Torch's CPU threads set to the problem's ``cpu_threads`` while it trains, then restored."""
    threads = getattr(problem, "cpu_threads", None)
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        if threads:
            torch.set_num_threads(before)


def _total_steps(run: CellRun, per_epoch: int) -> int | None:
    """Optimizer steps the budget allows, when it says (for schedules that decay over the whole run)."""
    if run.budget.evaluations is not None:
        return run.budget.evaluations * per_epoch
    if run.budget.axis == EPOCHS:
        return int(math.ceil(run.budget.amount * per_epoch))
    if run.budget.axis == ORACLE:
        return int(run.budget.amount)
    return None


def _progress(epochs_done: int, per_epoch: int, total_steps: int | None) -> float | None:
    """The fraction of the run done after ``epochs_done`` epochs (None when the budget does not say)."""
    if not total_steps:
        return None
    return min(epochs_done * per_epoch / total_steps, 1.0)


def _stop_at(run: CellRun, before: Mapping[str, int], per_epoch: int) -> dict[str, float] | None:
    """Where to cut an epoch short: the counter value at which a budget counted in calls, examples, passes
    or environment steps is spent, or the batch at which a fractional budget of epochs is."""
    axis = run.budget.axis
    left = run.budget.amount - run.spent.get(axis, 0.0)
    if axis == EPOCHS:
        return {"batches": math.ceil(left * per_epoch - 1e-9)} if left < 1 else None
    if axis not in (ORACLE, EXAMPLES, PASSES, ENV_STEPS):
        return None
    return {axis: before[axis] + left}


def _reached(counter: Counter, batches: int, stop_at: Mapping[str, float]) -> bool:
    spent = {**counter.snapshot(), "batches": batches}
    return any(spent[a] >= v for a, v in stop_at.items())


family = families.add(TrainingFamily())

__all__ = ["Batch", "Counter", "cpu_threads", "FixedData", "Setup", "Split", "Step", "Trainer", "TrainingFamily",
           "TrainingProblem", "TrainingSolver", "family", "generator", "tensor_bytes"]
