"""The served dashboard in a real headless Chromium (Debian's package, driven by Playwright): the
convergence view renders. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, workbench_cmd
from workbench.dashboard.serve import wait_for_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium not installed (scripts/system-deps.sh installs Debian's chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_convergence_view_renders_in_chromium(runs, cli_env):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) not installed")
    port = free_port()
    server = subprocess.Popen(workbench_cmd() + ["dashboard", str(runs), "--port", str(port), "--no-browser"],
                              env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for_port("127.0.0.1", port, 60), "the dashboard did not start listening"
        assert f"dashboard: http://localhost:{port}" in server.stdout.readline()
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/convergence?study=tiny", timeout=60_000)
            page.get_by_role("heading", name="Convergence").wait_for(timeout=60_000)
            for problem in ("branin", "edgy"):
                page.get_by_role("heading", name=problem).wait_for(timeout=30_000)
            charts = page.locator("[data-testid='stVegaLiteChart']")
            charts.first.wait_for(timeout=30_000)
            page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(
                timeout=30_000)
            assert charts.count() == 2
            page.wait_for_timeout(1000)  # let the marks finish drawing before the picture
            page.screenshot(path=str(ARTIFACTS / "dashboard-convergence.png"), full_page=True)
            browser.close()
        assert (ARTIFACTS / "dashboard-convergence.png").stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=20)
