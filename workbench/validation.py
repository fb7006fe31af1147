"""Checks of declared options. Each returns the value it checked, or raises ``error`` with a message that
names ``owner.field``, the rule and the value: ``"BoGP.n_initial must be an int >= 1, but got n_initial=0"``.

``owner`` is the declaring object (its class name is used) or a name; ``error`` is the exception class,
:class:`~workbench.errors.InvalidConfigError` for solver and model options unless the caller says otherwise
(problems pass :class:`~workbench.errors.InvalidProblemError`). With ``optional=True`` None is also allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NoReturn

from workbench.errors import InvalidConfigError


def _fail(owner: object, field: str, rule: str, value: object, error: type[Exception], optional: bool) -> NoReturn:
    name = owner if isinstance(owner, str) else type(owner).__name__
    raise error(f"{name}.{field} must be {rule}{' or None' if optional else ''}, but got {field}={value!r}")


def check_int(owner: object, field: str, value: Any, minimum: int, *, optional: bool = False,
              error: type[Exception] = InvalidConfigError) -> Any:
    """An int (not a bool) ``>= minimum``."""
    if not (optional and value is None) and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        _fail(owner, field, f"an int >= {minimum}", value, error, optional)
    return value


def check_number(owner: object, field: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, optional: bool = False,
                 error: type[Exception] = InvalidConfigError) -> Any:
    """A finite int or float (not a bool) within ``low``/``high``, each bound excluded when ``*_open``."""
    if optional and value is None:
        return value
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    ok = ok and (isinstance(value, int) or math.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            rule = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        else:
            rule = "a finite number"
            rule += f" {'>' if low_open else '>='} {low:g}" if low is not None else ""
            rule += f" {'<' if high_open else '<='} {high:g}" if high is not None else ""
        _fail(owner, field, rule, value, error, optional)
    return value


def check_positive(owner: object, field: str, value: Any, *, optional: bool = False,
                   error: type[Exception] = InvalidConfigError) -> Any:
    """A finite number > 0."""
    return check_number(owner, field, value, low=0, low_open=True, optional=optional, error=error)


def check_choice(owner: object, field: str, value: Any, choices: Iterable[Any], *,
                 error: type[Exception] = InvalidConfigError) -> Any:
    """One of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        _fail(owner, field, f"one of {choices!r}", value, error, False)
    return value
