"""Serving the Streamlit app: on localhost by default, over one runs folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def can_open_browser() -> bool:
    """A browser can be shown: a desktop session (a display on Linux), or macOS / Windows."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def command(runs_dir: Path, host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
        "--logger.level", "error",
    ]


def serve(runs_dir: Path, *, host: str = "127.0.0.1", port: int = 8501, open_browser: bool = True) -> int:
    """Run the dashboard until interrupted; prints its URL, opens a browser when one can be shown."""
    env = dict(os.environ, WORKBENCH_RUNS_DIR=str(runs_dir.resolve()))
    proc = subprocess.Popen(command(runs_dir, host, port), env=env, stdout=subprocess.DEVNULL)
    url = f"http://{'localhost' if host in ('127.0.0.1', 'localhost') else host}:{port}"
    try:
        if wait_for_port(host, port, 60):
            print(f"dashboard: {url}  (runs folder {runs_dir}; Ctrl+C to stop)", flush=True)
            if open_browser and can_open_browser():
                webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
        return 0
