"""Where each cell of a study stands in a storage: done, running, stale (its worker stopped beating),
failed (its solver broke), or pending."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.budget import finished
from workbench.claims import Claims
from workbench.recorder import Store
from workbench.study import Study

STATES = ("done", "running", "stale", "failed", "pending")


@dataclass(frozen=True)
class CellStatus:
    key: str
    state: str
    recorded: int  # steps recorded
    budget: str  # the study's budget, e.g. "40 evaluations"
    worker: str = ""
    error: str = ""


def study_status(study: Study, store: Store, *, grace: float = 60.0) -> list[CellStatus]:
    studies = store.studies()
    by_name = {s.study_name: s for s in studies}
    checker = Claims(store, grace=grace, interval=min(5.0, grace / 2))
    claims = checker.snapshot(studies)
    out = []
    for cell in study.cells():
        key = cell.key(study.name)
        frozen = by_name.get(key)
        recorded = 0 if frozen is None else store.retry(store.storage.get_n_trials, frozen._study_id)
        attrs = {} if frozen is None else frozen.user_attrs
        claim = claims.get(key)
        if finished(attrs, study.budget):
            state = "done"
        elif claim is not None:
            state = "stale" if checker.is_stale(claim) else "running"
        elif attrs.get("error"):
            state = "failed"
        else:
            state = "pending"
        out.append(CellStatus(key, state, recorded, str(study.budget), claim.worker if claim else "",
                              str(attrs.get("error", ""))))
    return out
