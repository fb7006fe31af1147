"""Bayesian optimization as a solver: one loop, pluggable surrogates, registered as ``bo-gp``, ``bo-dkl``,
``bo-ibnn``, ``bo-ensemble``, ``bo-hmc``, ``bo-sghmc``, ``bo-laplace``, ``bo-nngp-sign``, ``bo-sgntk``,
``bo-saas`` and ``bo-saas-map``.

A run starts with ``n_initial`` scrambled-Sobol points (the same design :meth:`Space.sample` draws), then
asks the surrogate. Every proposal depends only on the cell's seed and the observations told so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.blackbox import BlackBoxSolver, SolverRun
from workbench.models import (
    DKLSurrogate,
    EnsembleSurrogate,
    GPSurrogate,
    HMCSurrogate,
    IBNNSurrogate,
    LaplaceSurrogate,
    LightGPSurrogate,
    NNGPSignSurrogate,
    SaasSurrogate,
    SGHMCSurrogate,
    SGNTKSurrogate,
    Surrogate,
)
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.bo.core import AcquisitionConfig, propose
from workbench.solvers.bo.encoding import Encoding, sobol_rows
from workbench.validation import check_int


@dataclass(frozen=True, kw_only=True)
class BayesOpt(BlackBoxSolver):
    """Bayesian optimization with the ``surrogate`` model (any :class:`workbench.models.Surrogate`)."""

    #: the surrogate model's config
    surrogate: Surrogate = field(default_factory=GPSurrogate)
    #: quasi-random evaluations before the surrogate takes over
    n_initial: int = 10
    #: the acquisition function and its optimization
    acquisition: AcquisitionConfig = field(default_factory=AcquisitionConfig)

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.surrogate, Surrogate):
            raise InvalidConfigError(f"{name}.surrogate must be a workbench.models.Surrogate, but got {self.surrogate!r}")
        check_int(self, "n_initial", self.n_initial, 1)
        if not isinstance(self.acquisition, AcquisitionConfig):
            raise InvalidConfigError(f"{name}.acquisition must be an AcquisitionConfig, but got "
                                     f"acquisition={self.acquisition!r}")

    def start(self, cell: CellContext) -> SolverRun:
        return BayesOptRun(self, cell)


class BayesOptRun(SolverRun):
    """The state of one BO run: observations, the warm-start state of the surrogate, the Sobol design."""

    def __init__(self, solver: BlackBoxSolver, cell: CellContext) -> None:
        self.solver = solver
        self.space = cell.space
        self.seed = cell.seed
        self.device = cell.device
        self.enc = Encoding(cell.space)
        self.X = torch.empty(0, cell.space.dim, dtype=torch.float64, device=cell.device)
        self.y = torch.empty(0, dtype=torch.float64, device=cell.device)
        self.asked = cell.start_step
        #: surrogate warm-start state; ``state["accept_rate"]`` etc. for diagnostics
        self.state: dict = {}

    def _sobol(self, start: int, n: int) -> Tensor:
        return sobol_rows(self.space, self.seed, start, n, self.device)

    def ask(self, n: int) -> Tensor:
        n_design = max(0, min(n, self.solver.n_initial - self.asked))
        rows = [self._sobol(self.asked, n_design)] if n_design else []
        rest = n - n_design
        if rest:
            if self.y.numel() < 2:
                rows.append(self._sobol(self.asked + n_design, rest))
            else:
                pending = rows[0] if rows else None
                seed = (self.seed * 1_000_003 + self.asked) % (2**31 - 1)
                rows.append(self._propose(rest, seed, pending).to(self.device))
        self.asked += n
        return torch.cat(rows)

    def _propose(self, q: int, seed: int, pending: Tensor | None) -> Tensor:
        """``q`` native rows from the model of the observations so far (``pending`` rows are asked, not told)."""
        return propose(self.solver.acquisition, self.solver.surrogate, self.enc, self.X, self.y, q, seed=seed,
                       state=self.state, label=self.solver.label, pending=pending)

    def tell(self, X: Tensor, y: Tensor) -> None:
        self.X = torch.cat([self.X, X.detach().to(self.device, torch.float64)])
        self.y = torch.cat([self.y, y.detach().to(self.device, torch.float64)])


@solvers.register("bo-gp")
@dataclass(frozen=True, kw_only=True)
class BoGP(BayesOpt):
    """BO with an exact GP (the light GP: Matérn-5/2 ARD, MAP under priors) and analytic log EI, fitted to the
    observed values after a power transform (``outputs="power"``; ``AcquisitionConfig(acquisition="logei")``
    is the earlier default, plain standardization)."""

    surrogate: Surrogate = field(default_factory=LightGPSurrogate)
    acquisition: AcquisitionConfig = field(
        default_factory=lambda: AcquisitionConfig(acquisition="logei", outputs="power"))


@solvers.register("bo-dkl")
@dataclass(frozen=True, kw_only=True)
class BoDKL(BayesOpt):
    """BO with deep kernel learning (MLP features into a Matérn kernel)."""

    surrogate: Surrogate = field(default_factory=DKLSurrogate)


@solvers.register("bo-ibnn")
@dataclass(frozen=True, kw_only=True)
class BoIBNN(BayesOpt):
    """BO with the infinite-width BNN kernel."""

    surrogate: Surrogate = field(default_factory=IBNNSurrogate)


@solvers.register("bo-nngp-sign")
@dataclass(frozen=True, kw_only=True)
class BoNNGPSign(BayesOpt):
    """BO with the NNGP kernel of an infinitely wide sign network."""

    surrogate: Surrogate = field(default_factory=NNGPSignSurrogate)


@solvers.register("bo-sgntk")
@dataclass(frozen=True, kw_only=True)
class BoSGNTK(BayesOpt):
    """BO with an infinitely wide sign network trained by surrogate-gradient descent (the SG-NTK model)."""

    surrogate: Surrogate = field(default_factory=SGNTKSurrogate)


@solvers.register("bo-ensemble")
@dataclass(frozen=True, kw_only=True)
class BoEnsemble(BayesOpt):
    """BO with a deep ensemble."""

    surrogate: Surrogate = field(default_factory=EnsembleSurrogate)


@solvers.register("bo-hmc")
@dataclass(frozen=True, kw_only=True)
class BoHMC(BayesOpt):
    """BO with a fully stochastic BNN sampled by HMC."""

    surrogate: Surrogate = field(default_factory=HMCSurrogate)


@solvers.register("bo-sghmc")
@dataclass(frozen=True, kw_only=True)
class BoSGHMC(BayesOpt):
    """BO with a BNN sampled by stochastic-gradient HMC."""

    surrogate: Surrogate = field(default_factory=SGHMCSurrogate)


@solvers.register("bo-laplace")
@dataclass(frozen=True, kw_only=True)
class BoLaplace(BayesOpt):
    """BO with a linearized-Laplace BNN."""

    surrogate: Surrogate = field(default_factory=LaplaceSurrogate)


@solvers.register("bo-saas")
@dataclass(frozen=True, kw_only=True)
class BoSAAS(BayesOpt):
    """SAASBO: a GP under the SAAS prior with its hyperparameters sampled by NUTS (the paper's settings),
    qLogEI averaged over the 16 posterior samples. NUTS needs the ``saas`` extra."""

    surrogate: Surrogate = field(default_factory=SaasSurrogate)
    acquisition: AcquisitionConfig = field(default_factory=lambda: AcquisitionConfig(acquisition="qlogei"))


@solvers.register("bo-saas-map")
@dataclass(frozen=True, kw_only=True)
class BoSAASMap(BayesOpt):
    """SAASBO with MAP hyperparameters: a mixture of SAAS GPs, one per global shrinkage drawn from its
    prior, qLogEI averaged over them (torch only; seconds per fit where NUTS takes minutes)."""

    surrogate: Surrogate = field(default_factory=lambda: SaasSurrogate(inference="map"))
    acquisition: AcquisitionConfig = field(default_factory=lambda: AcquisitionConfig(acquisition="qlogei"))
