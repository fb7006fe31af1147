"""``lbfgs``: full-batch L-BFGS with a strong-Wolfe line search — the family's reference
(:mod:`workbench.families.training.reference`) as a solver, its every evaluation counted.

The solver is ``full_batch``: the loop hands it the whole training set as the one batch of each epoch,
and each epoch runs ``max_iter`` L-BFGS iterations (default **one**, so the recorded curve has one point
per iteration) of ``torch.optim.LBFGS``. Every evaluation the optimizer asks for — the one it starts each
``step`` with and each trial point of its line search — is one :meth:`Step.gradient` on the whole
training set: one oracle call and two model passes.

Defaults follow the reference solve: ``lr = 1`` (the first trial step of each line search),
``history_size = 50`` curvature pairs, ``line_search = "strong_wolfe"`` (PyTorch's, conditions
``c1 = 1e-4``, ``c2 = 0.9``, at most ``max_ls = 25`` trial points per iteration), ``tolerance_grad = 1e-10``
(no step once the gradient's largest entry is below it) and ``tolerance_change = 0``.

Costs to know about:

* ``torch.optim.LBFGS.step`` starts by evaluating the objective at the current point, which the previous
  epoch's line search had already evaluated; with one iteration per epoch that repeats one full-batch
  evaluation per epoch (raise ``max_iter`` to spread it over more iterations);
* PyTorch caps the line search by ``max_eval`` evaluations per ``step`` (default ``1.25 max_iter``, which
  for one iteration would allow no backtracking at all); here ``max_eval = 1 + max_iter * max_ls``, so each
  iteration gets its full line search;
* once converged (gradient below ``tolerance_grad``) an epoch costs that one evaluation and moves nothing;
* an oracle call on the full batch counts as one call, like a minibatch's: compare full-batch and minibatch
  methods on ``oracle_examples`` (the examples the calls covered) or wall time; the loop charges one epoch
  per ``step`` although the step passes over the data at least twice.

On logreg-breast-cancer (seed 0) one iteration per epoch reaches ``F - f* <= 1e-6`` after 48 epochs with
50 curvature pairs, and after 64 with 10.

``line_search=None`` takes fixed steps of ``lr`` along the L-BFGS direction (PyTorch then evaluates once
per iteration after the first). The state (``state_dict``) is the torch optimizer's: the curvature pairs,
the last direction and step, and the iteration count, so a resumed cell continues exactly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from workbench.families.training import FixedData, Setup, Step, Trainer, TrainingSolver, tensor_bytes
from workbench.solvers import solvers
from workbench.validation import check_choice, check_int, check_number, check_positive

LINE_SEARCHES = ("strong_wolfe", None)


class LbfgsTrainer(Trainer):
    def __init__(self, optimizer: torch.optim.LBFGS) -> None:
        self.optimizer = optimizer

    def step(self, step: Step) -> None:
        self.optimizer.step(step.gradient)  # each evaluation: one oracle call on the whole training set

    def state_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.optimizer.state_dict())  # LBFGS updates some of its tensors in place

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(copy.deepcopy(state))

    def state_bytes(self) -> int:
        return tensor_bytes(self.optimizer.state.values())


@solvers.register("lbfgs")
@dataclass(frozen=True, kw_only=True)
class Lbfgs(TrainingSolver):
    """Full-batch L-BFGS with a strong-Wolfe line search, ``max_iter`` iterations per epoch."""

    full_batch: ClassVar[bool] = True
    requires: ClassVar[tuple[type, ...]] = (FixedData,)

    lr: float = 1.0
    history_size: int = 50
    line_search: str | None = "strong_wolfe"
    #: L-BFGS iterations per epoch
    max_iter: int = 1
    #: line-search trial points per iteration (a step may spend ``1 + max_iter * max_ls`` evaluations)
    max_ls: int = 25
    tolerance_grad: float = 1e-10
    tolerance_change: float = 0.0

    def __post_init__(self) -> None:
        check_positive(self, "lr", self.lr)
        check_int(self, "history_size", self.history_size, 1)
        check_choice(self, "line_search", self.line_search, LINE_SEARCHES)
        check_int(self, "max_iter", self.max_iter, 1)
        check_int(self, "max_ls", self.max_ls, 1)
        check_number(self, "tolerance_grad", self.tolerance_grad, low=0.0)
        check_number(self, "tolerance_change", self.tolerance_change, low=0.0)

    def start(self, model: nn.Module, setup: Setup) -> LbfgsTrainer:
        params = [p for p in model.parameters() if p.requires_grad]
        return LbfgsTrainer(torch.optim.LBFGS(
            params, lr=self.lr, max_iter=self.max_iter, max_eval=1 + self.max_iter * self.max_ls,
            history_size=self.history_size, tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change, line_search_fn=self.line_search))


__all__ = ["Lbfgs", "LbfgsTrainer"]
