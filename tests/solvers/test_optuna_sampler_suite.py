"""``BoSampler`` against Optuna's own sampler test cases (``optuna.testing.pytest_samplers``, shipped in
Optuna's wheel): the basic and relative sampling contracts, and the refusal of multi-objective studies."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase

from workbench.solvers.bo import AcquisitionConfig, BoGP
from workbench.solvers.bo.optuna_sampler import BoSampler

#: a cheap acquisition search: the suites run hundreds of trials
FAST = BoGP(acquisition=AcquisitionConfig(acquisition="logei", num_restarts=2, raw_samples=32, maxiter=20))


def _bo_sampler() -> BaseSampler:
    return BoSampler(FAST, seed=0, n_startup_trials=0)  # as the suite runs Optuna's GPSampler


class TestBoSamplerBasic(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _bo_sampler


class TestBoSamplerRelative(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _bo_sampler


class TestBoSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _bo_sampler
