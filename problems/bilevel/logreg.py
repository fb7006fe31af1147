"""Multinomial logistic regression on digits with one L2 weight per model parameter (the bilevel family).

scikit-learn's bundled 8x8 digits (1,797 x 64, pixel values / 16), split by the cell's seed into training,
validation and test thirds (stratified shuffle). The model is ``W`` (64 x 10) and ``b`` (10), flattened into
``x`` (650 values); θ holds one log-weight per parameter (650 hyperparameters, θ₀ = -3)::

    h(x, θ) = CE_train(W, b) + ½ Σ_j e^{θ_j} x_j²        (CE: the mean cross-entropy)
    g(x)    = CE_val(W, b)

``h`` is ``μ = min_j e^{θ_j}``-strongly convex and ``L = λ_max(X̃ᵀX̃)/(2n) + max_j e^{θ_j}`` smooth (``X̃``
the inputs with a column of ones; the softmax cross-entropy's Hessian is at most ½ in the logits).
The test metric is the test accuracy. MAID's bound constants are estimated at each iterate (the global
bound ``L_{H⁻¹} <= L_H/μ²`` is so loose at μ = e^{-3} that it would force every solve to ε ≈ 1e-5).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.families.bilevel.problem import BilevelProblem, check_bilevel
from workbench.problem import catalog
from workbench.space import Real, Space

CLASSES, FEATURES = 10, 64


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target


def _split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified thirds: training, validation and test indices drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        for i, chunk in enumerate(np.array_split(idx, 3)):
            parts[i].extend(chunk.tolist())
    return tuple(np.sort(np.asarray(p)) for p in parts)  # type: ignore[return-value]


@catalog.register("logreg-l2-digits")
class LogregL2Digits(BilevelProblem):
    """Multinomial logistic regression on digits, one L2 weight per parameter (650 hyperparameters)."""

    lower_tol = 1e-3
    score_tol = 1e-6

    def __init__(self, *, theta0: float = -3.0, low: float = -9.0, high: float = 3.0,
                 name: str | None = None) -> None:
        for field, value in (("theta0", theta0), ("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidProblemError(f"LogregL2Digits.{field} must be a finite number, but got {value!r}")
        self.name = name or "logreg-l2-digits"
        n_params = (FEATURES + 1) * CLASSES
        self.space = Space(*[Real(f"theta_{j}", float(low), float(high)) for j in range(n_params)])
        self.theta0 = (float(theta0),) * n_params
        self.params = {"theta0": float(theta0), "low": float(low), "high": float(high)}
        X, y = _digits()
        self._X, self._y = X, y
        self._use(0)
        check_bilevel(self, f"problem {self.name!r}")

    def _use(self, seed: int) -> None:
        train, val, test = _split(self._y, seed)
        ones = np.ones((len(self._y), 1))
        Xt = torch.tensor(np.hstack([self._X, ones]), dtype=torch.float64)
        y = torch.tensor(self._y, dtype=torch.long)
        self.Xtr, self.ytr = Xt[train], y[train]
        self.Xval, self.yval = Xt[val], y[val]
        self.Xte, self.yte = Xt[test], y[test]
        n = len(train)
        gram = float(torch.linalg.eigvalsh(self.Xtr.T @ self.Xtr)[-1])
        self._ce_smooth = gram / (2 * n)
        self._lg = float(torch.linalg.eigvalsh(self.Xval.T @ self.Xval)[-1]) / (2 * len(val))

    def bind(self, seed: int) -> LogregL2Digits:
        """The problem with its training / validation / test split drawn from the cell's seed."""
        bound = copy.copy(self)
        bound._use(seed)
        return bound

    def _weights(self, x: Tensor) -> Tensor:
        return x.reshape(FEATURES + 1, CLASSES)

    def x0(self) -> Tensor:
        return torch.zeros((FEATURES + 1) * CLASSES, dtype=torch.float64, device=self.Xtr.device)

    def lower(self, x: Tensor, theta: Tensor) -> Tensor:
        ce = torch.nn.functional.cross_entropy(self.Xtr @ self._weights(x), self.ytr)
        return ce + 0.5 * (torch.exp(theta) * x * x).sum()

    def upper(self, x: Tensor) -> Tensor:
        return torch.nn.functional.cross_entropy(self.Xval @ self._weights(x), self.yval)

    def mu(self, theta: Tensor) -> float:
        return math.exp(float(theta.min()))

    def smoothness(self, theta: Tensor) -> float:
        return self._ce_smooth + math.exp(float(theta.max()))

    def upper_smoothness(self) -> float:
        return self._lg

    def report(self, x: Tensor, theta: Tensor) -> dict[str, float]:
        logits = self.Xte @ self._weights(x)
        return {"test_accuracy": float((logits.argmax(1) == self.yte).double().mean()),
                "test_loss": float(torch.nn.functional.cross_entropy(logits, self.yte))}


__all__ = ["LogregL2Digits"]
