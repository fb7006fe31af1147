"""Grids of solver settings, declared as one labelled solver per setting.

``grid("sgd", lr=[0.1, 1.0])`` gives ``SGD(lr=0.1, name="sgd(lr=0.1)")`` and ``SGD(lr=1.0, name="sgd(lr=1)")``:
labels keep the settings (``;`` between options, so that comma-separated part lists still name them), and
results can be grouped back by method (``sso(m=10;eta=1)`` is method ``sso(m=10)`` at ``eta=1``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from workbench.solver import Solver
from workbench.solvers import solvers


def grid(solver: str, **options: Sequence[Any]) -> list[Solver]:
    """One declaration of the registered ``solver`` per combination of ``options``, labelled
    ``solver(k=v;...)`` (just ``solver`` without options)."""
    cls = solvers.get(solver)
    keys = list(options)
    out = []
    for values in itertools.product(*(options[k] for k in keys)):
        given = dict(zip(keys, values))
        shown = ";".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in given.items())
        out.append(cls(name=f"{solver}({shown})" if given else solver, **given))
    return out


def sso_benchmark(full_batch: bool = True) -> list[Solver]:
    """The methods and grids of the SSO benchmark (studies/sso.py, docs/training.md): learning rates a decade
    apart for SGD, Adam, AdaGrad and SGD-SaI, the target step ``eta`` for SSO at each ``m``, the line-search
    methods as they are, and the full-batch L-BFGS reference where the problems have fixed data."""
    return [
        *grid("sgd", lr=[0.01, 0.1, 1.0, 10.0, 100.0]),
        *grid("adam", lr=[1e-4, 1e-3, 1e-2, 1e-1, 1.0]),
        *grid("adagrad", lr=[0.01, 0.1, 1.0, 10.0]),
        *grid("sls"),
        *grid("sgd-sai", lr=[1e-3, 1e-2, 1e-1]),
        *grid("sso", m=[1, 10, 100], eta=[0.1, 1.0, 10.0, 100.0]),
        *grid("sso-sls", m=[1, 10, 100]),
        *(grid("lbfgs") if full_batch else []),
    ]


__all__ = ["grid", "sso_benchmark"]
