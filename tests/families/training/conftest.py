"""Training tests drive trainers in this process: one torch thread, as the family's loop trains (small models
lose more to thread hand-offs than they gain)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
