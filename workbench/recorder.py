"""The only path from a run to storage: every evaluation becomes one Optuna trial.

A cell's Optuna study is named ``{study}/{problem}/{solver}/{seed}``. Each trial holds the decoded
parameters with their distributions, the value (or, for a failed evaluation, state FAIL and the reason in
the user attribute ``fail_reason``), and the user attributes ``step`` (0-based evaluation index) and
``elapsed`` (seconds of the cell's wall time when the evaluation finished, summed over resumes), and
``worker`` (``host:pid`` of the process that evaluated it; ``claim``, the generation of its claim, when
it took the cell over from another worker); where the family or problem has them, ``costs`` (this step's
cost on each cost axis), ``metrics`` (further scalars of the step, e.g. a test loss) and references to the
step's artifacts (see :mod:`workbench.artifacts`).
Each trial is written whole, so an interrupted process leaves no half-written evaluation: resume
continues after the last recorded step.

:class:`Store` wraps any Optuna storage and retries, with backoff, the operations that fail because the
database went away for a while (a PostgreSQL restart, a network blip).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor

from workbench.artifacts import ArtifactRef
from workbench.space import Space

log = logging.getLogger("workbench")
T = TypeVar("T")

_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@]+:)(?P<password>[^@]*)@", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with its password replaced by ``***`` (for anything shown or stored)."""
    return _PASSWORD.sub(lambda m: f"{m.group('head')}***@", url)


def default_storage_url(run_dir: str | Path, *, concurrent: bool = False) -> str:
    """The run folder's storage: the SQLite file ``optuna.db``, or, for several workers (SQLite is not
    safe for concurrent writers), Optuna's journal file ``journal.log``. A folder that already holds
    one keeps it."""
    run_dir = Path(run_dir).resolve()
    sqlite, journal = f"sqlite:///{run_dir / 'optuna.db'}", f"journal:{run_dir / 'journal.log'}"
    if (run_dir / "journal.log").exists():
        return journal
    if (run_dir / "optuna.db").exists():
        return sqlite
    return journal if concurrent else sqlite


def supports_concurrent_writers(url: str) -> bool:
    return not url.startswith("sqlite")


def open_storage(url: str) -> Any:
    """An Optuna storage from a URL: any SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``) is an
    RDB storage; ``journal:PATH`` is Optuna's journal file."""
    import optuna

    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url[len("journal:") :]))
    if url.startswith("sqlite"):
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        # a worker that stalls inside a transaction (paused VM, SIGSTOP) must not hold its row locks
        # forever: the server ends such a transaction after 30 s and the worker that takes over proceeds
        engine_kwargs["connect_args"] = {"options": "-c idle_in_transaction_session_timeout=30000"}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def _transient() -> tuple[type[BaseException], ...]:
    import optuna

    kinds: list[type[BaseException]] = [optuna.exceptions.StorageInternalError, ConnectionError, TimeoutError]
    try:
        from sqlalchemy import exc

        kinds += [exc.OperationalError, exc.InterfaceError, exc.DisconnectionError]
    except ImportError:  # pragma: no cover - sqlalchemy comes with optuna
        pass
    return tuple(kinds)


class Store:
    """An Optuna storage with the few operations the workbench uses, each retried with exponential
    backoff (0.5 s doubling to 8 s) for up to ``retry_for`` seconds when the database is unreachable."""

    def __init__(self, url: str, *, retry_for: float = 300.0) -> None:
        self.url = url
        self.retry_for = retry_for
        self._transient = _transient()
        self.storage = self.retry(self._open)

    def _open(self) -> Any:
        """Open the storage; workers opening a new database at the same instant race to create its tables,
        and the losers see 'already exists': they try again and find the tables made."""
        from sqlalchemy import exc

        for attempt in range(5):
            try:
                return open_storage(self.url)
            except (exc.ProgrammingError, exc.IntegrityError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def retry(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        delay, deadline = 0.5, time.monotonic() + self.retry_for
        while True:
            try:
                return fn(*args, **kwargs)
            except self._transient as e:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("storage %s unreachable (%s); retrying in %.1f s", redact(self.url), type(e).__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, 8.0)

    def studies(self) -> list[Any]:
        """Every Optuna study in the storage (``FrozenStudy``: name, id, user attributes)."""
        return self.retry(self.storage.get_all_studies)

    def study_id(self, name: str) -> int | None:
        try:
            return self.retry(self.storage.get_study_id_from_name, name)
        except KeyError:
            return None

    def create_study(self, name: str, direction: str = "minimize") -> int | None:
        """Create a study; None when one of that name exists (creation is atomic in every Optuna storage)."""
        import optuna

        d = optuna.study.StudyDirection.MINIMIZE if direction == "minimize" else optuna.study.StudyDirection.MAXIMIZE
        try:
            return self.retry(self.storage.create_new_study, [d], name)
        except optuna.exceptions.DuplicatedStudyError:
            return None

    def delete_study(self, study_id: int) -> None:
        try:
            self.retry(self.storage.delete_study, study_id)
        except KeyError:
            pass

    def user_attrs(self, study_id: int) -> dict[str, Any]:
        return self.retry(self.storage.get_study_user_attrs, study_id)

    def set_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self.retry(self.storage.set_study_user_attr, study_id, key, value)

    def trials(self, study_id: int) -> list[Any]:
        return self.retry(self.storage.get_all_trials, study_id, deepcopy=False)

    def add_trial(self, study_id: int, trial: Any) -> None:
        """Add a finished trial. After a lost connection the write may have landed: a retry first looks
        for the trial's ``step`` so that no evaluation is recorded twice."""
        step = trial.user_attrs["step"]
        try:
            self.storage.create_new_trial(study_id, template_trial=trial)
        except self._transient:
            def again() -> None:
                if all(t.user_attrs.get("step") != step for t in self.storage.get_all_trials(study_id, deepcopy=False)):
                    self.storage.create_new_trial(study_id, template_trial=trial)

            self.retry(again)


@dataclass
class History:
    """What a cell has recorded, in step order."""

    X: Tensor  # n x dim native rows (failed evaluations included)
    values: Tensor  # n values, NaN where the evaluation failed
    failed: Tensor  # n bools
    elapsed: Tensor  # n seconds
    reasons: list[str | None]
    #: per-step costs on each axis recorded (0 where a step recorded none)
    costs: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.values.shape[0])


def kept_trials(trials: list[Any]) -> dict[int, Any]:
    """A cell's recorded trials by step, in step order: COMPLETE or FAIL trials carrying a ``step``. Should a
    step appear twice (a worker that stalled past its grace period can, in a window of milliseconds, write
    one step its successor also writes), the first trial of the newest claim counts. Every reader of trials
    (resume, results, dashboard) goes through here."""
    by_step: dict[int, Any] = {}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state.name not in ("COMPLETE", "FAIL") or "step" not in t.user_attrs:
            continue
        step = int(t.user_attrs["step"])
        seen = by_step.get(step)
        if seen is None or int(t.user_attrs.get("claim", 0)) > int(seen.user_attrs.get("claim", 0)):
            by_step[step] = t
    return dict(sorted(by_step.items()))


def trials_to_history(trials: list[Any], space: Space) -> History:
    """Recorded trials to a :class:`History`, in step order (see :func:`kept_trials`)."""
    kept = list(kept_trials(trials).values())
    if not kept:
        empty = torch.empty(0, dtype=torch.float64)
        return History(torch.empty(0, space.dim, dtype=torch.float64), empty, empty.bool(), empty, [])
    X = space.encode([space.from_optuna_params(t.params) for t in kept])
    ok = [t.state.name == "COMPLETE" for t in kept]
    axes = sorted({a for t in kept for a in t.user_attrs.get("costs", {})})
    return History(
        X=X,
        values=torch.tensor([t.value if good else math.nan for t, good in zip(kept, ok)], dtype=torch.float64),
        failed=torch.tensor([not good for good in ok]),
        elapsed=torch.tensor([float(t.user_attrs.get("elapsed", math.nan)) for t in kept], dtype=torch.float64),
        reasons=[t.user_attrs.get("fail_reason") for t in kept],
        costs={a: torch.tensor([float(t.user_attrs.get("costs", {}).get(a, 0.0)) for t in kept], dtype=torch.float64)
               for a in axes},
    )


class Recorder:
    """Writes one cell's evaluations to its Optuna study and reads them back for resume."""

    def __init__(
        self, store: Store, name: str, *, space: Space, direction: str, attrs: dict[str, Any], worker: str = ""
    ) -> None:
        import optuna

        self._optuna = optuna
        self.store = store
        self.name = name
        self.space = space
        self.distributions = space.optuna_distributions()
        self.worker = worker
        existing = store.study_id(name)
        created = store.create_study(name, direction) if existing is None else None
        self.study_id = existing if existing is not None else created
        if self.study_id is None:  # another worker created it a moment ago
            self.study_id = store.retry(store.storage.get_study_id_from_name, name)
        present = {} if created is not None else store.user_attrs(self.study_id)
        for key, value in attrs.items():
            if present.get(key) != value:
                store.set_user_attr(self.study_id, key, value)

    def history(self) -> History:
        return trials_to_history(self.store.trials(self.study_id), self.space)

    def attrs(self) -> dict[str, Any]:
        """The cell's attributes (its Optuna study's user attributes)."""
        return self.store.user_attrs(self.study_id)

    def mark(self, key: str, value: Any) -> None:
        self.store.set_user_attr(self.study_id, key, value)

    def record(
        self, X: Tensor, values: Tensor, reasons: list[str | None], *, step: int, elapsed: float, claim: int = 0,
        costs: list[dict[str, float]] | None = None, metrics: list[dict[str, float]] | None = None,
        artifacts: list[list[ArtifactRef]] | None = None,
    ) -> None:
        """Store ``len(X)`` evaluations as trials ``step, step + 1, ...`` (``claim``: the generation of the
        worker's claim on the cell, when workers share it); ``costs``, ``metrics`` and ``artifacts`` hold one
        entry per row."""
        records = self.space.decode(X)
        for i, (record, value, reason) in enumerate(zip(records, values.tolist(), reasons)):
            attrs: dict[str, Any] = {"step": step + i, "elapsed": float(elapsed)}
            if self.worker:
                attrs["worker"] = self.worker
            if claim:
                attrs["claim"] = claim
            if costs and costs[i]:
                attrs["costs"] = costs[i]
            if metrics and metrics[i]:
                attrs["metrics"] = metrics[i]
            system = dict(ref.attr() for ref in artifacts[i]) if artifacts else {}
            if reason is None:
                state, v = self._optuna.trial.TrialState.COMPLETE, float(value)
            else:
                state, v = self._optuna.trial.TrialState.FAIL, None
                attrs["fail_reason"] = reason
            trial = self._optuna.trial.create_trial(
                state=state,
                value=v,
                params=self.space.to_optuna_params(record),
                distributions=self.distributions,
                user_attrs=attrs,
                system_attrs=system,
            )
            self.store.add_trial(self.study_id, trial)
