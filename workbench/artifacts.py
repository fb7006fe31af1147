"""Artifacts: non-scalar outputs of a step (images, vectors) and per-cell checkpoints, kept in Optuna's
artifact store beside the storage.

Files go to a :class:`optuna.artifacts.FileSystemArtifactStore` (``<run folder>/artifacts`` by default; a
folder every worker can reach when workers share a PostgreSQL storage). A step's artifacts are referenced
from its trial the way Optuna references them (system attribute ``artifacts:<id>`` holding the file's
metadata), so ``optuna.artifacts.get_all_artifact_meta`` and optuna-dashboard find them too. The file is
written before the trial that names it: a process killed in between leaves an unreferenced file, never a
reference to nothing.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PREFIX = "artifacts:"  # Optuna's system-attribute prefix for artifact metadata
FOLDER = "artifacts"


@dataclass(frozen=True)
class ArtifactRef:
    """What a trial holds of one artifact: the id in the store, a file name (``{name}{suffix}``), the type."""

    artifact_id: str
    filename: str
    mimetype: str
    encoding: str | None = None

    @property
    def name(self) -> str:
        return self.filename.rsplit(".", 1)[0]

    def attr(self) -> tuple[str, str]:
        """The trial system attribute Optuna reads: key and JSON value."""
        return PREFIX + self.artifact_id, json.dumps({"artifact_id": self.artifact_id, "filename": self.filename,
                                                      "mimetype": self.mimetype, "encoding": self.encoding})


def encode(value: Any) -> tuple[bytes, str, str]:
    """An artifact value as bytes, a file suffix and a MIME type: ``bytes`` stay as they are (PNG and JPEG
    recognized by their signature); arrays and tensors become ``.npy``; ``str`` becomes UTF-8 text."""
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if data.startswith(b"\x89PNG"):
            return data, ".png", "image/png"
        if data.startswith(b"\xff\xd8"):
            return data, ".jpg", "image/jpeg"
        return data, ".bin", "application/octet-stream"
    if isinstance(value, str):
        return value.encode(), ".txt", "text/plain"
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, list, tuple, float, int)):
        buf = io.BytesIO()
        np.save(buf, np.asarray(value), allow_pickle=False)
        return buf.getvalue(), ".npy", "application/x-npy"
    raise TypeError(f"an artifact must be bytes, str, an array or a tensor, but got {type(value).__name__}")


def decode(ref: ArtifactRef, data: bytes) -> Any:
    """An artifact's bytes as the value a view shows: arrays for ``.npy``, text for text, bytes otherwise."""
    if ref.mimetype == "application/x-npy":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if ref.mimetype.startswith("text/"):
        return data.decode()
    return data


class Artifacts:
    """A run folder's artifact store (created on first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            from optuna.artifacts import FileSystemArtifactStore

            self.root.mkdir(parents=True, exist_ok=True)
            self._store = FileSystemArtifactStore(self.root)
        return self._store

    def put(self, name: str, value: Any) -> ArtifactRef:
        data, suffix, mimetype = encode(value)
        ref = ArtifactRef(str(uuid.uuid4()), f"{name}{suffix}", mimetype)
        self.store.write(ref.artifact_id, io.BytesIO(data))
        return ref

    def put_bytes(self, name: str, data: bytes, mimetype: str = "application/octet-stream") -> ArtifactRef:
        ref = ArtifactRef(str(uuid.uuid4()), name, mimetype)
        self.store.write(ref.artifact_id, io.BytesIO(data))
        return ref

    def get(self, artifact_id: str) -> bytes:
        with self.store.open_reader(artifact_id) as f:
            return f.read()

    def remove(self, artifact_id: str) -> None:
        try:
            self.store.remove(artifact_id)
        except Exception:  # already gone: nothing to remove
            pass


def refs_of(system_attrs: Mapping[str, Any]) -> list[ArtifactRef]:
    """The artifacts a trial references (from its system attributes), in name order."""
    out = []
    for key, value in system_attrs.items():
        if not key.startswith(PREFIX):
            continue
        try:
            meta = json.loads(value) if isinstance(value, str) else dict(value)
            out.append(ArtifactRef(meta["artifact_id"], meta["filename"], meta["mimetype"], meta.get("encoding")))
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(out, key=lambda r: r.filename)
