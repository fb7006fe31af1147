"""The speed promise: on a study of 5 problems x 8 solvers x 10 seeds x 200 steps each view computes and
runs in well under 2 s (the browser's share is measured by `python -m benchmarks.dashboard`)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_every_view_of_a_big_study_takes_under_two_seconds(tmp_path, monkeypatch):
    from benchmarks.dashboard import VIEWS, measure

    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path))
    times = measure(tmp_path, browser=False)
    for name in VIEWS:
        assert times["pure"][name] < 2.0, (name, times)
        assert times["page"][name] < 2.0, (name, times)
