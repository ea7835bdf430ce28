"""A local edge restarted on the same port comes back at once (chaos and restart tests)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _serve(port: int, db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingsdk", "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if f":{port}" not in first:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the edge did not start on port {port}: {first!r} {err[-500:]}")
    return proc


def test_killed_edge_restarts_on_the_same_port_at_once(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = tmp_path / "edge.db"
    first = _serve(port, db)
    try:
        url = f"http://127.0.0.1:{port}/submit/my-app/event/1/{uuid.uuid4()}"
        with httpx.Client() as client:  # keep-alive: the edge holds the connection open
            assert client.post(url, json={"n": 1}).status_code == 200
            first.kill()  # the server side closes first: its port enters TIME_WAIT
            first.wait()
            time.sleep(0.2)
    finally:
        first.kill()
        first.wait()
    second = _serve(port, db)
    try:
        url = f"http://127.0.0.1:{port}/submit/my-app/event/1/{uuid.uuid4()}"
        assert httpx.post(url, json={"n": 2}).status_code == 200
    finally:
        second.kill()
        second.wait()
