"""An MLP on digits whose hyperparameters are its dropout rates and input noise (the bilevel family).

scikit-learn's bundled digits (pixel values / 16), split by the cell's seed into stratified training,
validation and test thirds. The network is 64 -> 128 -> 128 -> 10 with ReLU; θ holds four unconstrained
hyperparameters (logits): the input dropout rate, the two hidden dropout rates, and the standard deviation
of Gaussian input noise (``s = sigmoid(θ₃)``), all 0.05 at θ₀. Masks and noise act in training only; the
validation and test losses are the plain network's (no dropout, no noise)::

    h(x, θ) = E_masks,noise CE_train(net_x(drop_θ(X + s ε)))      (x: the network's weights, flattened)
    g(x)    = CE_val(net_x(X_val))

``h`` is neither convex nor deterministic: methods that need a certified lower level refuse the problem,
and its lower level is solved by its own rule (:meth:`DropoutMlpDigits.solve`): Adam (lr 1e-3, batch 32)
for ``epochs`` epochs from the cell's seeded initialization, every minibatch step one counted lower-level
iteration. Solvers that build their own network (Self-Tuning Networks) use :meth:`DropoutMlpDigits.forward`
with layers of their own, and the training and validation batches, through the oracle's counted
:class:`~workbench.families.bilevel.oracle.NetworkView`. The test metric is the test accuracy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from problems.bilevel.logreg import _digits, _split
from workbench.errors import InvalidProblemError
from workbench.families.bilevel.lower import Solve
from workbench.families.bilevel.oracle import LowerLevelError, Oracle
from workbench.families.bilevel.problem import BilevelProblem, check_bilevel
from workbench.problem import catalog
from workbench.space import Real, Space

HYPERPARAMETERS = ("input_dropout", "hidden1_dropout", "hidden2_dropout", "input_noise")
Layer = Callable[[Tensor], Tensor]


def logit(p: float) -> float:
    return math.log(p / (1 - p))


@catalog.register("dropout-mlp-digits")
class DropoutMlpDigits(BilevelProblem):
    """A 2-hidden-layer MLP on digits; θ = logits of its dropout rates and input-noise scale."""

    strongly_convex = False

    def __init__(self, *, hidden: int = 128, epochs: int = 20, batch_size: int = 32, lr: float = 1e-3,
                 start: float = 0.05, name: str | None = None) -> None:
        for field, value, low in (("hidden", hidden, 1), ("epochs", epochs, 1), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidProblemError(f"DropoutMlpDigits.{field} must be an int >= {low}, but got {value!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
            raise InvalidProblemError(f"DropoutMlpDigits.lr must be a finite number > 0, but got {lr!r}")
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0.01 <= start <= 0.9:
            raise InvalidProblemError(f"DropoutMlpDigits.start must be a rate in [0.01, 0.9], but got {start!r}")
        self.hidden, self.epochs, self.batch_size, self.lr = hidden, epochs, batch_size, float(lr)
        self.name = name or "dropout-mlp-digits"
        self.space = Space(*[Real(f"logit_{n}", -6.0, 3.0) for n in HYPERPARAMETERS])
        self.theta0 = (logit(float(start)),) * len(HYPERPARAMETERS)
        self.params = {"hidden": hidden, "epochs": epochs, "batch_size": batch_size, "lr": self.lr,
                       "start": float(start)}
        self.sizes = (64, hidden, hidden, 10)
        self._X, self._y = _digits()
        self._use(0)
        check_bilevel(self, f"problem {self.name!r}")

    def _use(self, seed: int) -> None:
        train, val, test = _split(self._y, seed)
        X = torch.tensor(self._X, dtype=torch.float32)
        y = torch.tensor(self._y, dtype=torch.long)
        self.Xtr, self.ytr, self.Xval, self.yval = X[train], y[train], X[val], y[val]
        self.Xte, self.yte = X[test], y[test]
        self.seed = int(seed)

    def bind(self, seed: int) -> DropoutMlpDigits:
        """The problem with its split (and its initialization) drawn from the cell's seed."""
        bound = copy.copy(self)
        bound._use(seed)
        return bound

    # ------------------------------------------------------------------------------------------ the network
    def shapes(self) -> list[tuple[int, int]]:
        """``(out, in)`` of each linear layer."""
        return [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:])]

    def x0(self) -> Tensor:
        """The seeded initialization (PyTorch's default for linear layers), flattened, float32."""
        g = torch.Generator().manual_seed(1_000_003 * self.seed + 5)
        parts = []
        for out, inp in self.shapes():
            bound = 1 / math.sqrt(inp)
            parts += [(torch.rand(out, inp, generator=g) * 2 - 1) * bound, (torch.rand(out, generator=g) * 2 - 1) * bound]
        return torch.cat([p.reshape(-1) for p in parts]).to(self.Xtr.device)

    def unflatten(self, x: Tensor) -> list[tuple[Tensor, Tensor]]:
        out, at = [], 0
        for o, i in self.shapes():
            W = x[at : at + o * i].reshape(o, i)
            at += o * i
            b = x[at : at + o]
            at += o
            out.append((W, b))
        return out

    def layers(self, x: Tensor) -> list[Layer]:
        return [lambda h, W=W, b=b: h @ W.T + b for W, b in self.unflatten(x)]

    def forward(self, layers: Sequence[Layer], X: Tensor, hyper: Tensor | None, generator: torch.Generator | None) -> Tensor:
        """Logits of ``X`` through ``layers`` (one callable per linear layer). With ``hyper`` (``B x 4``
        unconstrained values, one row per example) and a ``generator``, in training mode: input noise, input
        and hidden dropout at the rates ``sigmoid(hyper)``, masks drawn with the rates detached (as Self-Tuning
        Networks do); without, the plain network (validation, test)."""
        train = hyper is not None and generator is not None
        if train:
            rates = torch.sigmoid(hyper.detach()).to(X.dtype)
            noise = torch.randn(X.shape, generator=generator).to(X)
            X = _dropout(X + rates[:, 3:4] * noise, rates[:, 0:1], generator)
        h = torch.relu(layers[0](X))
        if train:
            h = _dropout(h, rates[:, 1:2], generator)
        h = torch.relu(layers[1](h))
        if train:
            h = _dropout(h, rates[:, 2:3], generator)
        return layers[2](h)

    def batches(self, generator: torch.Generator, split: str = "train") -> Iterator[tuple[Tensor, Tensor]]:
        """One epoch of shuffled minibatches of ``split`` (``train`` or ``val``: never the test split)."""
        X, y = (self.Xtr, self.ytr) if split == "train" else (self.Xval, self.yval)
        order = torch.randperm(len(y), generator=generator).to(X.device)
        for start in range(0, len(y), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield X[idx], y[idx]

    # ------------------------------------------------------------------------------------------ the problem
    def lower(self, x: Tensor, theta: Tensor) -> Tensor:
        """One sample of ``h``: the training loss over the whole training set, masks from a fixed seed."""
        g = torch.Generator().manual_seed(1_000_003 * self.seed + 11)
        hyper = theta.to(torch.float32).expand(len(self.ytr), -1)
        return nn.functional.cross_entropy(self.forward(self.layers(x.float()), self.Xtr, hyper, g), self.ytr)

    def upper(self, x: Tensor) -> Tensor:
        return nn.functional.cross_entropy(self.forward(self.layers(x.float()), self.Xval, None, None), self.yval).double()

    def solve(self, oracle: Oracle, x: Tensor, theta: Tensor) -> Solve:
        """Train from the seeded initialization with θ fixed: Adam for ``epochs`` epochs (the black-box
        view's lower level; ``x`` is not used: each query trains a fresh network)."""
        w = self.x0().clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=self.lr)
        g = torch.Generator().manual_seed(1_000_003 * self.seed + 7)
        steps = 0
        for _ in range(self.epochs):
            for X, y in self.batches(g):
                hyper = theta.to(torch.float32).expand(len(y), -1)
                loss = nn.functional.cross_entropy(self.forward(self.layers(w), X, hyper, g), y)
                oracle.count(lower=1)
                if not torch.isfinite(loss):
                    raise LowerLevelError(f"the training loss turned {float(loss)} after {steps} steps")
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps += 1
        return Solve(w.detach(), steps, math.nan)

    def hyperparameters(self, theta: Tensor) -> dict[str, float]:
        return {n: float(torch.sigmoid(t)) for n, t in zip(HYPERPARAMETERS, theta)}

    def report(self, x: Tensor, theta: Tensor) -> dict[str, float]:
        logits = self.forward(self.layers(x.float()), self.Xte, None, None)
        return {"test_accuracy": float((logits.argmax(1) == self.yte).float().mean()),
                "test_loss": float(nn.functional.cross_entropy(logits, self.yte))}

    def theta_for(self, rate: float) -> tuple[float, ...]:
        """θ with every dropout rate at ``rate`` and the input noise at its start."""
        return (logit(rate),) * 3 + (self.theta0[3],)


def _dropout(h: Tensor, rate: Tensor, generator: torch.Generator) -> Tensor:
    keep = 1 - rate
    mask = (torch.rand(h.shape, generator=generator).to(h) < keep).to(h.dtype)
    return h * mask / keep


__all__ = ["HYPERPARAMETERS", "DropoutMlpDigits", "logit"]
