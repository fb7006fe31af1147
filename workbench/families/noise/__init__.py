"""The noise-search family: optimize a frozen generator's input noise ε for a reward, counting what it costs.

A cell drives either a :class:`NoiseSolver` (``reno``, ``best-of-n``, ...) or, as a guest, any black-box
solver (``random``, ``optuna-cmaes``, ``bo-gp``, ...) on the problem seen as a black box ``u -> R(Φ⁻¹(u))``
(see :mod:`workbench.families.noise.problem`). Either way every image goes through the counted
:class:`Oracle`, and **every image scored is one recorded step**: its row is its noise (as ``u``), its value
the clean weighted reward, and it spends, on the family's axes,

* ``reward_calls`` — 1 (the weighted reward on one image);
* ``generator_calls`` — 1 (one image generated);
* ``reward_gradients`` — 1 when the reward was differentiated back to the noise, else 0;
* ``solver_seconds`` — its share of the step's wall time (the family's scoring excluded).

So a budget of ``Budget(reward_calls=50)`` gives every solver the same 50 reward calls, whatever it does
with them; a gradient method pays its backward passes on ``reward_gradients`` and in seconds.

Each row also records what the solver was told (``observed``: the clean reward plus the problem's reward
noise, if any), each reward's score (``reward_<name>``), the held-out rewards no solver sees
(``heldout_<name>``, their weighted sum ``judge``), and ``norm_ratio`` = ‖ε‖/√d. A solver's answer is the
image it would return: its **pick**, the row of highest *observed* reward (for a gradient method, its best
iterate, not its last); the family's metrics (``reward``, ``judge``, ``norm_gap`` = |‖ε‖/√d - 1|) are read there, so reward noise costs a solver what it costs
in use. The first image of a cell and every image that becomes the pick are kept as artifacts (``image``),
for the dashboard's grids.

A reward or generator that raises or returns NaN fails its rows (recorded with the reason) and the cell goes
on. The loop checkpoints the solver's state after every step, so a killed cell resumes from its last step.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from workbench.budget import Budget
from workbench.cell import CellRun
from workbench.errors import SolverError
from workbench.families.noise.noisy import NoisyReward
from workbench.families.noise.oracle import BudgetSpent, Counter, Oracle, RewardError, Scored
from workbench.families.noise.problem import (
    GENERATOR,
    GRADIENT,
    REWARD,
    SOLVER_SECONDS,
    NoiseProblem,
    Reward,
    check_noise,
    norm_ratio,
    to_noise,
    to_unit,
    weighted,
)
from workbench.families.noise.solver import NoiseRun, NoiseSolver
from workbench.family import Family, Metric, Page, at_incumbent, families
from workbench.problem import Problem

log = logging.getLogger("workbench")


def at_pick(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """``variable`` at each cell's pick: the successful step of highest observed reward (NaN for a cell with
    none)."""
    return at_incumbent(ds, variable, "observed", lowest=False)


METRICS = (
    Metric("reward", "reward of the pick", lambda ds: at_pick(ds, "value"), False,
           "higher is better; the clean weighted reward of the image each solver returns (its best observed)"),
    Metric("judge", "held-out reward of the pick", lambda ds: at_pick(ds, "judge"), False,
           "higher is better; rewards no solver sees: a reward gain it does not share is reward hacking"),
    Metric("norm_gap", "|‖ε‖/√d - 1| of the pick", lambda ds: abs(at_pick(ds, "norm_ratio") - 1), True,
           "lower is better; near 0 for typical Gaussian noise; far from 0, the generator sees noise it was not "
           "trained on"),
)


class NoiseFamily(Family):
    name = "noise"
    summary = ("optimize a frozen generator's input noise for a reward; cost = reward calls, generator calls, "
               "reward gradients")
    axes = (REWARD, GENERATOR, GRADIENT, SOLVER_SECONDS)
    budget_axes = (REWARD, GENERATOR, SOLVER_SECONDS)  # best-of-N and the guests take no gradients
    metrics = METRICS
    guests = ("blackbox",)
    pages = (Page(str(Path(__file__).resolve().parents[3] / "dashboards" / "views" / "noise.py"), "Noise search"),)
    problem_class = NoiseProblem

    def default_budget(self, problems: object) -> Budget:  # type: ignore[override]
        return Budget(reward_calls=50)

    def validate(self, problem: Problem, where: str) -> None:
        check_noise(problem, where)  # type: ignore[arg-type]

    def drive(self, run: CellRun) -> None:
        problem: NoiseProblem = run.problem.to(run.device)  # type: ignore[attr-defined]
        counter = Counter()
        oracle = Oracle(problem, counter, run.seed, run.device)
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda):  # anything drawn from torch's global state: the cell's seed
            torch.manual_seed(run.seed)
            if isinstance(run.solver, NoiseSolver):
                _drive_own(run, problem, oracle)
            else:
                _drive_blackbox(run, problem, oracle)


class Recorder:
    """Records an oracle's ledger as steps: rows, clean values, costs, metrics, and the images that became
    the pick (the held-out rewards scored here, uncounted)."""

    def __init__(self, run: CellRun, problem: NoiseProblem, oracle: Oracle) -> None:
        self.run, self.problem = run, problem
        self.pick = _pick(run, oracle)
        self._warned = False

    def __call__(self, rows: list[Scored], seconds: float, X: torch.Tensor | None = None) -> bool:
        """Record ``rows``; ``X``: the unit-cube rows a guest asked for (default: its noises' ``Φ(ε)``)."""
        problem, n = self.problem, len(rows)
        eps = torch.stack([r.eps for r in rows])
        held = self._held_out(rows)
        metrics: dict[str, list[float]] = {"observed": [r.observed for r in rows],
                                           "norm_ratio": norm_ratio(eps).tolist(), **held}
        for rw in problem.rewards:
            metrics[f"reward_{rw.name}"] = [r.parts.get(rw.name, math.nan) for r in rows]
        costs = {REWARD: [1.0] * n, GENERATOR: [1.0] * n, GRADIENT: [float(r.gradient) for r in rows],
                 SOLVER_SECONDS: [max(seconds, 1e-9) / n] * n}
        artifacts = []
        for i, r in enumerate(rows):
            keep = r.image is not None and math.isfinite(r.observed) and (
                self.run.step + i == 0 or self.pick is None or r.observed > self.pick)
            if keep:
                self.pick = r.observed
            artifacts.append({"image": _uint8(r.image)} if keep else {})
        return self.run.record(to_unit(eps) if X is None else X, torch.tensor([r.clean for r in rows], dtype=torch.float64),
                               [r.reason for r in rows], costs=costs, metrics=metrics, artifacts=artifacts)

    def _held_out(self, rows: list[Scored]) -> dict[str, list[float]]:
        held = self.problem.held_out
        if not held:
            return {}
        good = [i for i, r in enumerate(rows) if r.image is not None and r.reason is None]
        out = {f"heldout_{h.name}": [math.nan] * len(rows) for h in held}
        out["judge"] = [math.nan] * len(rows)
        if good:
            images = torch.stack([rows[i].image for i in good]).to(self.run.device)  # type: ignore[misc]
            try:
                with torch.no_grad():
                    total, parts = weighted(held, images, self.problem)
            except Exception as e:  # a held-out reward that raises: its scores are missing, the steps stand
                if not self._warned:
                    log.warning("%s: a held-out reward raised (%s: %s); its scores are recorded as NaN",
                                self.run.key, type(e).__name__, e)
                    self._warned = True
                return out
            for k, i in enumerate(good):
                out["judge"][i] = float(total[k])
                for h in held:
                    out[f"heldout_{h.name}"][i] = float(parts[h.name][k])
        return out


def _pick(run: CellRun, oracle: Oracle) -> float | None:
    """The highest observed reward recorded so far (a resumed cell's): step k was reward call k, so what the
    solver observed then is the clean value plus the oracle's noise k. A pick's image is kept again only when
    a new one beats it."""
    history = run.history
    if not len(history) or run.step == 0:
        return None
    observed = history.values[: run.step] + oracle.noise(0, run.step)
    ok = ~history.failed[: run.step] & torch.isfinite(observed)
    return float(observed[ok].max()) if bool(ok.any()) else None


def _uint8(image: torch.Tensor) -> np.ndarray:
    """An image ``C x H x W`` in [0, 1] as ``H x W x C`` bytes (a grey image keeps one channel)."""
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _cap(run: CellRun, counter: Counter) -> None:
    """Cap the counter at what is left of a budget on one of the counted axes, or in evaluations (step k is
    reward call k)."""
    counter.caps.clear()
    axis, left = run.budget.axis, run.budget.evaluations
    if left is not None:
        counter.caps[REWARD] = counter.reward_calls + max(left - run.step, 0)
    elif axis in (REWARD, GENERATOR, GRADIENT):
        counter.caps[axis] = getattr(counter, axis) + max(run.budget.amount - run.spent.get(axis, 0.0), 0.0)


def _drive_own(run: CellRun, problem: NoiseProblem, oracle: Oracle) -> None:
    solver: NoiseSolver = run.solver  # type: ignore[assignment]
    state: NoiseRun = solver.start(oracle, run.context)
    saved = run.restore()
    if saved is not None:
        state.load_state_dict(saved["state"])
    oracle.counter.load(run.spent)
    record = Recorder(run, problem, oracle)
    going = not run.done
    while going:
        _cap(run, oracle.counter)
        t0 = time.perf_counter()
        try:
            state.step()
        except BudgetSpent:
            going = False  # the budget ends inside this step: what it paid for before is recorded
        except RewardError:
            pass  # its images are in the ledger, failed with the reason; the cell goes on
        rows = oracle.drain()
        if not rows:
            if going:
                raise SolverError(f"solver {solver.label!r} made a step without scoring an image")
            return
        going = record(rows, time.perf_counter() - t0) and going
        run.save({"state": state.state_dict()})


def _drive_blackbox(run: CellRun, problem: NoiseProblem, oracle: Oracle) -> None:
    """A black-box solver on ``u -> R(Φ⁻¹(u))``: each batch it asks for is generated and scored in one call;
    it is told the observed rewards, the records hold the clean ones. Its own time (``ask``, ``tell``) is
    charged to ``solver_seconds`` with the next batch."""
    from workbench.families.blackbox import BlackBoxSolver

    solver: BlackBoxSolver = run.solver  # type: ignore[assignment]
    history = run.history
    overhead = time.perf_counter()
    ask_tell = solver.start(run.context)
    ok = ~history.failed
    if ok.any():  # step k was reward call k: what the solver was told then is the clean value plus noise k
        observed = history.values + oracle.noise(0, len(history))
        ask_tell.tell(history.X[ok].to(run.device), (run.sign * observed[ok]).to(run.device))
    oracle.counter.load(run.spent)
    record = Recorder(run, problem, oracle)
    going = not run.done
    while going and (q := run.next_batch()) > 0:
        _cap(run, oracle.counter)
        left = oracle.left()
        q = q if left is None else min(q, left)
        if q <= 0:
            return
        X = run.checked(ask_tell.ask(q), q, f"ask({q})")
        t0 = time.perf_counter()
        overhead = t0 - overhead
        observed = torch.full((q,), math.nan, dtype=torch.float64)
        try:
            observed = oracle.value(to_noise(X, problem.shape).to(torch.float32)).to("cpu", torch.float64)
        except BudgetSpent:
            return
        except RewardError:
            pass
        going = record(oracle.drain(), time.perf_counter() - t0 + overhead, X)
        overhead = time.perf_counter()
        good = torch.isfinite(observed)
        if going and good.any():
            ask_tell.tell(X[good.to(X.device)], (run.sign * observed[good]).to(run.device))


family = families.add(NoiseFamily())

__all__ = ["BudgetSpent", "Counter", "NoiseFamily", "NoiseProblem", "NoiseRun", "NoiseSolver", "NoisyReward", "Oracle", "Reward",
           "RewardError", "Scored", "at_pick", "family"]
