from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from workbench.errors import ResultsError
from workbench.results import best_so_far, load_results, write_results

WRITER = """
import sys, numpy as np, xarray as xr
from workbench.results import write_results
path = sys.argv[1]
i = 0
while True:
    ds = xr.Dataset({"value": (("step",), np.full(400_000, float(i)))}, attrs={"round": i})
    write_results(ds, path)
    print(i, flush=True)
    i += 1
"""


def test_best_so_far_follows_the_direction_and_skips_failures():
    v = np.array([3.0, np.nan, 1.0, 2.0, 0.5])
    np.testing.assert_array_equal(best_so_far(v, "minimize"), [3.0, 3.0, 1.0, 1.0, 0.5])
    np.testing.assert_array_equal(best_so_far(v, "maximize"), [3.0, 3.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(best_so_far(np.array([np.nan, 2.0]), "minimize"), [np.nan, 2.0])


def test_a_killed_writer_never_leaves_a_corrupt_results_file(tmp_path):
    path = tmp_path / "results.nc"
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one complete write
        time.sleep(0.05 + 0.07 * attempt)  # then die somewhere inside a later write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ds = load_results(path)  # always a whole file: the old one or the new one
        assert ds.value.shape == (400_000,) and float(ds.value[0]) == ds.attrs["round"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "results.nc"]
    assert all(name.startswith(".results.nc.") for name in leftovers)


def test_unreadable_results_are_a_clear_error(tmp_path):
    with pytest.raises(ResultsError, match="no results file"):
        load_results(tmp_path)
    (tmp_path / "results.nc").write_bytes(b"not a netcdf file")
    with pytest.raises(ResultsError, match="cannot read results file"):
        load_results(tmp_path)


def test_write_results_round_trips(tmp_path):
    ds = xr.Dataset({"v": (("a",), np.arange(3.0))}, attrs={"study": "{}"})
    write_results(ds, tmp_path / "x" / "results.nc")
    assert load_results(tmp_path / "x").v.values.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
@pytest.mark.parametrize("proc", [True, False], ids=["umask-from-proc", "umask-from-probe"])
def test_results_file_has_the_permissions_of_any_new_file(tmp_path, monkeypatch, umask, proc):
    import os

    import workbench.results

    if not proc:  # where there is no /proc/self/status (macOS): the umask comes from a probe file
        def no_proc(file, *args, **kwargs):
            if str(file) == "/proc/self/status":
                raise FileNotFoundError(file)
            return open(file, *args, **kwargs)

        monkeypatch.setattr(workbench.results, "open", no_proc, raising=False)
    ds = xr.Dataset({"value": (("step",), np.arange(3.0))})
    old = os.umask(umask)
    try:
        path = write_results(ds, tmp_path / "run" / "results.nc")
        write_results(ds, path)  # again, over the first
        other = tmp_path / "other"
        other.write_text("")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~umask) == oct(other.stat().st_mode & 0o777)
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.nc"]  # no temporary or probe file left
