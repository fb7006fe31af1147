"""The built-in families, one package each: ``blackbox`` (ask / tell on a queryable objective) and
``offline`` (propose from a visible data set, scored by a hidden oracle).

Each package defines its :class:`~workbench.family.Family` (the loop, the metrics, the extra variables),
its solver base, and what its problems offer; the registry finds them through the ``workbench.families``
entry points of pyproject.toml (one line per family).
"""
