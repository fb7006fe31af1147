"""``sgd``, ``adam``, ``adagrad``: PyTorch's optimizers, one minibatch gradient (one oracle call) per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workbench.families.training import Setup, Step, Trainer, TrainingSolver, tensor_bytes
from workbench.solvers import solvers
from workbench.validation import check_number, check_positive


class TorchTrainer(Trainer):
    """A ``torch.optim`` optimizer stepping on the minibatch gradient."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def step(self, step: Step) -> None:
        step.gradient()
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)

    def state_bytes(self) -> int:
        return tensor_bytes(s for s in self.optimizer.state.values())


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


@solvers.register("sgd")
@dataclass(frozen=True, kw_only=True)
class SGD(TrainingSolver):
    """Stochastic gradient descent with a constant learning rate (momentum optional)."""

    lr: float = 0.1
    momentum: float = 0.0

    def __post_init__(self) -> None:
        check_positive(self, "lr", self.lr)
        check_number(self, "momentum", self.momentum, low=0.0, high=1.0, high_open=True)

    def start(self, model: nn.Module, setup: Setup) -> Trainer:
        return TorchTrainer(torch.optim.SGD(_params(model), lr=self.lr, momentum=self.momentum))


@solvers.register("adam")
@dataclass(frozen=True, kw_only=True)
class Adam(TrainingSolver):
    """Adam (Kingma & Ba, 2015) with PyTorch's defaults."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        check_positive(self, "lr", self.lr)
        check_number(self, "beta1", self.beta1, low=0.0, high=1.0, high_open=True)
        check_number(self, "beta2", self.beta2, low=0.0, high=1.0, high_open=True)
        check_positive(self, "eps", self.eps)

    def start(self, model: nn.Module, setup: Setup) -> Trainer:
        return TorchTrainer(torch.optim.Adam(_params(model), lr=self.lr, betas=(self.beta1, self.beta2), eps=self.eps))


@solvers.register("adagrad")
@dataclass(frozen=True, kw_only=True)
class Adagrad(TrainingSolver):
    """AdaGrad (Duchi et al., 2011) with PyTorch's defaults."""

    lr: float = 1e-2
    eps: float = 1e-10

    def __post_init__(self) -> None:
        check_positive(self, "lr", self.lr)
        check_positive(self, "eps", self.eps)

    def start(self, model: nn.Module, setup: Setup) -> Trainer:
        return TorchTrainer(torch.optim.Adagrad(_params(model), lr=self.lr, eps=self.eps))


__all__ = ["SGD", "Adagrad", "Adam", "TorchTrainer"]
