"""How long each dashboard view takes on a big study: 5 problems x 8 solvers x 10 seeds x 200 steps.

    .venv/bin/python -m benchmarks.dashboard [--no-browser]

Writes a synthetic run folder of that size (a results file in the layout workbench.results writes, and a
storage holding one cell's 200 trials for the cell view), then times, per view: the pure function alone;
the whole page run by Streamlit's AppTest (script, data and elements, no browser); and, in Debian's
headless Chromium against `workbench dashboard`, navigation until the view's last chart or table is on
screen. Medians of 5 runs after one warm-up (3 page loads after one in the browser); prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import xarray as xr

from workbench.browse.folders import find_studies, read_study
from workbench.browse.live import open_readonly
from workbench.browse.views import cell_trials, compare_convergence, convergence, leaderboard_markdown
from workbench.results import best_so_far, write_results

P, S, R, T = 5, 8, 10, 200
VIEWS = ("studies", "convergence", "leaderboard", "cell", "compare")
PAGES = Path(__file__).resolve().parents[1] / "dashboards" / "views"
optuna.logging.set_verbosity(optuna.logging.WARNING)


def big_study(root: Path, name: str = "big") -> Path:
    """A run folder ``root/name``: results of P x S x R x T random evaluations, one cell's trials stored."""
    rng = np.random.default_rng(0)
    run = root / name
    run.mkdir(parents=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{run / 'optuna.db'}")
    sid = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], f"{name}/problem0/solver0/0")
    storage.set_study_user_attr(sid, "workbench", {"study": name, "problem": "problem0", "solver": "solver0",
                                                   "seed": 0, "budget": T})
    storage.set_study_user_attr(sid, "finished_budget", T)
    dist = {f"x{i}": optuna.distributions.FloatDistribution(0, 1) for i in range(6)}
    for step in range(T):
        storage.create_new_trial(sid, template_trial=optuna.trial.create_trial(
            value=float(rng.lognormal()), params={k: float(rng.uniform()) for k in dist}, distributions=dist,
            user_attrs={"step": step, "elapsed": 0.05 * step}))
    value = rng.lognormal(size=(P, S, R, T))
    best = np.stack([best_so_far(value[i], "minimize") for i in range(P)])
    dims = ("problem", "solver", "seed", "step")
    space = [{"type": "Real", "name": k, "low": 0.0, "high": 1.0, "log": False} for k in dist]
    ds = xr.Dataset(
        {"value": (dims, value), "best": (dims, best), "regret": (dims, best),
         "elapsed": (dims, np.cumsum(rng.uniform(0.01, 0.1, size=value.shape), axis=-1)),
         "failed": (dims, np.zeros(value.shape, dtype=np.int8)), "optimum": (("problem",), np.zeros(P)),
         "direction": (("problem",), np.array(["minimize"] * P))},
        coords={"problem": [f"problem{i}" for i in range(P)], "solver": [f"solver{i}" for i in range(S)],
                "seed": list(range(R)), "step": np.arange(T)},
        attrs={"study": json.dumps({"name": name, "problems": [{"name": f"problem{i}", "space": space}
                                                               for i in range(P)]}), "budget": T},
    )
    write_results(ds, run / "results.nc")  # after the storage: the results file is the newer one
    return run


def median_time(fn: Callable[[], object], n: int = 5) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pure_times(root: Path) -> dict[str, float]:
    """Seconds per view for the pure functions behind it (reading the files included)."""
    def entry():
        return read_study(find_studies(root)[0])

    def cell():
        storage = open_readonly(root / "big" / "optuna.db")
        return cell_trials(storage.get_all_trials(storage.get_all_studies()[0]._study_id))

    ds = entry().ds
    fns = {
        "studies": lambda: [read_study(f, curves=False) for f in find_studies(root)],
        "convergence": lambda: convergence(entry().ds, y="log10 regret"),
        "leaderboard": lambda: leaderboard_markdown(entry().ds),
        "cell": cell,
        "compare": lambda: compare_convergence(ds, ds, "big", "big2"),
    }
    return {name: median_time(fn) for name, fn in fns.items()}


def page_times(root: Path) -> dict[str, float]:
    """Seconds per page run by Streamlit's AppTest (caches are warm after the first run, as a server's are)."""
    from streamlit.testing.v1 import AppTest

    os.environ["WORKBENCH_RUNS_DIR"] = str(root)

    def page(name: str) -> Callable[[], None]:
        def run() -> None:
            at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
            at.query_params.update({"study": "big", "a": "big", "b": "big2"})
            at.run()
            assert not at.exception, at.exception
        return run

    return {name: median_time(page(name)) for name in VIEWS}


def browser_times(root: Path) -> dict[str, float]:
    """Seconds from navigation to the view drawn in headless Chromium, served by `workbench dashboard`.
    Empty when Chromium or Playwright is missing."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if chromium is None:
        return {}
    from tests.dashboard.test_browser import COLORS
    from workbench.browse.serve import wait_for_port

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "workbench.cli", "dashboard", str(root), "--port", str(port),
                               "--no-browser"], stdout=subprocess.DEVNULL)
    chart = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
    ready = {"studies": "[data-testid='stDataFrame'] canvas", "convergence": chart, "leaderboard": "table",
             "cell": chart, "compare": chart}
    titles = {"studies": "Studies", "convergence": "Convergence", "leaderboard": "Leaderboard", "cell": "Cell detail",
              "compare": "Compare"}

    def drawn(page: Any, name: str) -> None:
        page.locator(ready[name]).first.wait_for(timeout=60_000)
        if name in ("studies", "convergence", "cell", "compare"):  # its figure drawn, not just placed
            target = page.locator(chart).first
            target.wait_for(timeout=60_000)
            page.wait_for_function(f"(el) => ({COLORS})(el) > 50", arg=target.element_handle(), timeout=60_000,
                                   polling=50)

    out: dict[str, float] = {}
    try:
        assert wait_for_port("127.0.0.1", port, 90), "the dashboard did not start"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name in ready:  # a page loaded from its address
                times = []
                for _ in range(4):
                    t0 = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/{name}?study=big&a=big&b=big2")
                    drawn(page, name)
                    times.append(time.perf_counter() - t0)
                out[f"{name} first"], out[f"{name} load"] = times[0], statistics.median(times[1:])
            for name in ready:  # a page opened from the sidebar, the app already loaded
                times = []
                for _ in range(3):
                    other = "leaderboard" if name == "studies" else "studies"
                    page.get_by_role("link", name=titles[other], exact=True).click()
                    page.get_by_role("heading", name=titles[other], exact=True).wait_for(timeout=60_000)
                    drawn(page, other)
                    t0 = time.perf_counter()
                    page.get_by_role("link", name=titles[name], exact=True).click()
                    drawn(page, name)
                    times.append(time.perf_counter() - t0)
                out[f"{name} switch"] = statistics.median(times)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    return out


def measure(root: Path, browser: bool = True) -> dict[str, dict[str, float]]:
    big_study(root)
    big_study(root, "big2")
    return {"pure": pure_times(root), "page": page_times(root), "browser": browser_times(root) if browser else {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = measure(Path(tmp), browser=not args.no_browser)
    print(f"{P} problems x {S} solvers x {R} seeds x {T} steps; {os.cpu_count()} CPU cores\n")
    b = times["browser"]

    def cell(key: str) -> str:
        return f"{b[key]:.2f}" if key in b else "—"

    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print("| view | pure functions | page (AppTest) | Chromium: opened from the sidebar | Chromium: address "
          "loaded | Chromium: first load after start |")
    print("|---|---|---|---|---|---|")
    for name in VIEWS:
        print(f"| {name} | {times['pure'][name]:.3f} | {times['page'][name]:.3f} | {cell(f'{name} switch')} | "
              f"{cell(f'{name} load')} | {cell(f'{name} first')} |")


if __name__ == "__main__":
    main()
