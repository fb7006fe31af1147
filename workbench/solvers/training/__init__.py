"""Training solvers (the training family): optimizers stepping through counted minibatch oracles."""

from workbench.solvers.training.basic import SGD, Adagrad, Adam, TorchTrainer
from workbench.solvers.training.lbfgs import Lbfgs
from workbench.solvers.training.sgd_sai import SgdSai
from workbench.solvers.training.sls import Sls
from workbench.solvers.training.sso import SSO, SSOSLS, SSOTrainer

__all__ = ["SGD", "SSO", "SSOSLS", "Adagrad", "Adam", "Lbfgs", "SSOTrainer", "SgdSai", "Sls", "TorchTrainer"]
