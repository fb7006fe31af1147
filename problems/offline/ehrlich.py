"""Ehrlich functions (Stanton et al. 2024, "Closed-Form Test Functions for Biophysical Sequence Design")
as offline tasks.

An Ehrlich function over sequences of ``length`` letters from a vocabulary of ``vocab`` states has

* a feasible set: sequences a banned-transition Markov chain (the DMP) can emit; a sequence holding a
  banned transition ``a -> b`` (a zero of the transition matrix) scores 0;
* ``motifs`` spaced motifs of ``motif_length`` letters each: motif ``i`` is present at position ``l``
  when ``x[l + s_ij] == m_ij`` for its elements ``j``, with offsets ``s_i0 = 0 < s_i1 < ...``;
* ``h_i(x)``: the largest fraction of motif ``i``'s elements present at any position, quantized down to
  a multiple of ``1 / quantization``;
* ``f(x) = prod_i h_i(x)`` on feasible sequences (with ``epistasis`` > 0 each factor is
  ``h * (1 + epistasis * h * (h - 1))``). The maximum, 1, is attained by a feasible sequence.

The instance (transition matrix, motifs, offsets) is drawn from ``seed`` in the same order as the
``pytorch-holo`` package draws it, so ``Ehrlich(seed=s)`` is holo's ``Ehrlich(random_seed=s)``; the test
suite checks the instances and the values against that package.

Offline task: a pool of ``pool`` sequences sampled from the DMP (all feasible) with a generator seeded by
``seed``; the visible set is the ``percentile`` percent of the pool with the lowest scores (an exact
share, ties broken by pool order: the values take few distinct levels, so a Design-Bench threshold
``y <= np.percentile(y, 50)`` would keep 90% of the ``ehrlich-l32`` pool); ``score_range()`` is the
function's exact range ``(0, 1)``, so a normalized score is the raw value and 1 is the optimum (a pool's
best lies far below 1 on long sequences).
"""

from __future__ import annotations

import string
from typing import Any

import torch
from torch import Tensor

from problems.offline._common import check_int, check_percentile, check_seed, lowest_share_mask, safe_rows
from workbench.errors import InvalidProblemError
from workbench.families.offline import OfflineProblem
from workbench.problem import catalog, validate_problem
from workbench.space import Sequence, Space
from workbench.validation import check_number

_LETTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits


def _alphabet(vocab: int) -> str | tuple[str, ...]:
    return _LETTERS[:vocab] if vocab <= len(_LETTERS) else tuple(f"s{i}" for i in range(vocab))


def _is_irreducible(allowed: Tensor) -> bool:
    """Every state reaches every state through allowed transitions (boolean closure by squaring)."""
    n = allowed.shape[0]
    reach = (allowed | torch.eye(n, dtype=torch.bool)).to(torch.float64)
    for _ in range(max(1, (n - 1).bit_length())):
        reach = ((reach @ reach) > 0).to(torch.float64)
    return bool((reach > 0).all())


def _stationary(transition: Tensor) -> Tensor:
    """The stationary distribution ``pi`` (``pi P = pi``, ``sum pi = 1``) by least squares, float32."""
    n = transition.shape[0]
    P = transition.to(torch.float64)
    A = torch.cat([(torch.eye(n, dtype=torch.float64) - P).T, torch.ones(1, n, dtype=torch.float64)])
    b = torch.zeros(n + 1, 1, dtype=torch.float64)
    b[-1] = 1.0
    pi = torch.linalg.lstsq(A, b).solution.reshape(-1).clamp_min(0.0)
    return (pi / pi.sum()).to(torch.float32)


def draw_instance(vocab: int, length: int, motifs: int, motif_length: int, seed: int
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """``(transition, motif letters, offsets)`` of the instance ``seed``: a ``vocab x vocab`` float32
    transition matrix with banned (zero) entries, ``motifs x motif_length`` letters and offsets."""
    g = torch.Generator().manual_seed(seed)
    dense = (torch.randn(vocab, vocab, generator=g) / 0.5).softmax(dim=-1)
    band = int(vocab * 0.4)
    i = torch.arange(vocab)
    distance = (i[None, :] - i[:, None]) % vocab
    banded = (distance <= band) | (distance >= vocab - band)  # each row: 2 * band + 1 allowed, wrapping
    allowed = banded[torch.randperm(vocab, generator=g)] | torch.eye(vocab, dtype=torch.bool)
    transition = torch.where(allowed, dense, torch.zeros_like(dense))
    transition = transition / transition.sum(dim=-1, keepdim=True)
    if not _is_irreducible(allowed):
        raise InvalidProblemError(f"Ehrlich.seed={seed} draws a transition matrix that is not ergodic; pick another seed")
    # all motifs as one chain from the stationary distribution: their concatenation is feasible
    first = torch.multinomial(_stationary(transition), 1, replacement=True, generator=g)
    chain = [int(first)]
    for _ in range(motifs * motif_length - 1):
        chain.append(int(torch.multinomial(transition[torch.tensor([chain[-1]])], 1, generator=g)))
    letters = torch.tensor(chain, dtype=torch.int64).reshape(motifs, motif_length)
    slack = (length - motifs * motif_length) // motifs
    offsets = []
    for _ in range(motifs):
        w = torch.rand(motif_length - 1, generator=g)
        gaps = 1 + (slack * (w / w.sum())).floor().to(torch.int64)
        offsets.append(torch.cat([torch.zeros(1, dtype=torch.int64), gaps.cumsum(0)]))
    return transition, letters, torch.stack(offsets)


def ehrlich_values(X: Tensor, transition: Tensor, letters: Tensor, offsets: Tensor, quantization: int,
                   epistasis: float = 0.0) -> Tensor:
    """Ehrlich values of ``n x length`` integer rows: ``n`` float64 values in [0, 1] (0 if infeasible)."""
    X = X.long()
    n, length = X.shape
    k = letters.shape[1]
    transition, letters, offsets = transition.to(X.device), letters.to(X.device), offsets.to(X.device)
    feasible = (transition[X[:, :-1], X[:, 1:]] > 0).all(dim=-1)
    value = torch.ones(n, dtype=torch.float64, device=X.device)
    for motif, offset in zip(letters, offsets):
        starts = torch.arange(length - int(offset[-1]), device=X.device)
        window = X[:, starts[:, None] + offset[None, :]]  # n x starts x k
        present = (window == motif).sum(-1).max(-1).values  # best count of elements present
        h = torch.div(present * quantization, k, rounding_mode="floor").to(torch.float64) / quantization
        value = value * h * (1.0 + epistasis * h * (h - 1.0))
    return torch.where(feasible, value, torch.zeros_like(value))


def sample_chain(transition: Tensor, initial: Tensor, length: int, n: int, generator: torch.Generator) -> Tensor:
    """``n x length`` integer rows emitted by the Markov chain (inverse-CDF draws, one column at a time)."""
    cdf = transition.to(torch.float64).cumsum(-1)
    cdf[:, -1] = 1.0
    u = torch.rand(n, length, generator=generator, dtype=torch.float64)
    init = initial.to(torch.float64).cumsum(0)
    init[-1] = 1.0
    out = torch.empty(n, length, dtype=torch.int64)
    out[:, 0] = torch.searchsorted(init, u[:, 0].contiguous(), right=True).clamp_max(len(init) - 1)
    for t in range(1, length):
        rows = cdf[out[:, t - 1]]
        out[:, t] = torch.searchsorted(rows, u[:, t, None].contiguous(), right=True).squeeze(-1).clamp_max(len(init) - 1)
    return out


class Ehrlich(OfflineProblem):
    """An Ehrlich function as an offline task (see the module docstring).

    ``length``: sequence length L; ``vocab``: number of states v; ``motifs``: number of motifs c;
    ``motif_length``: k; ``quantization``: q, a divisor of k (default k: no quantization);
    ``epistasis``: holo's epistasis factor (default 0); ``seed``: the instance and the pool;
    ``pool``: how many DMP samples make the full data; ``percentile``: the visible cut."""

    def __init__(self, length: int = 32, vocab: int = 32, motifs: int = 2, motif_length: int = 4,
                 quantization: int | None = None, *, epistasis: float = 0.0, seed: int = 0, pool: int = 10_000,
                 percentile: float = 50.0, name: str | None = None) -> None:
        owner = "Ehrlich"
        check_int(owner, "vocab", vocab, 2)
        check_int(owner, "motif_length", motif_length, 2)
        check_int(owner, "motifs", motifs, 1)
        check_int(owner, "length", length, motifs * motif_length)
        quantization = motif_length if quantization is None else quantization
        check_int(owner, "quantization", quantization, 1)
        if motif_length % quantization:
            raise InvalidProblemError(
                f"Ehrlich.quantization must divide motif_length={motif_length}, but got quantization={quantization!r}"
            )
        check_number(owner, "epistasis", epistasis, low=0, high=1, error=InvalidProblemError)
        self.seed = check_seed(owner, seed)
        self.pool = check_int(owner, "pool", pool, 2)
        self.percentile = check_percentile(owner, percentile)
        self.length, self.vocab, self.motifs, self.motif_length = length, vocab, motifs, motif_length
        self.quantization, self.epistasis = quantization, float(epistasis)
        self.name = name or f"ehrlich-v{vocab}-l{length}-c{motifs}-k{motif_length}-q{quantization}-s{seed}"
        self.space = Space(Sequence("seq", length, _alphabet(vocab)))
        self.optimum = 1.0
        self.params = {"length": length, "vocab": vocab, "motifs": motifs, "motif_length": motif_length,
                       "quantization": quantization, "epistasis": self.epistasis, "seed": self.seed,
                       "pool": self.pool, "percentile": self.percentile}
        self.transition, self.letters, self.offsets = draw_instance(vocab, length, motifs, motif_length, self.seed)
        self.stationary = _stationary(self.transition)
        self._pool: tuple[Tensor, Tensor] | None = None
        validate_problem(self, f"problem {self.name!r}")

    def values(self, X: Tensor) -> Tensor:
        """The Ehrlich values of ``n x length`` letter-index rows (no oracle guard: for tests and tools)."""
        return ehrlich_values(X, self.transition, self.letters, self.offsets, self.quantization, self.epistasis)

    def optimal_solution(self) -> Tensor:
        """A feasible sequence of value 1 (``length`` letter indices): each motif spelled out with its gaps
        filled by repeats (self-transitions are always allowed), the rest repeating the last letter."""
        out: list[int] = []
        for motif, offset in zip(self.letters.tolist(), self.offsets.tolist()):
            for j, letter in enumerate(motif):
                reach = offset[j + 1] - offset[j] if j + 1 < len(motif) else 1
                out += [letter] * reach
        out += [out[-1]] * (self.length - len(out))
        return torch.tensor(out, dtype=torch.float64)

    def full_data(self) -> tuple[Tensor, Tensor]:
        """The pool: ``pool x length`` DMP samples (float64 letter indices) and their values."""
        if self._pool is None:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + 0xE4)
            rows = sample_chain(self.transition, self.stationary, self.length, self.pool, g)
            self._pool = rows.to(torch.float64), self.values(rows)
        return self._pool

    def visible(self) -> tuple[Tensor, Tensor]:
        X, y = self.full_data()
        keep = lowest_share_mask(y, self.percentile)
        return X[keep], y[keep]

    def score(self, X: Tensor) -> Tensor:
        rows, inside = safe_rows(self.space, X)
        values = self.values(rows)
        return torch.where(inside, values, torch.full_like(values, float("nan")))

    def score_range(self) -> tuple[float, float]:
        """The function's own range: 0 (infeasible, or no motif element present) to 1 (the optimum).
        A sampled pool's maximum is far below 1 on long sequences, so normalizing by it would put the
        optimum at several times 1; with the exact range, normalized scores read as the raw values."""
        return 0.0, 1.0

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["instance"] = {"motifs": self.letters.tolist(), "offsets": self.offsets.tolist()}
        return described


@catalog.register("ehrlich-l32")
class EhrlichL32(Ehrlich):
    """Ehrlich, v = 32 states, L = 32, c = 2 motifs of k = 4, q = 4 (holo-bench's small setting)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"length": 32, "vocab": 32, "motifs": 2, "motif_length": 4, "quantization": 4,
                            "name": "ehrlich-l32", **options})


@catalog.register("ehrlich-l128")
class EhrlichL128(Ehrlich):
    """Ehrlich, v = 32 states, L = 128, c = 4 motifs of k = 4, q = 4 (the holo-bench paper's L = 128 setting)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"length": 128, "vocab": 32, "motifs": 4, "motif_length": 4, "quantization": 4,
                            "name": "ehrlich-l128", **options})
