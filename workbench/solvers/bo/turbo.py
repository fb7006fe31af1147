"""Trust-region Bayesian optimization, TuRBO-1 (Eriksson, Pearce, Gardner, Turner & Poloczek, NeurIPS 2019).

One local model and one trust region: a box around the best point of the current run, its sides
``length * w_i`` with ``w_i`` the model's lengthscales divided by their geometric mean (so the box is long
where the function varies slowly), clipped to the unit cube. Proposals are Thompson samples among
candidates in the box: Sobol points of which each coordinate is kept (else set to the centre's) with
probability ``min(1, 20 / d)``. After ``success_tolerance`` improving batches in a row the box doubles
(up to ``length_max``), after ``failure_tolerance`` batches without improvement it halves; below
``length_min`` the run restarts from a fresh initial design, and the model sees only the new run's points.
An improvement is a value below the run's best by more than ``1e-3 |best|``.

The paper's defaults are the options' defaults (``length`` 0.8, 0.5^7, 1.6; 3 successes;
``ceil(max(4 / q, d / q))`` failures; ``min(100 d, 5000)`` candidates). Where this differs from the paper's
code: the initial design is ``n_initial`` Sobol points (the code takes a user-given count of Latin-hypercube
points); the local model is any surrogate, by default the light GP with MAP hyperparameters under its priors
(the code: a GPyTorch Matérn-5/2 GP fitted by 50 Adam steps with box constraints on its hyperparameters);
and Thompson samples of a light GP are drawn by pathwise conditioning on random Fourier features
(:meth:`~workbench.models.light_gp.LightGP.sample_paths`) instead of jointly over the candidates, which
costs linear rather than cubic time in their number. A neural surrogate's Thompson sample is one of its
sampled functions (an ensemble member, a chain state, a Laplace draw: exact for that posterior); other
models are sampled jointly over the candidates with BoTorch's ``MaxPosteriorSampling``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
from botorch.generation.sampling import MaxPosteriorSampling
from botorch.utils.sampling import manual_seed
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.blackbox import BlackBoxSolver, SolverRun
from workbench.models import LightGPSurrogate, Surrogate
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo.core import fit_with_fallback, standardize
from workbench.solvers.bo.encoding import Encoding, sobol_rows
from workbench.validation import check_int, check_number


@solvers.register("bo-turbo")
@dataclass(frozen=True, kw_only=True)
class BoTuRBO(BlackBoxSolver):
    """TuRBO-1: Thompson sampling in one trust region around the best point, with restarts (see the module)."""

    #: the local model
    surrogate: Surrogate = field(default_factory=LightGPSurrogate)
    #: Sobol points that start each run (the first run and every restart)
    n_initial: int = 10
    #: side of the trust region (unit cube) at the start of a run, its lower limit (restart) and upper limit
    length_init: float = 0.8
    length_min: float = 0.5**7
    length_max: float = 1.6
    #: improving batches in a row that double the region
    success_tolerance: int = 3
    #: batches in a row without improvement that halve it; None: ceil(max(4 / q, d / q))
    failure_tolerance: int | None = None
    #: candidates per proposal; None: min(100 d, 5000)
    candidates: int | None = None
    #: probability of perturbing each coordinate of a candidate; None: min(1, 20 / d)
    perturbation: float | None = None
    #: random Fourier features of a pathwise Thompson sample (light GP surrogates)
    features: int = 1024

    def __post_init__(self) -> None:
        if not isinstance(self.surrogate, Surrogate):
            raise InvalidConfigError(f"BoTuRBO.surrogate must be a workbench.models.Surrogate, but got {self.surrogate!r}")
        check_int(self, "n_initial", self.n_initial, 2)
        check_number(self, "length_min", self.length_min, low=0, low_open=True)
        check_number(self, "length_init", self.length_init, low=self.length_min, low_open=True)
        check_number(self, "length_max", self.length_max, low=self.length_init)
        check_int(self, "success_tolerance", self.success_tolerance, 1)
        check_int(self, "failure_tolerance", self.failure_tolerance, 1, optional=True)
        check_int(self, "candidates", self.candidates, 1, optional=True)
        check_number(self, "perturbation", self.perturbation, low=0, high=1, low_open=True, optional=True)
        check_int(self, "features", self.features, 1)

    def start(self, cell: CellContext) -> SolverRun:
        return TuRBORun(self, cell)


class TuRBORun(SolverRun):
    """One TuRBO run: the current restart's points, the region's side and its success/failure counters.

    The state is a function of the told values in order: a resumed cell is told its whole history at once
    and replays it point by point (for batches of one that is the uninterrupted run's state; for larger
    batches the counters may differ from the uninterrupted run's, which counted whole batches). Proposal
    seeds count every point asked, failed ones included (``cell.start_step`` on resume), so a resumed run
    draws what the uninterrupted one would have; points that failed during a restart's initial design are
    counted in that design, so its Sobol points are not asked twice."""

    def __init__(self, solver: BoTuRBO, cell: CellContext) -> None:
        self.solver, self.space, self.seed, self.device = solver, cell.space, cell.seed, cell.device
        self.enc = Encoding(cell.space)
        self.restart = 0
        # initial-design points of the current restart handed out so far (on resume: of the first run, until
        # the replay finds a restart)
        self.design_asked = min(cell.start_step, solver.n_initial)
        self.Z = torch.empty(0, self.enc.dim, dtype=torch.float64, device=cell.device)  # current restart's points
        self.y = torch.empty(0, dtype=torch.float64, device=cell.device)
        self.length = solver.length_init
        self.successes = self.failures = 0
        self.asked = cell.start_step  # points asked so far, failed ones included
        self.replaying = cell.start_step > 0  # the first tell of a resumed cell is its history
        self.q = 1  # the last batch size asked (the failure tolerance's q)
        #: the surrogate's warm-start state (reset at each restart)
        self.state: dict = {}

    # --- the trust region's bookkeeping ------------------------------------------------------------------
    def _failure_tolerance(self) -> int:
        if self.solver.failure_tolerance is not None:
            return self.solver.failure_tolerance
        return math.ceil(max(4.0 / self.q, self.enc.dim / self.q))

    def _update(self, y: Tensor) -> None:
        """Count one batch told after the restart's initial design, then grow, shrink or restart."""
        best = float(self.y.min())
        if float(y.min()) < best - 1e-3 * abs(best):
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1
        if self.successes >= self.solver.success_tolerance:
            self.length, self.successes = min(2.0 * self.length, self.solver.length_max), 0
        elif self.failures >= self._failure_tolerance():
            self.length, self.failures = self.length / 2.0, 0

    def _add(self, Z: Tensor, y: Tensor) -> None:
        in_design = self.y.numel() < self.solver.n_initial
        if not in_design:
            self._update(y)
        self.Z, self.y = torch.cat([self.Z, Z]), torch.cat([self.y, y])
        if self.length < self.solver.length_min:  # the region collapsed: a fresh run from a new design
            self.restart += 1
            self.design_asked = 0
            self.Z, self.y = self.Z[:0], self.y[:0]
            self.length, self.successes, self.failures = self.solver.length_init, 0, 0
            self.state = {}

    def tell(self, X: Tensor, y: Tensor) -> None:
        Z = self.enc.encode(X.detach().to(self.device, torch.float64))
        y = y.detach().to(self.device, torch.float64)
        if self.replaying:  # a resumed cell: its history, point by point
            self.replaying = False
            for i in range(len(y)):
                if self.restart and self.y.numel() < self.solver.n_initial:
                    self.design_asked = max(self.design_asked, self.y.numel() + 1)
                self._add(Z[i : i + 1], y[i : i + 1])
        else:
            self._add(Z, y)

    # --- proposals ------------------------------------------------------------------------------------
    def _design(self, n: int) -> Tensor:
        seed = (self.seed * 1_000_003 + 7919 * self.restart) % (2**31 - 1)
        rows = sobol_rows(self.space, seed, self.design_asked, n, self.device)
        self.design_asked += n
        return rows

    def ask(self, n: int) -> Tensor:
        self.q = n
        seed = (self.seed * 1_000_003 + self.asked) % (2**31 - 1)
        self.asked += n
        n_design = max(0, min(n, self.solver.n_initial - self.design_asked))
        if self.y.numel() < 2:  # no model yet (the design's values are pending or failed): more design
            n_design = n
        rows = [self._design(n_design)] if n_design else []
        if n - n_design:
            rows.append(self.enc.decode(self._propose(n - n_design, seed)).to(self.device))
        return torch.cat(rows)

    def _propose(self, q: int, seed: int) -> Tensor:
        generator = torch.Generator().manual_seed(seed)
        Y = standardize(self.y)
        model = fit_with_fallback(self.solver.surrogate, self.Z, Y, generator=generator, state=self.state,
                                  label=self.solver.label)
        d = self.enc.dim
        centre = self.Z[self.y.argmin()]
        weights = torch.ones(d, dtype=torch.float64, device=self.device)
        ls = getattr(model, "lengthscales", None)
        if ls is not None:
            ls = ls.detach().reshape(-1).to(weights)
            weights = ls / ls.log().mean().exp()
        low = (centre - 0.5 * self.length * weights).clamp(0.0, 1.0)
        high = (centre + 0.5 * self.length * weights).clamp(0.0, 1.0)
        n_cand = self.solver.candidates or min(100 * d, 5000)
        sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=int(torch.randint(2**31 - 1, (1,), generator=generator)))
        points = low + (high - low) * sobol.draw(n_cand, dtype=torch.float64).to(self.device)
        prob = self.solver.perturbation if self.solver.perturbation is not None else min(1.0, 20.0 / d)
        mask = torch.rand(n_cand, d, generator=generator, dtype=torch.float64).to(self.device) <= prob
        lonely = ~mask.any(-1)  # every candidate moves in at least one coordinate
        if lonely.any():
            pick = torch.randint(d, (int(lonely.sum()),), generator=generator).to(self.device)
            mask[lonely.nonzero().squeeze(-1), pick] = True
        cands = torch.where(mask, points, centre.expand_as(points))
        if self.enc.is_relaxed:
            cands = self.enc.project(cands)
        if model is None:  # every fit failed (logged): the candidates' first rows, quasi-random in the region
            return cands[:q]
        with torch.no_grad(), manual_seed(seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if hasattr(model, "sample_paths"):  # the light GP: pathwise draws
                draws = model.sample_paths(q, generator=generator, features=self.solver.features)(cands)  # (m, q)
            elif hasattr(model, "function_samples"):  # a neural surrogate's sampled functions: pick one per draw
                F = model.function_samples(cands.unsqueeze(-2)).reshape(-1, n_cand)  # (S, m)
                draws = F[torch.randint(F.shape[0], (q,), generator=generator).to(F.device)].T
            else:
                return MaxPosteriorSampling(model, replacement=False)(cands.unsqueeze(0), num_samples=q).reshape(q, d)
            # in discrete spaces a projected candidate may be an evaluated point: never proposed again
            taken = ((cands.unsqueeze(1) == self.Z.unsqueeze(0)).all(-1).any(-1) if self.enc.is_relaxed
                     else torch.zeros(n_cand, dtype=torch.bool, device=self.device))
            chosen = []
            for j in range(q):  # each draw's best candidate not taken by an earlier draw
                i = int(draws[:, j].masked_fill(taken, -torch.inf).argmax())
                taken[i] = True
                chosen.append(cands[i])
            return torch.stack(chosen)


__all__ = ["BoTuRBO", "TuRBORun"]
