"""Search spaces: ordered parameters that validate themselves and encode records to tensors.

The *native encoding* of a record is one float64 row: a ``Real`` or ``Integer`` column holds the value,
a ``Categorical`` column the index of the choice, a ``Sequence`` one column per position holding the
index of the letter in the alphabet. Problems evaluate native rows; solvers see only tensors, and may
move between the native encoding and the unit cube with :meth:`Space.to_unit` / :meth:`Space.from_unit`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from workbench.errors import InvalidSpaceError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_CHOICE_TYPES = (str, int, float, bool, type(None))


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidSpaceError(
            f"{kind}.name must be a non-empty identifier-like string "
            f"(letters, digits, '_', '.', '-'), but got name={name!r}"
        )
    return name


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Real:
    """A real parameter in ``[low, high]``; ``log=True`` searches it on a log scale."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_name("Real", self.name)
        for attr in ("low", "high"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidSpaceError(f"Real {self.name!r}: {attr} must be a finite number, but got {attr}={value!r}")
        if not self.low < self.high:
            raise InvalidSpaceError(
                f"Real {self.name!r}: low < high must hold, but got (low={self.low}, high={self.high})"
            )
        if self.log and self.low <= 0:
            raise InvalidSpaceError(f"Real {self.name!r}: log=True needs low > 0, but got low={self.low}")

    @property
    def width(self) -> int:
        return 1


@dataclass(frozen=True)
class Integer:
    """An integer parameter in ``[low, high]`` (both included)."""

    name: str
    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_name("Integer", self.name)
        for attr in ("low", "high"):
            value = getattr(self, attr)
            if not _is_int(value):
                raise InvalidSpaceError(f"Integer {self.name!r}: {attr} must be an int, but got {attr}={value!r}")
        if not self.low < self.high:
            raise InvalidSpaceError(
                f"Integer {self.name!r}: low < high must hold, but got (low={self.low}, high={self.high})"
            )
        if self.log and self.low <= 0:
            raise InvalidSpaceError(f"Integer {self.name!r}: log=True needs low > 0, but got low={self.low}")

    @property
    def width(self) -> int:
        return 1


@dataclass(frozen=True)
class Categorical:
    """One of a fixed tuple of choices (str, int, float, bool or None)."""

    name: str
    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        _check_name("Categorical", self.name)
        if isinstance(self.choices, str) or not isinstance(self.choices, Iterable):
            raise InvalidSpaceError(
                f"Categorical {self.name!r}: choices must be a list or tuple, but got {self.choices!r}"
            )
        choices = tuple(self.choices)
        object.__setattr__(self, "choices", choices)
        if not choices:
            raise InvalidSpaceError(f"Categorical {self.name!r}: choices must not be empty")
        for c in choices:
            if not isinstance(c, _CHOICE_TYPES):
                raise InvalidSpaceError(
                    f"Categorical {self.name!r}: each choice must be str, int, float, bool or None, but got {c!r}"
                )
        if len(set(map(repr, choices))) != len(choices):
            raise InvalidSpaceError(f"Categorical {self.name!r}: choices must be unique, but got {choices!r}")

    @property
    def width(self) -> int:
        return 1


@dataclass(frozen=True)
class Sequence:
    """A sequence of ``length`` letters from ``alphabet`` (a string of single letters, or a tuple)."""

    name: str
    length: int
    alphabet: tuple[str, ...] = field()

    def __post_init__(self) -> None:
        _check_name("Sequence", self.name)
        if not _is_int(self.length) or self.length < 1:
            raise InvalidSpaceError(f"Sequence {self.name!r}: length must be an int >= 1, but got length={self.length!r}")
        alphabet = tuple(self.alphabet) if isinstance(self.alphabet, (str, list, tuple)) else None
        if not alphabet:
            raise InvalidSpaceError(
                f"Sequence {self.name!r}: alphabet must be a non-empty string or tuple, but got {self.alphabet!r}"
            )
        if any(not isinstance(a, str) or not a for a in alphabet):
            raise InvalidSpaceError(f"Sequence {self.name!r}: every letter of alphabet must be a non-empty str")
        if len(set(alphabet)) != len(alphabet):
            raise InvalidSpaceError(f"Sequence {self.name!r}: alphabet letters must be unique, but got {alphabet!r}")
        object.__setattr__(self, "alphabet", alphabet)

    @property
    def width(self) -> int:
        return self.length

    @property
    def joins_to_str(self) -> bool:
        """Records hold a ``str`` when every letter is one character, else a tuple of letters."""
        return all(len(a) == 1 for a in self.alphabet)


Parameter = Real | Integer | Categorical | Sequence


class Space:
    """An ordered, validated collection of parameters.

    ``dim`` is the width of the native encoding (a ``Sequence`` takes ``length`` columns).
    """

    def __init__(self, *parameters: Parameter, _empty: bool = False) -> None:
        if len(parameters) == 1 and isinstance(parameters[0], (list, tuple)):
            parameters = tuple(parameters[0])
        if not parameters and not _empty:
            raise InvalidSpaceError("Space needs at least one parameter, but got none")
        for i, p in enumerate(parameters):
            if not isinstance(p, (Real, Integer, Categorical, Sequence)):
                raise InvalidSpaceError(
                    f"Space parameter {i} must be Real, Integer, Categorical or Sequence, but got {p!r}"
                )
        names = [p.name for p in parameters]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidSpaceError(f"Space parameter names must be unique, but got duplicates {dupes}")
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        lows, highs, kinds = [], [], []
        for p in self.parameters:
            if isinstance(p, Real):
                lows.append(float(p.low)), highs.append(float(p.high)), kinds.append("real")
            elif isinstance(p, Integer):
                lows.append(float(p.low)), highs.append(float(p.high)), kinds.append("integer")
            elif isinstance(p, Categorical):
                lows.append(0.0), highs.append(float(len(p.choices) - 1)), kinds.append("categorical")
            else:
                lows += [0.0] * p.length
                highs += [float(len(p.alphabet) - 1)] * p.length
                kinds += ["categorical"] * p.length
        self._low = torch.tensor(lows, dtype=torch.float64)
        self._high = torch.tensor(highs, dtype=torch.float64)
        #: per native column: "real", "integer" or "categorical"
        self.column_kinds: tuple[str, ...] = tuple(kinds)
        self._log = torch.tensor(
            [bool(getattr(p, "log", False)) for p in self.parameters for _ in range(p.width)], dtype=torch.bool
        )
        self._discrete = torch.tensor([k != "real" for k in kinds], dtype=torch.bool)

    @classmethod
    def empty(cls) -> Space:
        """The space of no parameters, for families whose steps are not points (a training epoch, say):
        every record is ``{}``, every native row has zero columns."""
        return cls(_empty=True)

    @classmethod
    def of(cls, value: object, field: str = "space") -> Space:
        """``value`` as a Space: a Space as it is, a list or tuple of parameters as ``Space(*value)``; anything
        else raises :class:`InvalidSpaceError` naming ``field`` (e.g. ``"problem 'f'.space"``)."""
        if isinstance(value, Space):
            return value
        if isinstance(value, (list, tuple)):
            try:
                return cls(*value)
            except InvalidSpaceError as e:
                raise InvalidSpaceError(f"{field}: {e}") from None
        raise InvalidSpaceError(
            f"{field} must be a Space or a list of parameters (Real, Integer, Categorical, Sequence), "
            f"but got {value!r}"
        )

    # ------------------------------------------------------------------ description
    @property
    def dim(self) -> int:
        return len(self.column_kinds)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def is_continuous(self) -> bool:
        return all(k == "real" for k in self.column_kinds)

    @property
    def bounds(self) -> Tensor:
        """``2 x dim`` float64 tensor of native lower and upper bounds."""
        return torch.stack([self._low, self._high])

    def __repr__(self) -> str:
        return f"Space({', '.join(map(repr, self.parameters))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.parameters == other.parameters

    def __hash__(self) -> int:
        return hash(self.parameters)

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for p in self.parameters:
            d = {"type": type(p).__name__, **{k: getattr(p, k) for k in p.__dataclass_fields__}}
            out.append({k: list(v) if isinstance(v, tuple) else v for k, v in d.items()})
        return out

    @classmethod
    def from_description(cls, described: list[dict[str, Any]]) -> Space:
        """The space that :meth:`describe` described (as stored with results)."""
        kinds = {"Real": Real, "Integer": Integer, "Categorical": Categorical, "Sequence": Sequence}
        if not described:
            return cls.empty()
        return cls(*(kinds[d["type"]](**{k: v for k, v in d.items() if k != "type"}) for d in described))

    # ------------------------------------------------------------------ unit cube
    def _fit(self, X: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        dev, dt = X.device, X.dtype
        return self._low.to(dev, dt), self._high.to(dev, dt), self._log.to(dev), self._discrete.to(dev)

    def to_unit(self, X: Tensor) -> Tensor:
        """Map native ``n x dim`` rows into the unit cube (log scale where declared; a discrete
        value sits at the centre of its cell)."""
        low, high, log, discrete = self._fit(X)
        lo = torch.where(log, low.clamp_min(1e-300).log(), low)
        hi = torch.where(log, high.clamp_min(1e-300).log(), high)
        v = torch.where(log, X.clamp_min(1e-300).log(), X)
        cont = (v - lo) / (hi - lo)
        # discrete: n = high - low + 1 equal cells; value k sits at (k - low + 0.5) / n
        n_cells = high - low + 1
        disc = (X - low + 0.5) / n_cells
        if log.any():  # log-scaled integers: cells equal in log space, centre at the value itself
            disc = torch.where(log & discrete, (v - lo) / (hi - lo), disc)
        return torch.where(discrete, disc, cont)

    def from_unit(self, U: Tensor) -> Tensor:
        """Map unit-cube ``n x dim`` rows to native rows: rescale, round discrete columns, clamp."""
        low, high, log, discrete = self._fit(U)
        U = U.clamp(0.0, 1.0)
        lo = torch.where(log, low.clamp_min(1e-300).log(), low)
        hi = torch.where(log, high.clamp_min(1e-300).log(), high)
        v = lo + U * (hi - lo)
        cont = torch.where(log, v.exp(), v)
        disc = torch.floor(low + U * (high - low + 1))
        if log.any():
            disc = torch.where(log & discrete, torch.round(cont), disc)
        X = torch.where(discrete, disc, cont)
        return torch.minimum(torch.maximum(X, low), high)

    def sample(self, n: int, seed: int, *, device: torch.device | str = "cpu") -> Tensor:
        """``n x dim`` native rows from a scrambled Sobol sequence seeded by ``seed``."""
        engine = torch.quasirandom.SobolEngine(self.dim, scramble=True, seed=seed)
        return self.from_unit(engine.draw(n, dtype=torch.float64)).to(device)

    def contains(self, X: Tensor) -> Tensor:
        """Boolean mask over the rows of ``X`` that are finite, inside the bounds, and whole where discrete."""
        if X.ndim != 2 or X.shape[-1] != self.dim:
            return torch.zeros(X.shape[0] if X.ndim else 1, dtype=torch.bool, device=X.device)
        low, high, _, discrete = self._fit(X)
        ok = torch.isfinite(X) & (X >= low) & (X <= high)
        ok &= ~discrete | (X == torch.round(X))
        return ok.all(dim=-1)

    # ------------------------------------------------------------------ records
    def decode(self, X: Tensor) -> list[dict[str, Any]]:
        """Native rows to records (dicts from parameter name to value)."""
        rows = X.detach().to("cpu", torch.float64).tolist()
        records = []
        for row in rows:
            record: dict[str, Any] = {}
            j = 0
            for p in self.parameters:
                if isinstance(p, Real):
                    record[p.name] = float(row[j])
                elif isinstance(p, Integer):
                    record[p.name] = int(round(row[j]))
                elif isinstance(p, Categorical):
                    record[p.name] = p.choices[int(round(row[j]))]
                else:
                    letters = tuple(p.alphabet[int(round(v))] for v in row[j : j + p.length])
                    record[p.name] = "".join(letters) if p.joins_to_str else letters
                j += p.width
            records.append(record)
        return records

    def encode(self, records: Iterable[Mapping[str, Any]]) -> Tensor:
        """Records to native float64 rows; a missing or invalid value raises, naming the parameter."""
        rows = []
        for record in records:
            row: list[float] = []
            for p in self.parameters:
                if p.name not in record:
                    raise InvalidSpaceError(f"record has no value for parameter {p.name!r}: {dict(record)!r}")
                value = record[p.name]
                if isinstance(p, (Real, Integer)):
                    row.append(float(value))
                elif isinstance(p, Categorical):
                    row.append(float(_index(p.choices, value, p.name)))
                else:
                    letters = tuple(value)
                    if len(letters) != p.length:
                        raise InvalidSpaceError(
                            f"Sequence {p.name!r}: length {p.length} expected, but got {len(letters)} in {value!r}"
                        )
                    row += [float(_index(p.alphabet, a, p.name)) for a in letters]
            rows.append(row)
        return torch.tensor(rows, dtype=torch.float64).reshape(len(rows), self.dim)

    # ------------------------------------------------------------------ Optuna
    def optuna_distributions(self) -> dict[str, Any]:
        """Optuna distributions, one per parameter (one per position for a ``Sequence``: ``name[i]``)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out: dict[str, Any] = {}
        for p in self.parameters:
            if isinstance(p, Real):
                out[p.name] = FloatDistribution(float(p.low), float(p.high), log=p.log)
            elif isinstance(p, Integer):
                out[p.name] = IntDistribution(p.low, p.high, log=p.log)
            elif isinstance(p, Categorical):
                out[p.name] = CategoricalDistribution(p.choices)
            else:
                for i in range(p.length):
                    out[f"{p.name}[{i}]"] = CategoricalDistribution(p.alphabet)
        return out

    def to_optuna_params(self, record: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.parameters:
            if isinstance(p, Sequence):
                out.update({f"{p.name}[{i}]": a for i, a in enumerate(tuple(record[p.name]))})
            else:
                out[p.name] = record[p.name]
        return out

    def from_optuna_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for p in self.parameters:
            if isinstance(p, Sequence):
                letters = tuple(params[f"{p.name}[{i}]"] for i in range(p.length))
                record[p.name] = "".join(letters) if p.joins_to_str else letters
            else:
                record[p.name] = params[p.name]
        return record


def _index(options: tuple[Any, ...], value: Any, name: str) -> int:
    for i, o in enumerate(options):
        if o == value and type(o) is type(value) or (o is None and value is None):
            return i
    for i, o in enumerate(options):  # 1 == 1.0 and similar: accept equal values of another type
        if o == value:
            return i
    raise InvalidSpaceError(f"parameter {name!r}: {value!r} is not one of {options!r}")
