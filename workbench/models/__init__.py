"""Surrogate models for Bayesian optimization; each fits a BoTorch ``Model``, so every BoTorch acquisition
function works with it.

=========================  =====================================================================
``GPSurrogate``            exact GP, BoTorch ``SingleTaskGP`` defaults, marginal likelihood
``LightGPSurrogate``       exact GP written for the BO loop: Matérn-5/2 ARD, fitted scale, MAP with priors
``AdditiveGPSurrogate``    exact GP, a sum of squared-exponential kernels on random groups of inputs (Add-GP)
``DKLSurrogate``           deep kernel learning: MLP features into a Matérn-5/2 kernel
``IBNNSurrogate``          GP with the infinite-width BNN kernel
``EnsembleSurrogate``      deep ensemble of MAP networks
``HMCSurrogate``           BNN, full-batch HMC with dual-averaging step sizes
``SGHMCSurrogate``         BNN, scale-adapted stochastic-gradient HMC
``LaplaceSurrogate``       BNN, linearized Laplace approximation
``NNGPSignSurrogate``      GP with the NNGP kernel of an infinitely wide sign network
``SGNTKSurrogate``         an infinitely wide sign network trained by surrogate-gradient descent
``SaasSurrogate``          GP under the SAAS prior (SAASBO), hyperparameters by NUTS or MAP
=========================  =====================================================================
"""

from workbench.models.additive_gp import AdditiveGPSurrogate
from workbench.models.base import FitError, Surrogate
from workbench.models.dkl import DKLSurrogate
from workbench.models.ensemble import EnsembleSurrogate
from workbench.models.gp import GPSurrogate
from workbench.models.hmc import HMCSurrogate
from workbench.models.ibnn import IBNNSurrogate
from workbench.models.laplace import LaplaceSurrogate
from workbench.models.light_gp import LightGPSurrogate
from workbench.models.saas import SaasSurrogate
from workbench.models.sampled import SampledFunctionModel
from workbench.models.sghmc import SGHMCSurrogate
from workbench.models.sgntk import NNGPSignSurrogate, SGNTKSurrogate

__all__ = [
    "AdditiveGPSurrogate",
    "DKLSurrogate",
    "EnsembleSurrogate",
    "FitError",
    "GPSurrogate",
    "HMCSurrogate",
    "IBNNSurrogate",
    "LaplaceSurrogate",
    "LightGPSurrogate",
    "NNGPSignSurrogate",
    "SGHMCSurrogate",
    "SaasSurrogate",
    "SGNTKSurrogate",
    "SampledFunctionModel",
    "Surrogate",
]
