"""Serving the Streamlit app: on localhost by default, over one runs folder. The server is a child process
that never outlives this one (Ctrl+C, SIGTERM, or this process dying all stop it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
RUNS_ENV = "WORKBENCH_RUNS_DIR"


def can_open_browser() -> bool:
    """A browser can be shown: a desktop session (a display on Linux), or macOS / Windows."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """True once ``host:port`` accepts connections; False after ``timeout`` s or when ``proc`` exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "workbench.browse.launch", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
        "--logger.level", "error",
    ]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: the server gets SIGTERM when the process that started it dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def url(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "localhost", "::1") else host
    return f"http://{shown}:{port}"


def serve(runs_dir: Path, *, host: str = "127.0.0.1", port: int = 8501, open_browser: bool = True) -> int:
    """Run the dashboard until interrupted; prints its URL, opens a browser when one can be shown."""
    if not port_free(host, port):
        raise WorkbenchError(f"port {port} on {host} is taken (another dashboard?): choose another with --port N")
    env = dict(os.environ, **{RUNS_ENV: str(runs_dir.resolve())})
    proc = subprocess.Popen(command(host, port), env=env, stdout=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not wait_for_port(host, port, 90, proc):
            code = proc.poll()
            raise WorkbenchError(f"the dashboard server did not start on {host}:{port}"
                                 + (f" (streamlit exited with code {code})" if code is not None else ""))
        print(f"dashboard: {url(host, port)}  (runs folder {runs_dir}; Ctrl+C stops it)", flush=True)
        if open_browser and can_open_browser():
            webbrowser.open(url(host, port))
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop(proc)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
