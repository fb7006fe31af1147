"""Training problems on fixed data: scikit-learn's bundled data sets and seeded synthetic data.

Each problem standardizes its features with the training split's mean and deviation, splits the data
60 / 20 / 20 into train / validation / test with a fixed permutation (``data_seed``), and trains in float64.
The convex ones (linear models with the logistic, softmax or squared loss and an L2 term) know their
optimum ``f*``: the full-batch L-BFGS reference (:mod:`workbench.families.training.reference`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from workbench.errors import InvalidProblemError
from workbench.families.training import Batch, Split, TrainingProblem
from workbench.families.training.problem import check_training
from workbench.families.training.reference import reference_optimum
from workbench.problem import catalog, validate_problem
from workbench.validation import check_int, check_number

Loss = Literal["logistic", "softmax", "squared"]
#: per-example smoothness of each loss in its targets
SMOOTHNESS: dict[str, float] = {"logistic": 0.25, "softmax": 0.5, "squared": 1.0}


def _init_linear(layer: nn.Linear, generator: torch.Generator) -> nn.Linear:
    """PyTorch's default initialization (uniform in ±1/√fan_in), drawn from ``generator``."""
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)
        layer.bias.copy_(torch.rand(layer.bias.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)
    return layer


class DatasetProblem(TrainingProblem):
    """A model trained on a fixed data set. Subclasses implement :meth:`load` (features, labels)."""

    loss_kind: Loss = "softmax"
    #: hidden layer widths of an MLP (ReLU); empty: a linear model (convex with the losses here)
    hidden: tuple[int, ...] = ()
    #: standardize features with the training split's statistics
    standardize: bool = True

    def __init__(self, *, batch_size: int = 25, l2: float = 1e-4, data_seed: int = 0, name: str | None = None,
                 **extra: Any) -> None:
        check_int(self, "data_seed", data_seed, 0, error=InvalidProblemError)
        self.batch_size, self.l2, self.data_seed = batch_size, l2, data_seed
        self.name = name or self.default_name()
        self.smoothness = SMOOTHNESS[self.loss_kind]
        self.classification = True
        self.params = {"batch_size": batch_size, "l2": l2, "data_seed": data_seed, **extra}
        check_training(self, f"problem {self.name!r}")  # first: the optimum's reference solve needs valid fields
        validate_problem(self, f"problem {self.name!r}")

    def default_name(self) -> str:
        return catalog.name_of(type(self)) or type(self).__name__

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # ------------------------------------------------------------------------------ data
    @cached_property
    def _splits(self) -> dict[str, Split]:
        X, y = self.load()
        X = np.asarray(X, dtype=np.float64)
        n = len(X)
        order = np.random.default_rng(self.data_seed).permutation(n)
        cut1, cut2 = int(round(0.6 * n)), int(round(0.8 * n))
        parts = {"train": order[:cut1], "val": order[cut1:cut2], "test": order[cut2:]}
        Xs = X
        if self.standardize:
            mean, std = X[parts["train"]].mean(0), X[parts["train"]].std(0)
            std[std == 0] = 1.0
            Xs = (X - mean) / std
        return {k: Split(torch.as_tensor(Xs[i]), self._labels(y[i])) for k, i in parts.items()}

    def _labels(self, y: np.ndarray) -> Tensor:
        if self.loss_kind == "logistic":
            return torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
        return torch.as_tensor(y, dtype=torch.long)

    def splits(self) -> Mapping[str, Split]:
        return self._splits

    @property
    def n_features(self) -> int:
        return int(self._splits["train"].X.shape[1])

    @property
    def n_outputs(self) -> int:
        if self.loss_kind == "logistic":
            return 1
        return int(max(int(s.y.max()) for s in self._splits.values()) + 1)

    # ------------------------------------------------------------------------------ model and loss
    def model(self, generator: torch.Generator) -> nn.Module:
        widths = [self.n_features, *self.hidden, self.n_outputs]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(_init_linear(nn.Linear(a, b, dtype=torch.float64), generator))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def loss(self, z: Tensor, y: Tensor) -> Tensor:
        if self.loss_kind == "logistic":
            return nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none").reshape(-1)
        if self.loss_kind == "softmax":
            return nn.functional.cross_entropy(z, y, reduction="none")
        onehot = nn.functional.one_hot(y, z.shape[-1]).to(z.dtype)
        return 0.5 * ((z - onehot) ** 2).sum(-1)

    def predict(self, z: Tensor) -> Tensor:
        return (z.reshape(-1) > 0).long() if self.loss_kind == "logistic" else z.argmax(-1)

    # ------------------------------------------------------------------------------ epochs and scores
    def steps_per_epoch(self, batch_size: int) -> int:
        return int(math.ceil(len(self._splits["train"]) / batch_size))

    def batches(self, model: nn.Module, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        train = self._splits["train"]
        order = torch.randperm(len(train), generator=generator)
        for i in range(0, len(train), batch_size):
            idx = order[i : i + batch_size]
            yield Batch(train.X[idx], train.y[idx])

    def scores(self, model: nn.Module) -> dict[str, float]:
        out: dict[str, float] = {}
        splits = self.splits()
        for part in ("train", "val", "test"):
            split = splits[part]
            z = self.targets(model, split.X)
            mean = float(self.loss(z, split.y).mean())
            if part == "train":
                out["train_loss"] = mean + float(self.regularizer(model))
            else:
                out[f"{part}_loss"] = mean
            if part == "test":
                y = split.y.reshape(-1).long()
                out["test_accuracy"] = float((self.predict(z) == y).double().mean())
        return out

    @cached_property
    def optimum(self) -> float | None:  # type: ignore[override]
        """``f*`` of the convex problems (linear models), from the full-batch L-BFGS reference."""
        return None if self.hidden else reference_optimum(self)


@catalog.register("logreg-breast-cancer")
class LogregBreastCancer(DatasetProblem):
    """Binary logistic regression on scikit-learn's Wisconsin breast-cancer data (569 x 30)."""

    loss_kind = "logistic"

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_breast_cancer

        d = load_breast_cancer()
        return d.data, d.target


@catalog.register("logreg-digits")
class LogregDigits(DatasetProblem):
    """Multinomial logistic regression on scikit-learn's 8x8 digits (1,797 x 64, 10 classes)."""

    loss_kind = "softmax"

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data, d.target


@catalog.register("squared-digits")
class SquaredDigits(LogregDigits):
    """Least squares onto one-hot labels of the digits (a linear model; accuracy by the largest output)."""

    loss_kind = "squared"


@catalog.register("mlp-digits")
class MlpDigits(LogregDigits):
    """A ReLU network 64-64-10 with the softmax loss on the digits: non-convex, no known optimum."""

    hidden = (64,)


@catalog.register("synthetic-logistic")
class SyntheticLogistic(DatasetProblem):
    """Binary logistic regression on seeded Gaussian data: ``n x d`` features whose covariance has
    condition number ``condition`` (eigenvalues log-spaced), labels drawn from a logistic model with a
    random true weight vector, so the classes overlap and ``f*`` is attained."""

    loss_kind = "logistic"
    standardize = False  # centered already; standardizing would undo the declared conditioning

    def __init__(self, *, n: int = 10_000, d: int = 100, condition: float = 100.0, batch_size: int = 25,
                 l2: float = 1e-4, data_seed: int = 0, name: str | None = None) -> None:
        self.n = check_int(self, "n", n, 1, error=InvalidProblemError)
        self.d = check_int(self, "d", d, 1, error=InvalidProblemError)
        check_number(self, "condition", condition, low=1.0, error=InvalidProblemError)
        self.condition = float(condition)
        super().__init__(batch_size=batch_size, l2=l2, data_seed=data_seed, name=name, n=n, d=d,
                         condition=self.condition)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(10_000 + self.data_seed)
        scales = np.logspace(0, -0.5 * math.log10(self.condition), self.d)  # covariance eigenvalues 1 .. 1/condition
        X = rng.standard_normal((self.n, self.d)) * scales
        w = rng.standard_normal(self.d) / np.sqrt((scales**2).sum())
        w *= 4.0  # logits of typical size 4: classes overlap but are mostly separable
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        return X, (rng.random(self.n) < p).astype(np.int64)


__all__ = ["DatasetProblem", "LogregBreastCancer", "LogregDigits", "MlpDigits", "SquaredDigits", "SyntheticLogistic"]
