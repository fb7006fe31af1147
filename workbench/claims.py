"""Cell claims: how workers sharing one Optuna storage split a study so that each cell runs once.

A claim on a cell is an (empty) Optuna study named ``{cell}#claim{generation}``. Creating a study of a
given name succeeds for exactly one caller in every Optuna storage (a unique name in the RDB schema, a lock
in the journal), so creating generation 0 claims a free cell. The holder writes a heartbeat (a user
attribute ``holder``: worker and time) every ``interval`` seconds. A claim whose heartbeat is older than ``grace`` seconds, or whose
holder is a dead process on this same host, is stale: another worker takes the cell over by creating the
next generation, and resumes it from its recorded evaluations. A holder that sees a newer generation stops
working on the cell. Claims of a cell are deleted when it finishes, so a finished study holds one Optuna
study per cell and nothing else.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from workbench.recorder import Store

log = logging.getLogger("workbench")

_CLAIM = re.compile(r"^(?P<key>.+)#claim(?P<generation>\d+)$")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ClaimInfo:
    key: str
    generation: int
    study_id: int
    worker: str
    heartbeat: float


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Claims:
    """Claims over one store, as seen by one worker."""

    def __init__(self, store: Store, *, worker: str | None = None, grace: float = 60.0, interval: float = 5.0) -> None:
        if not grace > interval > 0:
            raise ValueError(f"grace > interval > 0 must hold, but got (grace={grace}, interval={interval})")
        self.store = store
        self.worker = worker or worker_id()
        self.grace = grace
        self.interval = interval
        self._first_seen: dict[tuple[str, int], float] = {}

    def snapshot(self, studies: list[Any]) -> dict[str, ClaimInfo]:
        """The newest claim of each cell, from a list of the storage's studies."""
        latest: dict[str, ClaimInfo] = {}
        for s in studies:
            m = _CLAIM.match(s.study_name)
            if not m:
                continue
            info = ClaimInfo(
                key=m["key"],
                generation=int(m["generation"]),
                study_id=s._study_id,
                worker=str(s.user_attrs.get("holder", {}).get("worker", "")),
                heartbeat=float(s.user_attrs.get("holder", {}).get("heartbeat", 0.0)),
            )
            if info.key not in latest or info.generation > latest[info.key].generation:
                latest[info.key] = info
        return latest

    def is_stale(self, info: ClaimInfo) -> bool:
        # a claim not yet stamped (its holder is between creating and stamping it) ages from when first seen
        beat = info.heartbeat or self._first_seen.setdefault((info.key, info.generation), time.time())
        if time.time() - beat > self.grace:
            return True
        host, _, pid = info.worker.rpartition(":")
        return host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))

    def try_claim(self, key: str, current: ClaimInfo | None) -> Claim | None:
        """Claim a free cell, or take over a stale claim; None when another worker won the race."""
        generation = 0 if current is None else current.generation + 1
        study_id = self.store.create_study(f"{key}#claim{generation}")
        if study_id is None:
            return None
        self.store.set_user_attr(study_id, "holder", {"worker": self.worker, "heartbeat": time.time()})
        if current is not None:
            log.warning("%s: taking over from worker %s (claim stale)", key, current.worker)
        return Claim(self, key, generation, study_id)

    def release(self, key: str, up_to: int, study_id: int | None = None) -> None:
        """Delete the claims of ``key`` up to generation ``up_to`` (a newer one belongs to another worker)."""
        if study_id is not None:
            self.store.delete_study(study_id)
            up_to -= 1
        for generation in range(up_to, -1, -1):
            study_id = self.store.study_id(f"{key}#claim{generation}")
            if study_id is not None:
                self.store.delete_study(study_id)


class Claim:
    """A held claim: a context manager that beats while the cell runs; ``lost`` is set when another
    worker took the cell over (this worker then stops working on it)."""

    def __init__(self, claims: Claims, key: str, generation: int, study_id: int) -> None:
        self.claims, self.key, self.generation, self.study_id = claims, key, generation, study_id
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {key}", daemon=True)

    def __enter__(self) -> Claim:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def still_held(self) -> bool:
        """Ask the storage now (not at the next beat) whether this claim still stands: it exists (a taker
        that finished the cell deletes it) and no newer generation does (a taker is at work)."""
        if not self.lost.is_set():
            store = self.claims.store
            if (store.study_id(f"{self.key}#claim{self.generation}") != self.study_id
                    or store.study_id(f"{self.key}#claim{self.generation + 1}") is not None):
                log.warning("%s: another worker took this cell over; stopping work on it", self.key)
                self.lost.set()
        return not self.lost.is_set()

    def finish(self) -> None:
        """The cell is done (or given up): delete this claim and older ones."""
        if not self.lost.is_set():
            self.claims.release(self.key, self.generation, self.study_id)

    def _beat(self) -> None:
        store = self.claims.store
        while not self._stop.wait(self.claims.interval):
            try:
                if not self.still_held():
                    return
                store.set_user_attr(self.study_id, "holder", {"worker": self.claims.worker, "heartbeat": time.time()})
            except Exception as e:  # a heartbeat that cannot be written is retried at the next beat
                log.warning("%s: heartbeat failed: %s", self.key, e)
