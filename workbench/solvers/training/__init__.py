"""Training solvers (the training family): optimizers stepping through counted minibatch oracles."""

from workbench.solvers.training.basic import SGD, Adagrad, Adam, TorchTrainer
from workbench.solvers.training.lbfgs import Lbfgs, LbfgsTrainer
from workbench.solvers.training.sgd_sai import SgdSai, SgdSaiTrainer
from workbench.solvers.training.sls import ArmijoStep, Sls, SlsTrainer

__all__ = ["SGD", "Adagrad", "Adam", "ArmijoStep", "Lbfgs", "LbfgsTrainer", "SgdSai", "SgdSaiTrainer", "Sls",
           "SlsTrainer", "TorchTrainer"]
