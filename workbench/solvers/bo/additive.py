"""Add-GP-UCB (Kandasamy, Schneider & Póczos, ICML 2015): BO with an additive GP whose acquisition is
maximized one group of inputs at a time.

The model (:class:`~workbench.models.additive_gp.AdditiveGPSurrogate`) writes the objective as a sum of
independent GPs on disjoint groups of inputs. The acquisition is the sum of one upper confidence bound per
group, ``mu_j(x_j) + sqrt(beta_j) sigma_j(x_j)`` with ``beta_j = beta_scale |j| log(2t)`` (``|j|`` the
group's size, ``t`` the number of observations plus one; the paper's code takes ``beta_scale = 0.2``). The
sum is separable, so maximizing it is one low-dimensional search per group instead of one search in all
``d`` inputs: this is the method's answer to acquisition search in high dimensions. The proposal is every
group's maximizer put together.

Where this differs from the paper's code: each group's search is the best of ``candidates`` Sobol points
(``min(100 d, 5000)``, the code's DiRect budget over all groups; because the sum is separable, each group
takes its own best point, so the points act as ``candidates`` per group) polished by L-BFGS-B on the sum,
instead of DiRect per group; the code also shrinks the bandwidth's upper limit when five proposals in a row
have a posterior standard deviation below 0.002, which this does not; batches (which the code does not make)
take each point with the earlier ones of the batch observed at their posterior mean (GP-BUCB: Desautels,
Krause & Burdick, JMLR 2014). Minimization, standardized outputs; the first ``n_initial`` points are the
space's Sobol design, as for every ``bo-*`` solver.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.blackbox import BlackBoxSolver, SolverRun
from workbench.models.additive_gp import AdditiveGP, AdditiveGPSurrogate
from workbench.models.base import FitError
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo.core import _random, _short, standardize
from workbench.solvers.bo.solver import BayesOptRun
from workbench.validation import check_int, check_positive

log = logging.getLogger("workbench")


@solvers.register("bo-add")
@dataclass(frozen=True, kw_only=True)
class BoAdd(BlackBoxSolver):
    """Add-GP-UCB: an additive GP over random groups of inputs, one upper confidence bound per group."""

    #: the additive GP (group size, noise, how often its split and hyperparameters are learned)
    surrogate: AdditiveGPSurrogate = field(default_factory=AdditiveGPSurrogate)
    #: quasi-random evaluations before the model takes over
    n_initial: int = 10
    #: ``beta_j = beta_scale * |j| * log(2t)``; the paper's code: 0.2
    beta_scale: float = 0.2
    #: Sobol points of the acquisition search; None: min(100 d, 5000)
    candidates: int | None = None
    #: L-BFGS-B iterations of the polish
    maxiter: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.surrogate, AdditiveGPSurrogate):
            raise InvalidConfigError(f"BoAdd.surrogate must be an AdditiveGPSurrogate, but got {self.surrogate!r}")
        check_int(self, "n_initial", self.n_initial, 1)
        check_positive(self, "beta_scale", self.beta_scale)
        check_int(self, "candidates", self.candidates, 1, optional=True)
        check_int(self, "maxiter", self.maxiter, 1)

    def start(self, cell: CellContext) -> SolverRun:
        return AddGPUCBRun(self, cell)


class AddGPUCBRun(BayesOptRun):
    """A ``bo-add`` run: the Sobol design and bookkeeping of every ``bo-*`` run, the proposals of Add-GP-UCB."""

    solver: BoAdd

    def _propose(self, q: int, seed: int, pending: Tensor | None) -> Tensor:
        generator = torch.Generator().manual_seed(seed)
        Z = self.enc.encode(self.X)
        Y = standardize(self.y)
        try:
            model: AdditiveGP = self.solver.surrogate.fit(Z, Y, generator=generator, state=self.state)
            if pending is not None and len(pending):
                model = model.conditioned(self.enc.encode(pending.to(torch.float64)))
        except (FitError, RuntimeError, ValueError) as e:
            log.warning("%s: additive GP failed at %d observations (%s); proposing quasi-random points",
                        self.solver.label, Z.shape[0], _short(e))
            return self.enc.decode(_random(self.enc, q, generator, Z.device))
        seen = torch.cat([Z] + ([self.enc.encode(pending.to(torch.float64))] if pending is not None else []))
        chosen: list[Tensor] = []
        for _ in range(q):
            z = self._maximize(model, generator)
            if self.enc.is_relaxed:
                z = self.enc.project(z)
            if bool((seen == z).all(-1).any()):  # small discrete spaces: an evaluated point is not asked again
                z = _random(self.enc, 1, generator, z.device)
            chosen.append(z)
            seen = torch.cat([seen, z])
            model = model.conditioned(z)
        return self.enc.decode(torch.cat(chosen))

    def _betas(self, model: AdditiveGP) -> Tensor:
        t = model.X.shape[0] + 1
        sizes = model.assign.sum(0)
        return self.solver.beta_scale * sizes * math.log(2 * t)

    def _maximize(self, model: AdditiveGP, generator: torch.Generator) -> Tensor:
        """The maximizer (``1 x d``) of the sum of the groups' upper confidence bounds: each group's best Sobol
        candidate, put together and polished by L-BFGS-B."""
        d = model.X.shape[-1]
        root_beta = self._betas(model).sqrt()
        n = self.solver.candidates or min(100 * d, 5000)
        sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=int(torch.randint(2**31 - 1, (1,),
                                                                                        generator=generator)))
        cands = sobol.draw(n, dtype=torch.float64).to(model.X)
        best_val = torch.full((model.groups,), -math.inf, dtype=torch.float64, device=model.X.device)
        best_idx = torch.zeros(model.groups, dtype=torch.long, device=model.X.device)
        with torch.no_grad():
            for start in range(0, n, 256):
                mean, var = model.group_mean_var(cands[start : start + 256])
                ucb = mean + root_beta * var.sqrt()
                val, idx = ucb.max(0)
                better = val > best_val
                best_val = torch.where(better, val, best_val)
                best_idx = torch.where(better, idx + start, best_idx)
        # input i takes the coordinate of its group's best candidate
        group_of = model.assign.argmax(-1)
        x0 = cands[best_idx[group_of], torch.arange(d, device=cands.device)]

        def negative_ucb(v: np.ndarray) -> tuple[float, np.ndarray]:
            x = torch.tensor(v, dtype=torch.float64, device=model.X.device, requires_grad=True)
            with torch.enable_grad():
                mean, var = model.group_mean_var(x.unsqueeze(0))
                value = -(mean + root_beta * var.sqrt()).sum()
                (grad,) = torch.autograd.grad(value, x)
            return float(value.detach()), grad.cpu().numpy()

        x = x0
        try:
            start_value = negative_ucb(x0.cpu().numpy())[0]
            res = scipy.optimize.minimize(negative_ucb, x0.cpu().numpy(), jac=True, method="L-BFGS-B",
                                          bounds=[(0.0, 1.0)] * d, options={"maxiter": self.solver.maxiter})
            if np.all(np.isfinite(res.x)) and res.fun < start_value:
                x = torch.as_tensor(res.x, dtype=torch.float64, device=model.X.device).clamp(0.0, 1.0)
        except (RuntimeError, ValueError):  # the candidates' combination stands
            pass
        return x.unsqueeze(0)


__all__ = ["AddGPUCBRun", "BoAdd"]
