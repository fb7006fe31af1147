"""`workbench dashboard`: one line and exit 2 for a user's mistake; the server binds to localhost and
stops with the command."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import workbench_cmd
from workbench.browse.serve import command, port_free, url, wait_for_port
from workbench.cli import main


@pytest.fixture(autouse=True)
def workbench_logger():
    """`main` sets up the command's logging; put the library's logger back as it was afterwards."""
    logger = logging.getLogger("workbench")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:], logger.level = handlers, level


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_missing_runs_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path / "nowhere"), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs folder not found" in err


def test_a_taken_port_is_one_line_and_exit_2(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not port_free("127.0.0.1", port)
        assert main(["dashboard", str(tmp_path), "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} on 127.0.0.1 is taken" in err


def test_the_server_listens_on_localhost_only_by_default():
    cmd = command("127.0.0.1", 8501)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert url("127.0.0.1", 8501) == "http://localhost:8501"


def test_stopping_the_command_stops_the_server(tmp_path, cli_env):
    port = free_port()
    proc = subprocess.Popen(workbench_cmd() + ["dashboard", str(tmp_path), "--port", str(port), "--no-browser"],
                            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for_port("127.0.0.1", port, 90, proc), proc.stdout.read() if proc.poll() is not None else ""
        assert proc.stdout.readline().startswith(f"dashboard: http://localhost:{port}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.time() + 15
        while not port_free("127.0.0.1", port) and time.time() < deadline:
            time.sleep(0.2)
        assert port_free("127.0.0.1", port), "the Streamlit server outlived `workbench dashboard`"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
