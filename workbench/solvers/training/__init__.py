"""Training solvers (the training family): optimizers stepping through counted minibatch oracles."""

from workbench.solvers.training.basic import SGD, Adagrad, Adam, TorchTrainer

__all__ = ["SGD", "Adagrad", "Adam", "TorchTrainer"]
