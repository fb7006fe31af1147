"""The only path from a run to storage: every evaluation becomes one Optuna trial.

A cell's Optuna study is named ``{study}/{problem}/{solver}/{seed}``. Each trial holds the decoded
parameters with their distributions, the value (or, for a failed evaluation, state FAIL and the reason in
the user attribute ``fail_reason``), and the user attributes ``step`` (0-based evaluation index) and
``elapsed`` (seconds of the cell's wall time when the evaluation finished, summed over resumes).
Each trial is written whole, so an interrupted process leaves no half-written evaluation: resume
continues after the last recorded step.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from workbench.space import Space

log = logging.getLogger("workbench")

_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@]+:)(?P<password>[^@]*)@", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with its password replaced by ``***`` (for anything shown or stored)."""
    return _PASSWORD.sub(lambda m: f"{m.group('head')}***@", url)


def default_storage_url(run_dir: str | Path) -> str:
    return f"sqlite:///{Path(run_dir).resolve() / 'optuna.db'}"


def open_storage(url: str) -> Any:
    """An Optuna storage from a URL: any SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``) is an
    RDB storage; ``journal:PATH`` is Optuna's journal file."""
    import optuna

    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url[len("journal:") :]))
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {"pool_pre_ping": True}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


@dataclass
class History:
    """What a cell has recorded, in step order."""

    X: Tensor  # n x dim native rows (failed evaluations included)
    values: Tensor  # n values, NaN where the evaluation failed
    failed: Tensor  # n bools
    elapsed: Tensor  # n seconds
    reasons: list[str | None]

    def __len__(self) -> int:
        return int(self.values.shape[0])


def trials_to_history(trials: list[Any], space: Space) -> History:
    """Recorded trials (COMPLETE or FAIL, carrying a ``step``) to a :class:`History`, in step order."""
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    kept = sorted(
        (t for t in trials if t.state in states and "step" in t.user_attrs), key=lambda t: t.user_attrs["step"]
    )
    if not kept:
        empty = torch.empty(0, dtype=torch.float64)
        return History(torch.empty(0, space.dim, dtype=torch.float64), empty, empty.bool(), empty, [])
    X = space.encode([space.from_optuna_params(t.params) for t in kept])
    values = [t.value if t.state == optuna.trial.TrialState.COMPLETE else math.nan for t in kept]
    return History(
        X=X,
        values=torch.tensor(values, dtype=torch.float64),
        failed=torch.tensor([t.state == optuna.trial.TrialState.FAIL for t in kept]),
        elapsed=torch.tensor([float(t.user_attrs.get("elapsed", math.nan)) for t in kept], dtype=torch.float64),
        reasons=[t.user_attrs.get("fail_reason") for t in kept],
    )


class Recorder:
    """Writes one cell's evaluations to its Optuna study and reads them back for resume."""

    def __init__(self, storage: Any, name: str, *, space: Space, direction: str, attrs: dict[str, Any]) -> None:
        import optuna

        self._optuna = optuna
        self.name = name
        self.space = space
        self.distributions = space.optuna_distributions()
        self.study = optuna.create_study(storage=storage, study_name=name, direction=direction, load_if_exists=True)
        present = self.study.user_attrs
        for key, value in attrs.items():
            if present.get(key) != value:
                self.study.set_user_attr(key, value)

    def history(self) -> History:
        return trials_to_history(self.study.get_trials(deepcopy=False), self.space)

    def record(self, X: Tensor, values: Tensor, reasons: list[str | None], *, step: int, elapsed: float) -> None:
        """Store ``len(X)`` evaluations as trials ``step, step + 1, ...``."""
        trials = []
        records = self.space.decode(X)
        for i, (record, value, reason) in enumerate(zip(records, values.tolist(), reasons)):
            attrs: dict[str, Any] = {"step": step + i, "elapsed": float(elapsed)}
            if reason is None:
                state, v = self._optuna.trial.TrialState.COMPLETE, float(value)
            else:
                state, v = self._optuna.trial.TrialState.FAIL, None
                attrs["fail_reason"] = reason
            trials.append(
                self._optuna.trial.create_trial(
                    state=state,
                    value=v,
                    params=self.space.to_optuna_params(record),
                    distributions=self.distributions,
                    user_attrs=attrs,
                )
            )
        self.study.add_trials(trials)
