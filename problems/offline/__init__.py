"""Offline tasks: a visible data set and a hidden oracle (see ``workbench.families.offline``).

Registered: ``tfbind8`` (Design-Bench's TFBind8, exact oracle over all DNA 8-mers), ``ehrlich-l32`` and
``ehrlich-l128`` (Ehrlich functions), ``offline-ackley32``, ``offline-rosenbrock20`` and
``offline-styblinskitang50`` (synthetic functions over a seeded pool). :class:`Logged` turns logged
evaluations of any queryable problem (a finished study's trials) into an offline task.
"""

from problems.offline._common import MissingDataError
from problems.offline.continuous import OfflineAckley32, OfflineFunction, OfflineRosenbrock20, OfflineStyblinskiTang50
from problems.offline.ehrlich import Ehrlich, EhrlichL32, EhrlichL128
from problems.offline.logged import Logged
from problems.offline.tfbind8 import TFBind8, factors

__all__ = [
    "Ehrlich",
    "EhrlichL128",
    "EhrlichL32",
    "Logged",
    "MissingDataError",
    "OfflineAckley32",
    "OfflineFunction",
    "OfflineRosenbrock20",
    "OfflineStyblinskiTang50",
    "TFBind8",
    "factors",
]
