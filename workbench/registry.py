"""Registries: families, solvers and problems found by name. Registering a name twice is an error.

A registry fills itself on first use through its loader: for the built-in entries, the entry points of the
installed package (``[project.entry-points."workbench.problems"]`` in pyproject.toml), so the engine never
imports the problem library; a user's package adds its own entries the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

from workbench.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> factory table for one kind of thing (``"solver"``, ``"problem"``)."""

    def __init__(self, kind: str, *, loader: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._loader = loader
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: ``@solvers.register("random")``."""

        def add(entry: T) -> T:
            if not isinstance(name, str) or not name:
                raise DuplicateNameError(f"{self.kind} names must be non-empty strings, but got {name!r}")
            if name in self._entries and self._entries[name] is not entry:
                raise DuplicateNameError(
                    f"{self.kind} name {name!r} is already registered to {self._entries[name]!r}"
                )
            self._entries[name] = entry
            return entry

        return add

    def _load(self) -> None:
        if not self._loaded and self._loader is not None:
            self._loaded = True
            self._loader()

    def get(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            close = difflib.get_close_matches(str(name), self._entries, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._entries))})"
            )
        return self._entries[name]

    def name_of(self, entry: object) -> str | None:
        """The name ``entry`` is registered under (None when it is not registered)."""
        self._load()
        return next((n for n, e in self._entries.items() if e is entry), None)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries


def entry_points_loader(group: str) -> Callable[[], None]:
    """A loader that imports every entry point of ``group`` (registration happens on import)."""

    def load() -> None:
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=group), key=lambda ep: ep.name):
            ep.load()

    return load
