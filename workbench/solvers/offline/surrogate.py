"""The learned surrogate of the offline solvers: an ensemble of MLPs on :class:`NetEncoding` features,
standardized scores, Adam on the mean squared error — optionally under IGNITE's sharpness constraint.

IGNITE (Dao et al., NeurIPS 2024) trains the surrogate ``f_w`` under the constraint
``rho * ||grad_w h(w)|| <= eps``, ``h(w)`` the mean prediction over the batch, by Lagrangian dual ascent:
each step descends ``loss + lambda * rho * ||grad_w h||`` in ``w``, the gradient of the norm taken as a
finite-difference Hessian-vector product ``(grad_w h(w + r u) - grad_w h(w)) / r`` with
``u = grad_w h / ||grad_w h||``, then raises ``lambda`` by ``dual_lr * (rho * ||grad_w h|| - eps)``, kept
``>= 0``. Every member of an ensemble has its own ``lambda``.

Defaults and the reference code (Design-Bench's forward model, which IGNITE's code trains): by default the
loss is the mean squared error, ``lambda`` is clamped at 0, the data unweighted, the networks 256 wide and
the training capped at 3,000 steps so a fit takes seconds on a CPU. The reference trains two layers of 2048
for 100 epochs (~25,000 steps on TFBind8) on the Gaussian negative log-likelihood of a mean and a
log-standard-deviation head (``loss="nll"``; the log-std soft-clamped between two learned bounds that start
at log 0.1 and log 0.2), each row weighted by its count in one bootstrap resample (``bootstrap=True``), and
lets ``lambda`` go negative (``Sharpness(nonnegative=False)``); gradient ascent uses the mean head. With the
paper's dual step size ``lambda`` grows by at most ``1e-3 * rho * ||grad_w h||`` per step, so at the capped
training the constraint barely acts. ``studies/offline_ignite_setting.py`` measures what each difference
costs.

The networks use the standard parameterization (PyTorch's default initialization) so that the norm of
``grad_w h`` means what it means in the paper's code; all members train at once as one batched network.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.validation import check_choice, check_int, check_number, check_positive

_ACTIVATIONS = {
    "leaky_relu": lambda h: torch.nn.functional.leaky_relu(h, 0.2),  # Keras' default slope, as Design-Bench
    "relu": torch.relu,
    "silu": torch.nn.functional.silu,
    "tanh": torch.tanh,
}


LOSSES = ("mse", "nll")


@dataclass(frozen=True, kw_only=True)
class Sharpness:
    """IGNITE's sharpness constraint ``rho * ||grad_w h(w)|| <= eps`` (the paper's defaults)."""

    #: the bound on ``rho * ||grad_w h||``
    eps: float = 0.1
    #: the initial Lagrange multiplier
    lambda_0: float = 1e-3
    #: the dual step size
    dual_lr: float = 1e-3
    #: the weight of the gradient norm in the constraint
    rho: float = 0.05
    #: the finite-difference step of the Hessian-vector product (the reference code's ``r``)
    r: float = 0.05
    #: keep ``lambda >= 0`` (projected dual ascent); the reference code lets it go negative (False)
    nonnegative: bool = True

    def __post_init__(self) -> None:
        for name in ("eps", "rho", "r"):
            check_positive(self, name, getattr(self, name))
        for name in ("lambda_0", "dual_lr"):
            check_number(self, name, getattr(self, name), low=0)
        if not isinstance(self.nonnegative, bool):
            raise InvalidConfigError(f"Sharpness.nonnegative must be a bool, but got nonnegative={self.nonnegative!r}")


@dataclass(frozen=True, kw_only=True)
class SurrogateConfig:
    """An ensemble of ``members`` MLPs trained with Adam on the mean squared error of standardized scores.

    Design-Bench's gradient-ascent baseline (and IGNITE's) trains 2 hidden layers of 2048 leaky-ReLU units
    for 100 epochs at ``lr = 3e-4``, batch 128; these defaults are narrower and capped in steps so a fit
    takes seconds on two CPU cores (each is an option)."""

    #: widths of the hidden layers
    hidden: tuple[int, ...] = (256, 256)
    #: "leaky_relu" (Design-Bench), "relu", "silu" or "tanh"
    activation: str = "leaky_relu"
    #: networks in the ensemble, from independent initializations and batch orders
    members: int = 1
    #: Adam's learning rate
    lr: float = 3e-4
    #: minibatch size
    batch_size: int = 128
    #: passes over the visible data ...
    epochs: int = 50
    #: ... but at most this many Adam steps
    max_steps: int = 3000
    #: IGNITE's sharpness constraint on the training, or None for plain training
    sharpness: Sharpness | None = None
    #: "mse" (the mean squared error) or "nll" (Design-Bench's Gaussian likelihood of a mean and a soft-clamped
    #: log-std head; the search uses the mean)
    loss: str = "mse"
    #: weight each row by its count in one bootstrap resample per member (Design-Bench's ``bootstraps=1``)
    bootstrap: bool = False

    def __post_init__(self) -> None:
        owner = "SurrogateConfig"
        hidden = tuple(self.hidden) if isinstance(self.hidden, (list, tuple)) else None
        if hidden is None or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise InvalidConfigError(f"{owner}.hidden must be a tuple of ints >= 1, but got hidden={self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        check_choice(self, "activation", self.activation, sorted(_ACTIVATIONS))
        for name in ("members", "batch_size", "epochs", "max_steps"):
            check_int(self, name, getattr(self, name), 1)
        check_positive(self, "lr", self.lr)
        check_choice(self, "loss", self.loss, LOSSES)
        if not isinstance(self.bootstrap, bool):
            raise InvalidConfigError(f"{owner}.bootstrap must be a bool, but got bootstrap={self.bootstrap!r}")
        if self.sharpness is not None and not isinstance(self.sharpness, Sharpness):
            raise InvalidConfigError(f"{owner}.sharpness must be a Sharpness or None, but got {self.sharpness!r}")


class MLPStack:
    """``S`` fully connected networks of one shape, evaluated in one batched pass.

    ``params`` is a list of tensors: per layer ``W`` (``S x a x b``) and ``b`` (``S x 1 x b``)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], members: int, activation: str,
                 generator: torch.Generator, device: torch.device | str, outputs: int = 1) -> None:
        self.widths = (in_dim, *hidden, outputs)
        self.act = _ACTIVATIONS[activation]
        self.params: list[Tensor] = []
        for a, b in zip(self.widths[:-1], self.widths[1:]):
            bound = 1.0 / math.sqrt(a)  # torch.nn.Linear's default initialization
            W = (torch.rand(members, a, b, generator=generator) * 2 - 1) * bound
            c = (torch.rand(members, 1, b, generator=generator) * 2 - 1) * bound
            self.params += [W.to(device).requires_grad_(), c.to(device).requires_grad_()]

    @property
    def members(self) -> int:
        return int(self.params[0].shape[0])

    def __call__(self, X: Tensor, params: list[Tensor] | None = None) -> Tensor:
        """``X``: ``N x d`` (shared by every member) or ``S x N x d`` -> predictions ``S x N``."""
        return self.rest(self.first(X, params), params)

    def first(self, X: Tensor, params: list[Tensor] | None = None) -> Tensor:
        """The first layer's pre-activations ``S x N x h`` of ``X`` (``N x d`` or ``S x N x d``): linear in
        ``X``, so a change of a few features changes them by that change times the first weights."""
        params = self.params if params is None else params
        h = X if X.ndim == 3 else X.expand(self.members, *X.shape)
        return torch.baddbmm(params[1], h, params[0])

    def rest(self, H: Tensor, params: list[Tensor] | None = None) -> Tensor:
        """Predictions ``S x N`` (the first output: the mean of a Gaussian head) from the first layer's
        pre-activations ``H`` (``S x N x h``)."""
        return self.outputs(H, params)[..., 0]

    def outputs(self, H: Tensor, params: list[Tensor] | None = None) -> Tensor:
        """Every output ``S x N x outputs`` from the first layer's pre-activations."""
        params = self.params if params is None else params
        h = H
        for i in range(2, len(params), 2):  # the activation follows every layer but the last
            h = torch.baddbmm(params[i + 1], self.act(h), params[i])
        return h


def fit_surrogate(config: SurrogateConfig, Z: Tensor, y: Tensor, *, generator: torch.Generator,
                  penalty: Callable[[MLPStack, Tensor, Tensor], Tensor] | None = None,
                  trace: list[dict[str, float]] | None = None) -> MLPStack:
    """Train an ensemble on features ``Z`` (``n x d``, float32, on the device) and standardized scores ``y``
    (``n``). Every random choice (initialization, batch order) is drawn from ``generator``.

    Under a sharpness constraint, ``trace`` (a list) receives one entry per step: the step, the members' mean
    multiplier after the dual step and their mean ``rho * ||grad_w h||`` on the minibatch (what is held
    below ``eps``).

    ``penalty(net, xb, predictions)`` (a minibatch ``S x B x d`` and the members' predictions ``S x B``)
    returns a term per member (``S``) added to each member's loss, e.g. COMs' conservatism."""
    device = Z.device
    S, n = config.members, Z.shape[0]
    nll = config.loss == "nll"
    net = MLPStack(Z.shape[1], config.hidden, S, config.activation, generator, device, outputs=2 if nll else 1)
    # the log-std head's soft bounds, learned per member (Design-Bench starts them at log 0.1 and log 0.2)
    bounds = [torch.full((S, 1), math.log(v), device=device, requires_grad=True) for v in (0.1, 0.2)] if nll else []
    opt = torch.optim.Adam(net.params + bounds, lr=config.lr)
    weights = bootstrap_counts(generator, S, n).to(device) if config.bootstrap else None
    batch = min(config.batch_size, n)
    per_epoch = max(1, n // batch)
    steps = min(config.epochs * per_epoch, config.max_steps)
    sharp = config.sharpness
    lam = torch.full((S,), sharp.lambda_0 if sharp else 0.0, device=device)
    order = None
    for step in range(steps):
        if step % per_epoch == 0:  # a fresh shuffle per member and epoch
            order = torch.argsort(torch.rand(S, n, generator=generator), dim=1).to(device)
        j = step % per_epoch
        idx = order[:, j * batch : (j + 1) * batch]
        xb, yb = Z[idx], y[idx]
        if nll:
            out = net.outputs(net.first(xb))
            predictions = out[..., 0]
            logstd = bounded_logstd(out[..., 1], *bounds)
            per_row = 0.5 * ((yb - predictions) / logstd.exp()) ** 2 + logstd + 0.5 * math.log(2 * math.pi)
        else:
            predictions = net(xb)
            per_row = (predictions - yb) ** 2
        if config.bootstrap:  # each member its own weighted mean loss
            wb = torch.gather(weights, 1, idx)
            loss = (wb * per_row).sum(1) / wb.sum(1).clamp_min(1.0)
        else:  # each member its own mean loss
            loss = per_row.mean(1)
        if penalty is not None:
            loss = loss + penalty(net, xb, predictions)
        grads = torch.autograd.grad(loss.sum(), net.params + bounds)
        if sharp is not None:
            extra, norm = _sharpness_gradient(net, xb, sharp, lam)
            grads = tuple(g + e for g, e in zip(grads, extra)) + grads[len(extra):]
            lam = lam + sharp.dual_lr * (sharp.rho * norm - sharp.eps)
            if sharp.nonnegative:
                lam = lam.clamp_min(0.0)
            if trace is not None:
                trace.append({"step": step, "lambda": float(lam.mean()), "rho_norm": float(sharp.rho * norm.mean())})
        for p, g in zip(net.params + bounds, grads):
            p.grad = g
        opt.step()
    for p in net.params:
        p.grad = None
        p.requires_grad_(False)
    return net


def bounded_logstd(raw: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """The log-std head soft-clamped into ``(lo, hi)`` as Design-Bench's forward model does it: first below
    ``hi`` (``hi - softplus(hi - raw)``), then above ``lo`` (``lo + softplus(x - lo)``)."""
    below = hi - torch.nn.functional.softplus(hi - raw)
    return lo + torch.nn.functional.softplus(below - lo)


def bootstrap_counts(generator: torch.Generator, members: int, n: int) -> Tensor:
    """How often each of ``n`` rows is drawn in one resample with replacement, per member (``members x n``).
    The draws come from a generator of their own, seeded from ``generator``'s seed without drawing from it,
    so that a weighted fit initializes and orders its batches as the unweighted one does."""
    resample = torch.Generator().manual_seed((generator.initial_seed() * 6364136223846793005 + 1442695040888963407)
                                             % 2**63)
    draws = torch.randint(n, (members, n), generator=resample)
    return torch.zeros(members, n).scatter_add_(1, draws, torch.ones(members, n))


def _per_member_norm(grads: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
    return torch.sqrt(sum((g.reshape(g.shape[0], -1) ** 2).sum(1) for g in grads))


def _sharpness_gradient(net: MLPStack, xb: Tensor, sharp: Sharpness, lam: Tensor) -> tuple[list[Tensor], Tensor]:
    """``lambda * rho * grad_w ||grad_w h||`` per member by a finite difference, and ``||grad_w h||``."""
    g = torch.autograd.grad(net(xb).mean(1).sum(), net.params)
    norm = _per_member_norm(g).detach()
    scale = (sharp.r / norm.clamp_min(1e-12))
    shifted = [(p + scale.view(-1, *[1] * (p.ndim - 1)) * gi).detach().requires_grad_() for p, gi in zip(net.params, g)]
    g_hat = torch.autograd.grad(net(xb, shifted).mean(1).sum(), shifted)
    coef = lam * sharp.rho / sharp.r
    extra = [coef.view(-1, *[1] * (gi.ndim - 1)) * (gh - gi) for gi, gh in zip(g, g_hat)]
    return extra, norm


def sharpness(net: MLPStack, Z: Tensor) -> Tensor:
    """``||grad_w h(w)||`` per member, ``h`` the mean prediction over ``Z`` (the quantity IGNITE bounds)."""
    params = [p.detach().requires_grad_() for p in net.params]
    g = torch.autograd.grad(net(Z, params).mean(1).sum(), params)
    return _per_member_norm(g).detach()


def aggregate(predictions: Tensor, how: str) -> Tensor:
    """Ensemble predictions ``S x N`` -> ``N``: "mean" or "min" over members."""
    return predictions.mean(0) if how == "mean" else predictions.min(0).values
