"""The sparse axis-aligned subspace (SAAS) GP of SAASBO (Eriksson & Jankowiak, UAI 2021), BoTorch's models.

The SAAS prior shrinks every input dimension out of the kernel unless the data say otherwise: a global
shrinkage ``tau ~ HalfCauchy(0.1)`` and per-dimension inverse squared lengthscales
``rho_i ~ HalfCauchy(tau)`` in a Matérn-5/2 ARD kernel, with a constant mean ``~ N(0, 1)``, an output scale
and a fitted noise. Two ways to its hyperparameters:

* ``inference="nuts"`` — the paper's: the hyperparameters' posterior sampled by NUTS (512 warmup steps, 256
  samples kept every 16th, tree depth 6: the paper's and BoTorch's defaults), the model the average of the
  16 GPs (``SaasFullyBayesianSingleTaskGP``). BoTorch runs NUTS in NumPyro on JAX, which the ``saas`` extra
  installs (``pip install -e '.[saas]'``); it is not a default dependency because with JAX installed every
  import of BoTorch's acquisitions also imports JAX (about 2 s per process).
* ``inference="map"`` — MAP hyperparameters under BoTorch's form of the prior, one GP per global shrinkage
  drawn from ``HalfCauchy(0.1)`` (``taus`` of them), the model their equal-weight mixture
  (``EnsembleMapSaasSingleTaskGP``): torch only, and a fit costs seconds where NUTS costs minutes on a CPU.
  BoTorch's MAP form puts ``HalfCauchy(1)`` on ``tau / lengthscale_i^2``, i.e. ``rho_i ~ HalfCauchy(1 / tau)``:
  in the paper's notation a global shrinkage drawn from ``HalfCauchy(10)``, weaker than NUTS's. The draws are
  made at a run's first fit and kept in its state (a resumed run draws again).

Both models' posteriors are mixtures over their GPs (BoTorch's ``GaussianMixturePosterior``): the MC
acquisitions (qLogEI, qLogNEI) average over the mixture's components.

Where this differs from the paper: the paper's kernel is the RBF kernel with LogNormal(0, 10^2) priors on
the output scale and the noise; BoTorch's model (used here) has a Matérn-5/2 kernel, a Gamma(2, 0.15) output
scale and a Gamma(0.9, 10) noise prior.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from botorch.models.model import Model
from torch import Tensor

from workbench.errors import InvalidConfigError, MissingExtraError
from workbench.models.base import FitError, Surrogate, check_finite, seed_from
from workbench.validation import check_choice, check_int

INFERENCE = ("nuts", "map")


def has_nuts() -> bool:
    """JAX and NumPyro, which BoTorch's fully Bayesian GPs sample with, are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("jax", "numpyro"))


@dataclass(frozen=True, kw_only=True)
class SaasSurrogate(Surrogate):
    """A GP under the SAAS prior, fitted by NUTS (the paper's) or by MAP over a few global shrinkages."""

    kind: ClassVar[str] = "saas"

    #: "nuts" (the hyperparameters' posterior by NUTS; needs the ``saas`` extra) or "map"
    inference: str = "nuts"
    #: NUTS: warmup steps, samples drawn, every ``thinning``-th kept, the tree's largest depth
    warmup: int = 512
    samples: int = 256
    thinning: int = 16
    max_tree_depth: int = 6
    #: MAP: the global shrinkages ``tau`` (one GP each), drawn from HalfCauchy(0.1)
    taus: int = 4
    #: MAP: "botorch" (BoTorch's form: HalfCauchy(1) on ``tau / l^2``) or "paper" (``1 / l^2 ~
    #: HalfCauchy(tau)``, the paper's and the NUTS model's: BoTorch's form given ``1 / tau``)
    shrinkage: str = "botorch"

    def __post_init__(self) -> None:
        check_choice(self, "inference", self.inference, INFERENCE)
        check_choice(self, "shrinkage", self.shrinkage, ("botorch", "paper"))
        for f in ("warmup", "samples", "thinning", "max_tree_depth", "taus"):
            check_int(self, f, getattr(self, f), 1)
        if self.thinning > self.samples:
            raise InvalidConfigError(f"SaasSurrogate.thinning must be at most samples={self.samples}, but got "
                                     f"thinning={self.thinning}")
        if self.inference == "nuts" and not has_nuts():
            raise MissingExtraError("SaasSurrogate.inference='nuts' samples with NUTS in NumPyro, which is not "
                                    "installed: pip install -e '.[saas]' (or use inference='map')")

    def fit(self, X: Tensor, Y: Tensor, *, generator: torch.Generator, state: dict[str, Any]) -> Model:
        X, Y = X.double(), Y.double()
        try:
            model = self._nuts(X, Y, generator) if self.inference == "nuts" else self._map(X, Y, generator, state)
        except FitError:
            raise
        except Exception as e:  # NumPyro / linear_operator / L-BFGS failures alike
            raise FitError(f"SAAS GP ({self.inference}): {type(e).__name__}: {e}") from e
        check_finite(model, X)
        return model

    def _nuts(self, X: Tensor, Y: Tensor, generator: torch.Generator) -> Model:
        from botorch.fit import fit_fully_bayesian_model_nuts
        from botorch.models.fully_bayesian import SaasFullyBayesianSingleTaskGP

        model = SaasFullyBayesianSingleTaskGP(X, Y)
        fit_fully_bayesian_model_nuts(model, max_tree_depth=self.max_tree_depth, warmup_steps=self.warmup,
                                      num_samples=self.samples, thinning=self.thinning, disable_progbar=True,
                                      seed=seed_from(generator))
        model.eval()
        return model

    def _map(self, X: Tensor, Y: Tensor, generator: torch.Generator, state: dict[str, Any]) -> Model:
        from botorch.models.map_saas import EnsembleMapSaasSingleTaskGP

        from workbench.models.gp import fit_mll, load_hyperparameters, save_hyperparameters

        taus = state.get("saas_taus")
        if taus is None or taus.numel() != self.taus:  # drawn once per run: the mixture keeps its members
            u = torch.rand(self.taus, generator=generator, dtype=torch.float64)
            taus = 0.1 * torch.tan(0.5 * math.pi * u)  # HalfCauchy(0.1) by inversion
            state["saas_taus"] = taus
        # BoTorch's form puts HalfCauchy(1) on tau / l^2, i.e. 1 / l^2 ~ HalfCauchy(1 / tau): the paper's
        # prior with global shrinkage tau is BoTorch's given 1 / tau
        given = 1.0 / taus if self.shrinkage == "paper" else taus
        model = EnsembleMapSaasSingleTaskGP(X, Y, num_taus=self.taus, taus=given.to(X))
        load_hyperparameters(model, state.get("saas_map"))  # warm start from the previous fit
        model = fit_mll(model, seed=seed_from(generator), jitter=state.get("jitter"))
        state["saas_map"] = save_hyperparameters(model, also=("taus",))
        return model
