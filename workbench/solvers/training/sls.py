"""``sls``: SGD with a stochastic Armijo line search (Vaswani et al., "Painless Stochastic Gradient:
Interpolation, Line-Search, and Convergence Rates", NeurIPS 2019; reference code IssamLaradji/sls).

Per minibatch ``i`` (Algorithm 1 with the step-size reset of Algorithm 2, option 2):

1. one :meth:`Step.gradient` gives ``f_i(θ)`` and ``g = ∇f_i(θ)`` (one oracle call, two model passes);
2. the first trial step size is the previous accepted one grown by ``gamma^(b/n)``, where ``b/n`` (batch
   size over training-set size) is taken as ``1 / steps_per_epoch`` — the step size can at most grow by
   ``gamma`` per epoch — and capped at ``max_step_size``;
3. backtracking: each trial ``η`` evaluates the minibatch objective at ``θ - η g`` with
   :meth:`Step.objective` (**one more oracle call** and one model pass each) and is accepted when
   ``f_i(θ - η g) <= f_i(θ) - c η ‖g‖²``; otherwise ``η ← beta η``, at most ``max_backtracks`` trials.

Every trial is an expensive oracle call; they are counted on the family's ``oracle_calls`` axis, which is
where SLS pays for not having a learning rate to tune.

Defaults are the paper's: initial step size 1, ``c = 0.1``, ``beta = 0.9``, ``gamma = 2``, at most 100
trials, and a cap of 10 on the step size (the reference's ``eta_max``).

Where this differs from the reference code:

* a batch whose gradient norm is below ``1e-8`` is skipped (no trial, no move), as in the reference, and
  its grown step size is kept;
* when no trial passes within ``max_backtracks`` the parameters **stay at θ** (the reference moves by a
  fixed ``1e-6 g`` without checking the condition); the shrunken step size is kept, so the next batch
  starts from it. A step that is taken always satisfies the Armijo condition.

The last batch's line search is kept in :attr:`SlsTrainer.last` (an :class:`ArmijoStep`), for tests and
diagnostics. The step size is the optimizer's whole state (``state_dict``), so a resumed cell continues
with exactly the step size it stopped at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workbench.families.training import Setup, Step, Trainer, TrainingSolver
from workbench.solvers import solvers
from workbench.validation import check_int, check_number, check_positive

#: below this gradient norm a batch is skipped (the reference code's threshold)
MIN_GRAD_NORM = 1e-8


@dataclass(frozen=True)
class ArmijoStep:
    """One batch's line search: the objective before and at the step taken, the step size, ``‖g‖²``, how
    many trial points were evaluated and whether one passed. When none passed the parameters did not move
    and ``f_after`` and ``eta`` are the last trial's; a batch skipped for its tiny gradient has
    ``trials == 0``."""

    f_before: float
    f_after: float
    eta: float
    grad_norm_sq: float
    trials: int
    accepted: bool


class SlsTrainer(Trainer):
    def __init__(self, options: Sls, model: nn.Module, setup: Setup) -> None:
        self.options = options
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.growth = options.gamma ** (1.0 / max(int(setup.steps_per_epoch), 1))
        self.step_size = float(options.init_step_size)
        self.steps = 0
        #: the last batch's line search (None before the first batch)
        self.last: ArmijoStep | None = None

    def step(self, step: Step) -> None:
        o = self.options
        eta = self.step_size * self.growth
        if o.max_step_size is not None:
            eta = min(eta, o.max_step_size)
        f0 = float(step.gradient())
        self.steps += 1
        grads = [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in self.params]
        gg = float(sum((g * g).sum() for g in grads)) if grads else 0.0
        if not math.sqrt(gg) >= MIN_GRAD_NORM:  # nothing to search along (NaN included: the loop will see it)
            self.step_size = eta
            self.last = ArmijoStep(f0, f0, eta, gg, 0, False)
            return
        start = [p.detach().clone() for p in self.params]
        accepted, f_new, trials, tried = False, math.nan, 0, eta
        with torch.no_grad():
            while trials < o.max_backtracks:
                trials, tried = trials + 1, eta
                for p, p0, g in zip(self.params, start, grads):
                    p.copy_(p0).add_(g, alpha=-eta)
                f_new = float(step.objective())  # one oracle call per trial
                if f_new <= f0 - o.c * eta * gg:
                    accepted = True
                    break
                eta *= o.beta
            if not accepted:  # no trial passed: stay where the batch found us
                for p, p0 in zip(self.params, start):
                    p.copy_(p0)
        self.step_size = eta
        self.last = ArmijoStep(f0, f_new, tried, gg, trials, accepted)

    def state_dict(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_size = float(state["step_size"])
        self.steps = int(state["steps"])

    def state_bytes(self) -> int:
        return 8  # one float: the step size


@solvers.register("sls")
@dataclass(frozen=True, kw_only=True)
class Sls(TrainingSolver):
    """SGD with a stochastic Armijo backtracking line search per minibatch (Vaswani et al., 2019)."""

    #: the step size the first batch starts its search from (grown once by ``gamma^(1/steps_per_epoch)``)
    init_step_size: float = 1.0
    #: Armijo constant: accept when ``f(θ - η g) <= f(θ) - c η ‖g‖²``
    c: float = 0.1
    #: backtracking factor: ``η ← beta η`` after a failed trial
    beta: float = 0.9
    #: growth of the step size per epoch (``gamma^(b/n)`` per batch; 1 keeps it non-increasing)
    gamma: float = 2.0
    #: cap on a trial step size (None: no cap)
    max_step_size: float | None = 10.0
    #: trials per batch, at most (each one oracle call)
    max_backtracks: int = 100

    def __post_init__(self) -> None:
        check_positive(self, "init_step_size", self.init_step_size)
        check_number(self, "c", self.c, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number(self, "beta", self.beta, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number(self, "gamma", self.gamma, low=1.0)
        check_positive(self, "max_step_size", self.max_step_size, optional=True)
        check_int(self, "max_backtracks", self.max_backtracks, 1)

    def start(self, model: nn.Module, setup: Setup) -> SlsTrainer:
        return SlsTrainer(self, model, setup)


__all__ = ["ArmijoStep", "Sls", "SlsTrainer"]
