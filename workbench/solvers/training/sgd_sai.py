"""``sgd-sai``: SGD with momentum whose learning rate is scaled per parameter block, once, by the block's
gradient signal-to-noise ratio (Xu et al., "No More Adam: Learning Rate Scaling at Initialization is All You
Need", arXiv 2412.11768; reference code AnonymousAlethiometer/SGD_SaI, and ``SGDSaI`` in pytorch-optimizer).

The rule. When a block (one parameter tensor) first has a nonzero gradient ``g``, its scale is fixed to its
g-SNR ``s = ‖g‖ / (std(g) + eps)`` (``std`` the unbiased standard deviation of the block's entries). Then at
every step, with a momentum buffer ``m`` (an exponential average of the block's gradients, started at the
block's first nonzero gradient, as in the authors' code)::

    m ← momentum · m + (1 - momentum) · g
    θ ← (1 - lr · weight_decay) · θ - lr · s · m        (decoupled weight decay, as in AdamW)

No second moments are kept: the state is one buffer per block and one number per block, half of Adam's.
Defaults are the paper's: ``lr = 1e-2``, ``momentum = 0.9``, ``weight_decay = 1e-2``, ``eps = 1e-8``. (The
weight decay is the optimizer's own, on top of whatever ``l2`` term the problem's objective carries.)

**The variant implemented here** fixes two failure modes of the reference rules:

(a) *Blocks whose g-SNR is undefined.* A one-element block has no standard deviation (its unbiased std is
    NaN), and a block whose gradient entries are all equal has ``std = 0`` (a few machine epsilons, in
    floating point). The authors' code turns the NaN into 0 and so scales such a block by ``‖g‖ / eps``
    (about 1e8 times its gradient norm). pytorch-optimizer (4.1.0) computes the g-SNR only for tensors
    with ``ndim > 1`` and ``size(0) != 1`` and gives every other tensor the bare ``‖g‖``, which ties the
    block's learning rate to the size of its first gradient (a block whose first gradient is tiny is all
    but frozen), while a matrix of equal entries still gets ``‖g‖ / eps`` when rounding leaves its std a
    hair above 0. Here a block whose g-SNR is undefined — fewer than 2 entries, or all entries equal up to
    rounding (``std <= CONSTANT_ULPS`` machine epsilons of the largest entry) — gets the **median g-SNR of
    the blocks where it is defined** (those measured so far, this step's included; 1.0 when there are
    none). The median is the scale of a typical block of the same model: unit-free like every other scale,
    it cannot be dragged to 0 or to 1e8 by one odd block, and a model of scalar parameters only is trained
    by plain SGD with momentum.

    Unlike the library, and like the authors' code, the g-SNR is computed for **every** block with at
    least 2 entries, 1-d ones (biases, norm gains) included; the library gives 1-d tensors ``‖g‖``.

(b) *Blocks whose first gradient is zero.* Both references fix every scale at the first step, so a block
    whose first gradient is exactly zero (a factor multiplied by a zero-initialized one, a layer behind a
    dead unit) gets scale 0 and never moves. Here a block's scale stays unset until the **first step at
    which its gradient is nonzero**, and it is fixed then; until that step the block only decays. A block
    with no gradient at all (``.grad`` None: not in the graph) is left alone, as in the references.

The optimizer's state (``state_dict``) holds the buffers, the scales and how each scale was set, so a
resumed cell continues exactly; ``state_bytes`` counts the buffers and the scales as stored. The momentum
buffer starts at the block's first (nonzero) gradient, as in the authors' code; the library starts it at
zero, so its first step is ``1 - momentum`` times as long.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from workbench.families.training import Setup, Step, Trainer, TrainingSolver, tensor_bytes
from workbench.solvers import solvers
from workbench.validation import check_number, check_positive

#: how a block's scale was set: its own g-SNR, or borrowed (the median) because its g-SNR is undefined
SNR, MEDIAN = "snr", "median"


#: a block's entries count as equal when their std is at most this many machine epsilons of the largest
#: entry (the std of equal entries is rounding noise of the mean, a few epsilons, not exactly 0)
CONSTANT_ULPS = 64


def gsnr(g: Tensor, eps: float) -> float | None:
    """``‖g‖ / (std(g) + eps)``, or None where it is undefined: fewer than 2 entries, or entries all equal
    (``std(g)`` zero up to rounding, see :data:`CONSTANT_ULPS`)."""
    if g.numel() < 2:
        return None
    std = float(g.std())
    big = float(g.abs().max())
    if not std > CONSTANT_ULPS * torch.finfo(g.dtype).eps * big:
        return None
    return float(g.norm()) / (std + eps)


class SgdSaiTrainer(Trainer):
    def __init__(self, options: SgdSai, model: nn.Module) -> None:
        self.options = options
        self.params = [p for p in model.parameters() if p.requires_grad]
        n = len(self.params)
        #: per block: the momentum buffer (None until the block's scale is set, or when momentum is 0)
        self.buffers: list[Tensor | None] = [None] * n
        #: per block: the learning-rate scale, a 0-d tensor of the block's dtype (None until set)
        self.scales: list[Tensor | None] = [None] * n
        #: per block: how its scale was set (SNR or MEDIAN; None until set)
        self.kinds: list[str | None] = [None] * n
        self.steps = 0

    def _set_scales(self, grads: list[Tensor | None]) -> None:
        """Fix the scale of every block whose gradient is nonzero for the first time."""
        o = self.options
        new = [i for i, g in enumerate(grads)
               if self.scales[i] is None and g is not None and bool(torch.any(g != 0))]
        if not new:
            return
        undefined = []
        for i in new:
            s = gsnr(grads[i].detach(), o.eps)  # type: ignore[union-attr]
            if s is None:
                undefined.append(i)
            else:
                self.scales[i] = torch.tensor(s, dtype=self.params[i].dtype, device=self.params[i].device)
                self.kinds[i] = SNR
        if undefined:
            measured = [float(s) for s, k in zip(self.scales, self.kinds) if k == SNR and s is not None]
            fill = statistics.median(measured) if measured else 1.0
            for i in undefined:
                self.scales[i] = torch.tensor(fill, dtype=self.params[i].dtype, device=self.params[i].device)
                self.kinds[i] = MEDIAN

    def step(self, step: Step) -> None:
        o = self.options
        step.gradient()
        self.steps += 1
        grads = [None if p.grad is None else p.grad.detach() for p in self.params]
        self._set_scales(grads)
        decay = 1.0 - o.lr * o.weight_decay
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(self.params, grads)):
                if g is None:
                    continue
                if decay != 1.0:
                    p.mul_(decay)
                scale = self.scales[i]
                if scale is None:
                    continue  # no nonzero gradient yet: nothing to scale, nothing to remember
                if o.momentum > 0.0:
                    buf = self.buffers[i]
                    if buf is None:
                        buf = self.buffers[i] = g.clone()
                    else:
                        buf.mul_(o.momentum).add_(g, alpha=1.0 - o.momentum)
                else:
                    buf = g
                p.add_(buf * scale, alpha=-o.lr)

    def state_dict(self) -> dict[str, Any]:
        return {"buffers": [None if b is None else b.clone() for b in self.buffers],
                "scales": [None if s is None else s.clone() for s in self.scales],
                "kinds": list(self.kinds), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = len(self.params)
        if len(state["buffers"]) != n or len(state["scales"]) != n:
            raise ValueError(f"sgd-sai state has {len(state['scales'])} blocks, the model {n}")

        def own(t: Tensor | None, p: Tensor) -> Tensor | None:
            return None if t is None else t.detach().to(dtype=p.dtype, device=p.device).clone()

        self.buffers = [own(b, p) for b, p in zip(state["buffers"], self.params)]
        self.scales = [own(s, p) for s, p in zip(state["scales"], self.params)]
        self.kinds = copy.copy(list(state["kinds"]))
        self.steps = int(state["steps"])

    def state_bytes(self) -> int:
        return tensor_bytes([self.buffers, self.scales])


@solvers.register("sgd-sai")
@dataclass(frozen=True, kw_only=True)
class SgdSai(TrainingSolver):
    """SGD-SaI (Xu et al., 2024): SGD with momentum, each block's learning rate scaled by its first g-SNR.

    Variant: one-element and constant blocks get the median g-SNR, a block whose first gradient is zero
    gets its scale when its gradient first is nonzero (see the module)."""

    lr: float = 1e-2
    momentum: float = 0.9
    #: decoupled weight decay: ``θ ← (1 - lr · weight_decay) θ`` every step
    weight_decay: float = 1e-2
    eps: float = 1e-8

    def __post_init__(self) -> None:
        check_positive(self, "lr", self.lr)
        check_number(self, "momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_number(self, "weight_decay", self.weight_decay, low=0.0)
        check_number(self, "eps", self.eps, low=0.0)
        if self.lr * self.weight_decay >= 1.0:
            check_number(self, "weight_decay", self.weight_decay, low=0.0, high=1.0 / self.lr, high_open=True)

    def start(self, model: nn.Module, setup: Setup) -> SgdSaiTrainer:
        return SgdSaiTrainer(self, model)


__all__ = ["SgdSai", "SgdSaiTrainer", "gsnr"]
