"""How long each dashboard view takes on a big study: 5 problems x 8 solvers x 10 seeds x 200 steps.

    .venv/bin/python -m benchmarks.dashboard

Writes a synthetic results file of that size (the layout workbench.results writes), then times, per view,
the pure function alone and the whole page run by Streamlit's AppTest (script, data and elements, no
browser), each the median of 5 runs after one warm-up."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

from workbench.dashboard.catalog import find_studies
from workbench.dashboard.views import convergence, leaderboard_frame
from workbench.results import best_so_far, write_results

P, S, R, T = 5, 8, 10, 200
PAGES = Path(__file__).resolve().parents[1] / "dashboards" / "views"


def big_study(root: Path) -> None:
    rng = np.random.default_rng(0)
    value = rng.lognormal(size=(P, S, R, T))
    best = np.stack([best_so_far(value[i], "minimize") for i in range(P)])
    dims = ("problem", "solver", "seed", "step")
    ds = xr.Dataset(
        {"value": (dims, value), "best": (dims, best), "regret": (dims, best),
         "elapsed": (dims, np.cumsum(rng.uniform(0.01, 0.1, size=value.shape), axis=-1)),
         "failed": (dims, np.zeros(value.shape, dtype=np.int8)), "optimum": (("problem",), np.zeros(P)),
         "direction": (("problem",), np.array(["minimize"] * P))},
        coords={"problem": [f"problem{i}" for i in range(P)], "solver": [f"solver{i}" for i in range(S)],
                "seed": list(range(R)), "step": np.arange(T)},
        attrs={"study": json.dumps({"name": "big", "problems": []}), "budget": T},
    )
    write_results(ds, root / "big" / "results.nc")


def median_time(fn, n: int = 5) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big_study(root)
        os.environ["WORKBENCH_RUNS_DIR"] = str(root)
        ds = xr.load_dataset(root / "big" / "results.nc", engine="h5netcdf")
        pure = {
            "studies": lambda: find_studies(root),
            "convergence": lambda: convergence(ds, y="log10 regret"),
            "leaderboard": lambda: leaderboard_frame(ds),
            "compare": lambda: (convergence(ds), convergence(ds)),
        }

        def page(name: str):
            def run():
                at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
                at.query_params.update({"study": "big", "a": "big", "b": "big"})
                at.run()
                assert not at.exception, at.exception
            return run

        browser = browser_times(root)
        print(f"| view | pure function s | page (AppTest) s | in Chromium s |  ({P} problems x {S} solvers x {R} "
              f"seeds x {T} steps)")
        print("|---|---|---|---|")
        for name in ("studies", "convergence", "leaderboard", "cell", "compare"):
            f = f"{median_time(pure[name]):.3f}" if name in pure else "—"
            print(f"| {name} | {f} | {median_time(page(name)):.3f} | {browser.get(name, '—')} |")


def browser_times(root: Path) -> dict[str, str]:
    """Seconds from navigation to the view drawn (its charts or table visible) in headless Chromium, served
    by `workbench dashboard`; median of 3 loads. Empty when Chromium or Playwright is missing."""
    import shutil
    import socket
    import subprocess
    import sys

    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if chromium is None:
        return {}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "workbench.cli", "dashboard", str(root), "--port", str(port),
                               "--no-browser"], stdout=subprocess.DEVNULL)
    from workbench.dashboard.serve import wait_for_port

    out = {}
    try:
        wait_for_port("127.0.0.1", port, 60)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            ready = {
                "studies": ("[data-testid='stDataFrame']", 1),
                "convergence": ("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg", P),
                "leaderboard": ("[data-testid='stDataFrame']", 1),
                "compare": ("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg", P),
            }
            for name, (selector, count) in ready.items():
                times = []
                for _ in range(4):
                    t0 = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/{name}?study=big&a=big&b=big")
                    page.locator(selector).nth(count - 1).wait_for(timeout=60_000)
                    times.append(time.perf_counter() - t0)
                out[name] = f"{statistics.median(times[1:]):.2f}"
            b.close()
    finally:
        server.terminate()
        server.wait()
    return out


if __name__ == "__main__":
    main()
