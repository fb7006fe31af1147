"""Search in sequence space on a learned surrogate: ``local-search`` (steepest ascent over single-letter
edits) and ``mbga`` (a model-based genetic algorithm), for spaces whose every column is a letter or a choice
(``Sequence`` and ``Categorical`` parameters: TFBind8, Ehrlich functions).

Both score designs with the ensemble of :class:`~workbench.solvers.offline.base.SurrogateSolver` (5 MLPs on
:class:`NetEncoding` features by default, their mean plus ``kappa`` times their standard deviation) and move
letter by letter, so a proposal differs from the visible designs exactly where the search changed it — unlike
gradient steps on the logits, which on Ehrlich-32 never flip an argmax (docs/offline.md).

**Learned feasibility** (``feasibility="learned"``, the default): many sequence tasks forbid some letters next
to others (an Ehrlich function scores a sequence with a banned transition 0). The search reads the allowed
transitions off the visible data — every pair of adjacent letters seen in a visible sequence is allowed, every
unseen pair is not — and never writes an unseen pair. That is a model of the feasible set learned from the
data alone (the oracle stays hidden); it errs on the safe side: a pair that is allowed but never seen is
avoided. It takes every visible sequence for a feasible one, as the tasks here are (their visible rows are
samples of the Ehrlich transition model, or every 8-mer for TFBind8); a data set that also holds infeasible
sequences would teach their pairs as allowed. ``feasibility="none"`` lets every letter go anywhere
(holo-bench's GA does so).

Scoring every single-letter edit of a design would cost a forward pass per edit; the first layer of the MLPs is
linear in the features and an edit changes one column's block of them, so each edit's first-layer
pre-activation is the design's plus a precomputed difference (:class:`EditScorer`), and only the layers above
the first are evaluated per edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from workbench.errors import InvalidConfigError
from workbench.families.offline import OfflineData, generator
from workbench.problem import Problem
from workbench.solver import CellContext
from workbench.solvers import solvers
from workbench.solvers.offline.base import Fitted, SurrogateSolver, best_rows, ensemble, letters_only
from workbench.solvers.offline.encoding import options
from workbench.solvers.offline.surrogate import SurrogateConfig
from workbench.space import Sequence, Space
from workbench.validation import check_choice, check_int, check_number

FEASIBILITY = ("learned", "none")


NEEDS = "a space of Sequence and Categorical parameters only (it has real or integer columns)"


class Transitions:
    """Which letters may stand next to which, per ``Sequence`` parameter of ``space``: the adjacent pairs seen in
    the rows ``X`` (``learned=True``), or every pair. Columns of ``Categorical`` parameters are free."""

    def __init__(self, space: Space, X: Tensor, *, learned: bool = True) -> None:
        self.sizes = options(space)
        self.dim = space.dim
        #: per Sequence parameter: (first column, length, allowed V x V boolean table)
        self.blocks: list[tuple[int, int, Tensor]] = []
        col = 0
        X = X.long()
        for p in space.parameters:
            if isinstance(p, Sequence) and p.length > 1:
                V = len(p.alphabet)
                table = torch.ones(V, V, dtype=torch.bool)
                if learned:
                    table = torch.zeros(V, V, dtype=torch.bool)
                    seq = X[:, col : col + p.length]
                    table[seq[:, :-1].reshape(-1), seq[:, 1:].reshape(-1)] = True
                self.blocks.append((col, p.length, table))
            col += p.width
        # per column: the Sequence block it belongs to (-1: a free column)
        self._block = torch.full((self.dim,), -1, dtype=torch.long)
        for b, (start, length, _) in enumerate(self.blocks):
            self._block[start : start + length] = b

    def feasible(self, X: Tensor) -> Tensor:
        """``n`` booleans: every adjacent pair of every sequence of the rows ``X`` (``n x dim``) is allowed."""
        X = X.long()
        ok = torch.ones(X.shape[0], dtype=torch.bool, device=X.device)
        for start, length, table in self.blocks:
            seq = X[:, start : start + length]
            ok &= table.to(X.device)[seq[:, :-1], seq[:, 1:]].all(1)
        return ok

    def allowed_at(self, X: Tensor, col: int) -> Tensor:
        """``n x Vmax`` booleans: letter ``v`` may be written at column ``col`` of row ``i`` of ``X``."""
        X = X.long()
        vmax = int(self.sizes.max())
        ok = (torch.arange(vmax) < self.sizes[col]).expand(X.shape[0], -1).clone()
        b = int(self._block[col])
        if b >= 0:
            start, length, table = self.blocks[b]
            V = table.shape[0]
            if col > start:
                ok[:, :V] &= table[X[:, col - 1]]
            if col < start + length - 1:
                ok[:, :V] &= table[:, X[:, col + 1]].T
        return ok

    def letters_allowed(self, X: Tensor) -> Tensor:
        """``n x dim x Vmax`` booleans: letter ``v`` may be written at column ``j`` of row ``i`` of ``X`` (it is one
        of the column's options and agrees with both neighbours)."""
        X = X.long()
        n, vmax = X.shape[0], int(self.sizes.max())
        ok = (torch.arange(vmax)[None, :] < self.sizes[:, None]).expand(n, -1, -1).clone()
        for start, length, table in self.blocks:
            seq = X[:, start : start + length]
            block = ok[:, start : start + length, : table.shape[0]]
            V = table.shape[0]
            block[:, 1:, :] &= table[seq[:, :-1]]  # (left letter -> v) allowed: n x (L-1) x V
            block[:, :-1, :] &= table[:, seq[:, 1:]].permute(1, 2, 0).reshape(n, length - 1, V)  # (v -> right letter)
        return ok


class EditScorer:
    """The surrogate's score of every single-letter edit of given designs, from the first layer's linearity.

    ``score(rows)`` -> ``n x dim x Vmax`` acquisition values (``-inf`` where the letter is not an option);
    ``values(rows)`` -> ``n`` acquisition values of the rows themselves."""

    def __init__(self, fitted: Fitted, kappa: float = 0.0, *, chunk: int = 5 * 256 << 14) -> None:
        enc, net = fitted.enc, fitted.net
        space = enc.space
        if not letters_only(space):
            raise InvalidConfigError(f"EditScorer needs {NEEDS}")
        #: ``chunk``: how many first-layer pre-activations (members x edits x width) one piece holds
        self.fitted, self.kappa, self.chunk = fitted, float(kappa), int(chunk)
        self.sizes = options(space)
        self.vmax = int(self.sizes.max())
        W = net.params[0]  # S x d x H
        device = W.device
        S, _, H = W.shape
        C = space.dim
        feature_col = torch.empty(enc.dim, dtype=torch.long)
        for j, c, V in enc.blocks:
            feature_col[c : c + V - 1] = j
        feature_col = feature_col.to(device)
        #: D[s, j, v] = the first-layer pre-activation that letter v at column j adds (member s)
        self.D = torch.zeros(S, C, self.vmax, H, device=device)
        for v in range(self.vmax):
            row = torch.minimum(torch.full((1, C), float(v), dtype=torch.float64), (self.sizes - 1).double()[None])
            F = enc.encode(row, device=device)[0]  # d
            contrib = torch.zeros(S, C, H, device=device).index_add_(1, feature_col, F[None, :, None] * W)
            self.D[:, :, v] = contrib
        self.valid = (torch.arange(self.vmax)[None, :] < self.sizes[:, None]).to(device)  # C x Vmax

    def _acquire(self, predictions: Tensor) -> Tensor:
        """Members' predictions ``S x N`` -> the aggregated prediction, or mean + kappa * std when kappa != 0."""
        if predictions.shape[0] == 1 or self.kappa == 0.0:
            return predictions.mean(0) if self.fitted.aggregation == "mean" else predictions.min(0).values
        return predictions.mean(0) + self.kappa * predictions.std(0)

    def values(self, rows: Tensor) -> Tensor:
        """Acquisition values of native rows (``n x dim``)."""
        device = self.D.device
        per = max(1, self.chunk // (8 * self.D.shape[0] * self.D.shape[3]))
        out = [self._acquire(self.fitted.net(self.fitted.enc.encode(r.double(), device=device)))
               for r in rows.split(per)]
        return torch.cat(out).cpu()

    def score(self, rows: Tensor) -> Tensor:
        """Acquisition values of every single-letter edit of the rows: ``n x dim x Vmax`` (``-inf`` off-space)."""
        device, net = self.D.device, self.fitted.net
        rows = rows.long().to(device)
        n, C = rows.shape
        S, _, V, H = self.D.shape
        base = net.first(self.fitted.enc.encode(rows.double(), device=device))  # S x n x H
        own = self.D[:, torch.arange(C, device=device)[None, :], rows]  # S x n x C x H
        out = torch.empty(n, C, V, device=device)
        per = max(1, self.chunk // (C * V * S * H))
        for i in range(0, n, per):
            j = slice(i, i + per)
            m = base[:, j].shape[1]
            pre = base[:, j, None, None, :] - own[:, j, :, None, :] + self.D[:, None]  # S x m x C x V x H
            out[j] = self._acquire(net.rest(pre.reshape(S, m * C * V, H))).reshape(m, C, V)
        return out.masked_fill(~self.valid[None], float("-inf")).cpu()


@dataclass(frozen=True, kw_only=True)
class _SequenceSearch(SurrogateSolver):
    """Options shared by the sequence-space searches."""

    surrogate: SurrogateConfig = field(default_factory=ensemble)
    #: acquisition = ensemble mean + kappa * ensemble standard deviation (0: the ``aggregation``; < 0: pessimistic)
    kappa: float = 0.0
    #: "learned" (write only adjacent letters seen in the visible data) or "none"
    feasibility: str = "learned"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(self, "kappa", self.kappa)
        if self.kappa != 0.0 and (self.surrogate.members < 2 or self.aggregation != "mean"):
            raise InvalidConfigError(
                f"{type(self).__name__}.kappa must be 0 unless the surrogate is an ensemble (members >= 2) aggregated "
                f"by its mean, but got kappa={self.kappa!r} with members={self.surrogate.members}, "
                f"aggregation={self.aggregation!r}")
        check_choice(self, "feasibility", self.feasibility, FEASIBILITY)

    def missing(self, problem: Problem) -> list[str]:
        space = getattr(problem, "space", None)
        return super().missing(problem) + ([] if space is None or letters_only(space) else [NEEDS])

    def prepare(self, data: OfflineData, cell: CellContext) -> tuple[Fitted, EditScorer, Transitions]:
        if not letters_only(data.space):
            raise InvalidConfigError(f"{self.label!r} searches letters and choices: it needs {NEEDS}")
        fitted = self.fit(data, cell)
        return fitted, EditScorer(fitted, self.kappa), Transitions(data.space, data.X,
                                                                  learned=self.feasibility == "learned")


@solvers.register("local-search")
@dataclass(frozen=True, kw_only=True)
class LocalSearch(_SequenceSearch):
    """Steepest ascent over single-letter edits, one chain from each of the ``k`` best visible designs: each
    round every allowed edit of every chain is scored and each chain takes its best one if it raises the
    acquisition, for at most ``edits`` rounds (so a proposal is at most ``edits`` letters from its start). As
    with gradient ascent from the best designs, proposals are not made distinct: two chains may meet, and a
    chain with no improving edit proposes its start."""

    #: at most this many edits per chain
    edits: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "edits", self.edits, 0)

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        fitted, scorer, moves = self.prepare(data, cell)
        rows = best_rows(data, k).long()
        value = scorer.values(rows)
        for _ in range(self.edits):
            scores = scorer.score(rows)
            scores = scores.masked_fill(~moves.letters_allowed(rows), float("-inf"))
            best, flat = scores.reshape(k, -1).max(1)
            better = best > value + 1e-6
            if not bool(better.any()):
                break
            col, letter = flat // scores.shape[2], flat % scores.shape[2]
            idx = better.nonzero().squeeze(1)
            rows[idx, col[idx]] = letter[idx]
            value = torch.where(better, best, value)
        return rows.to(torch.float64)


@solvers.register("mbga")
@dataclass(frozen=True, kw_only=True)
class ModelBasedGA(_SequenceSearch):
    """A genetic algorithm on the surrogate (holo-bench's ``DiscreteEvolution`` run on the acquisition, as
    LaMBO's model-based genetic baseline runs its GA): a population of ``particles`` starting from the best
    visible designs; each generation keeps the ``survival`` share with the highest acquisition, refills the
    rest with children of two survivors (each letter from the first parent with probability ``recombine``,
    else from the second) and mutates every particle (each letter redrawn with probability ``mutation``,
    among the letters the learned transitions allow there). Proposals: the ``k`` distinct designs with the
    highest acquisition seen over all ``generations`` that are not visible designs.

    Differences from holo-bench's GA, which queries the function itself: the population starts from the best
    visible designs (holo: copies of one sample of the transition model); exactly the top ``survival`` share
    survives (holo also keeps ties at the cut); a mutation draws among the allowed letters (holo: any letter).
    The sizes follow the model-based use rather than holo's paper runs (10^6 particles, survival 10^-4, up to 512
    generations, on the true function): 1,000 particles and survival 0.1 as the LLOME pipeline's GA, 32
    generations as LaMBO's model-based GA."""

    #: population size
    particles: int = 1000
    #: generations
    generations: int = 32
    #: share of the population that survives each generation (truncation selection)
    survival: float = 0.1
    #: per-letter mutation probability (None: 1.1 / number of columns, holo-bench's scripts)
    mutation: float | None = None
    #: per-letter probability of taking the first parent's letter (None: 1.1 / number of columns)
    recombine: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "particles", self.particles, 2)
        check_int(self, "generations", self.generations, 1)
        check_number(self, "survival", self.survival, low=0, high=1, low_open=True, high_open=True)
        check_number(self, "mutation", self.mutation, low=0, high=1, low_open=True, optional=True)
        check_number(self, "recombine", self.recombine, low=0, high=1, optional=True)

    def propose(self, data: OfflineData, k: int, cell: CellContext) -> Tensor:
        fitted, scorer, moves = self.prepare(data, cell)
        g = generator(cell, salt=2)
        n, C = self.particles, data.space.dim
        p_mut = self.mutation if self.mutation is not None else min(1.0, 1.1 / C)
        p_rec = self.recombine if self.recombine is not None else min(1.0, 1.1 / C)
        keep = max(2, int(round(self.survival * n)))
        pop = best_rows(data, n).long()
        seen: dict[tuple[int, ...], float] = {}
        visible = {tuple(r) for r in data.X.long().tolist()}

        def remember(pop: Tensor) -> Tensor:  # the novel designs and their best acquisition; returns it
            value = scorer.values(pop)
            for row, v in zip(map(tuple, pop.tolist()), value.tolist()):
                if row not in visible and v > seen.get(row, float("-inf")):
                    seen[row] = v
            return value

        for _ in range(self.generations):
            value = remember(pop)
            survivors = pop[torch.argsort(value, descending=True)[:keep]]
            a = survivors[torch.randint(keep, (n - keep,), generator=g)]
            b = survivors[torch.randint(keep, (n - keep,), generator=g)]
            children = torch.where(torch.rand(n - keep, C, generator=g) < p_rec, a, b)
            if self.feasibility == "learned":  # a child with an unseen junction keeps its second parent
                children = torch.where(moves.feasible(children)[:, None], children, b)
            pop = self._mutate(torch.cat([survivors, children]), p_mut, moves, g)
        remember(pop)
        best = sorted(seen.items(), key=lambda kv: -kv[1])[:k]
        rows = [torch.tensor(row, dtype=torch.float64) for row, _ in best]
        if len(rows) < k:  # fewer novel designs than asked for: the best visible ones fill the batch
            rows += list(best_rows(data, k - len(rows)).to(torch.float64))
        return torch.stack(rows)

    @staticmethod
    def _mutate(pop: Tensor, p: float, moves: Transitions, g: torch.Generator) -> Tensor:
        """Redraw each letter with probability ``p``, uniformly among the letters allowed there (one column at a
        time from left to right, so a redrawn letter agrees with its already-redrawn left neighbour)."""
        hit = torch.rand(pop.shape, generator=g) < p
        if not bool(hit.any()):
            return pop
        pop = pop.clone()
        for col in hit.any(0).nonzero().squeeze(1).tolist():
            rows = hit[:, col].nonzero().squeeze(1)
            allowed = moves.allowed_at(pop[rows], col).to(torch.float64)
            allowed[allowed.sum(1) == 0, pop[rows[allowed.sum(1) == 0], col]] = 1.0  # nothing fits: keep it
            pop[rows, col] = torch.multinomial(allowed, 1, generator=g).squeeze(1)
        return pop
