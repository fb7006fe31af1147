"""A study's storage as the dashboard reads it: the run folder's Optuna storage, opened read-only, and the
workbench cells among its Optuna studies. The runner writes ``results.nc`` only now and then, while every
step reaches the storage as it finishes; :func:`workbench.browse.folders.read_study` turns these cells
into a Dataset with the one results builder (:func:`workbench.results.build`), so a live view has the same
variables as ``results.nc`` and is never older than the last step.

The storage is opened read-only; the dashboard never writes to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.budget import FINISHED, Budget, finished
from workbench.cell import NOTES

STORAGE_FILES = ("optuna.db", "journal.log")


@dataclass(frozen=True)
class StorageCell:
    """One cell's Optuna study, as the storage lists it (one query for all of them)."""

    key: str
    study_id: int
    study: str
    problem: str
    solver: str
    seed: int
    budget: Budget | None
    finished: bool
    error: str = ""
    #: the budget the cell was last finished under (None: never finished)
    mark: Budget | None = None
    #: what the cell carries about its study and problem (:func:`workbench.results.cell_meta`)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: what its solver put on record (:attr:`workbench.solver.CellContext.notes`), once finished
    notes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def finished_under(self, budget: Budget) -> bool:
        """Finished under ``budget`` (a cell finished under a smaller one has more to run)."""
        return self.mark is not None and self.mark.covers(budget)


def open_readonly(path: Path) -> Any:
    """An Optuna storage over a run folder's ``optuna.db`` (opened read-only) or ``journal.log``."""
    import optuna

    if path.name == "journal.log":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 10}},
                                      skip_compatibility_check=True, skip_table_creation=True)


def _meta(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The workbench's attributes of a cell's Optuna study (``{"workbench": {...}}``)."""
    meta = attrs.get("workbench")
    return meta if isinstance(meta, dict) else None


def storage_cells(frozen_studies: list[Any]) -> list[StorageCell]:
    """The workbench cells among a storage's Optuna studies (``storage.get_all_studies()``), in creation
    order (the order the runner works through them). Other Optuna studies are ignored."""
    out = []
    for fs in sorted(frozen_studies, key=lambda s: s._study_id):
        meta = _meta(fs.user_attrs)
        if meta is None or None in (meta.get("problem"), meta.get("solver"), meta.get("seed"), meta.get("budget")):
            continue
        budget = Budget.from_json(meta["budget"])
        meta = {"direction": "maximize" if fs.direction.name == "MAXIMIZE" else "minimize", **meta}
        out.append(StorageCell(
            key=fs.study_name, study_id=fs._study_id, study=str(meta.get("study", "")), problem=str(meta["problem"]),
            solver=str(meta["solver"]), seed=int(meta["seed"]), budget=budget,
            finished=budget is not None and finished(fs.user_attrs, budget), error=str(fs.user_attrs.get("error", "")),
            meta=meta, mark=Budget.from_json(fs.user_attrs.get(FINISHED)), notes=dict(fs.user_attrs.get(NOTES) or {}),
        ))
    return out
