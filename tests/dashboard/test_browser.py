"""The served dashboard in a real headless Chromium (Debian's package, driven by Playwright): the
convergence view renders, and the page a new user lands on shows a leaderboard and curves. Screenshots
are kept in test-artifacts/."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, workbench_cmd
from workbench.browse.serve import wait_for_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
# how many different colors the drawn chart holds: a blank or half-drawn canvas has a handful
COLORS = """(el) => {
  if (el.tagName.toLowerCase() !== 'canvas') return 1000;
  const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data, seen = new Set();
  for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/system-deps.sh installs it, as root)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_drawn(page, timeout: float = 60_000):
    chart = page.locator(CHART).first
    chart.wait_for(timeout=timeout)
    page.wait_for_function(f"(el) => ({COLORS})(el) > 50", arg=chart.element_handle(), timeout=timeout)
    return chart


def test_convergence_view_renders_in_chromium(runs, cli_env):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")
    port = free_port()
    server = subprocess.Popen(workbench_cmd() + ["dashboard", str(runs), "--port", str(port), "--no-browser"],
                              env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for_port("127.0.0.1", port, 90), "the dashboard did not start listening"
        assert f"dashboard: http://localhost:{port}" in server.stdout.readline()
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/convergence?study=tiny", timeout=60_000)
                page.get_by_role("heading", name="Convergence").wait_for(timeout=60_000)
                page.get_by_text("mean over 2 seeds, band ± one standard error").wait_for(timeout=60_000)
                box = wait_drawn(page).bounding_box()
                assert box is not None and box["width"] > 600 and box["height"] > 250  # two panels side by side
                page.screenshot(path=str(ARTIFACTS / "dashboard-convergence.png"), full_page=True)

                page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)  # where `make quickstart` lands
                page.get_by_role("heading", name="Latest: running").wait_for(timeout=60_000)
                page.locator("table").filter(has_text="avg rank").wait_for(timeout=30_000)
                wait_drawn(page)
                page.screenshot(path=str(ARTIFACTS / "dashboard-studies.png"), full_page=True)
            finally:
                browser.close()
        assert (ARTIFACTS / "dashboard-convergence.png").stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)
