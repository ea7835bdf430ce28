"""Every command line in README.md's ```console blocks runs as written (#9).

The ``.venv/bin/pingsdk`` lines run in a temporary directory laid out like the checkout's root
(``.venv`` and ``examples`` linked to the real ones), one after the other as a reader would type
them, so what one writes (``schema-repo/``) the next reads. The two that run until stopped,
``serve`` and ``relay``, run as real processes: the edge prints its URL, a ping is queued in
``pings.db`` by an application that only stores, the relay delivers it to the strict edge, and
both stop on SIGINT with status 0. Their port is swapped for a free one (8765 may be taken).
``make`` lines are checked to name a Makefile target (``make -n``), not run: ``make test`` is
this suite.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT, child_env

VENV = Path(sys.prefix)
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Subcommands that run until SIGINT; everything else must finish with status 0.
SERVERS = ("serve", "relay")
README_PORT = "8765"


def _console_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in CONSOLE.findall(text):
        lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


LINES = _console_lines()


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def _received(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/__monitor__", timeout=10) as answer:
        result: dict[str, object] = json.load(answer)
    return result


def _queue_one_ping(workdir: Path, url: str) -> None:
    # An application that only stores (uploader=False): the relay must do the sending.
    script = (
        "import pingsdk\n"
        "from examples.pings import SearchCounts\n"
        f"with pingsdk.PingClient({url!r}, queue_path='pings.db', uploader=False) as client:\n"
        "    client.submit(SearchCounts(engine='ddg', count=3))\n"
    )
    env = child_env()
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_readme_has_the_two_quick_start_commands_and_cli_lines() -> None:
    assert LINES[:2] == [
        "make demo   # creates .venv, exports the example schemas, starts a local edge, "
        "sends real pings, shows what arrived",
        "make test   # creates .venv, runs ruff, mypy --strict and every test",
    ]
    assert any(line.startswith(".venv/bin/pingsdk ") for line in LINES)


def test_every_readme_line_is_a_command_this_test_runs() -> None:
    for line in LINES:
        assert line.startswith(("make ", ".venv/bin/pingsdk ")), (
            f"README line not run by tests/test_readme_cli.py: {line}"
        )


@pytest.mark.parametrize("line", [line for line in LINES if line.startswith("make ")])
def test_make_lines_name_makefile_targets(line: str) -> None:
    target = shlex.split(line, comments=True)[1]
    proc = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_pingsdk_lines_run_as_written(tmp_path: Path) -> None:
    if not (VENV / "bin" / "pingsdk").is_file():
        pytest.skip(f"no pingsdk script in {VENV}/bin (not an installed venv)")
    (tmp_path / ".venv").symlink_to(VENV)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    port = _free_port()
    servers: dict[str, subprocess.Popen[str]] = {}
    edge_url = ""
    try:
        for line in LINES:
            if not line.startswith(".venv/bin/pingsdk "):
                continue
            argv = shlex.split(line.replace(README_PORT, port), comments=True)
            command = argv[1]
            if command not in SERVERS:
                proc = subprocess.run(
                    argv, cwd=tmp_path, capture_output=True, text=True, timeout=120
                )
                assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
                continue
            if command == "relay":
                assert edge_url, "the README starts the edge before the relay"
                _queue_one_ping(tmp_path, edge_url)
            servers[command] = subprocess.Popen(
                argv,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            if command == "serve":
                assert servers["serve"].stdout is not None
                first = servers["serve"].stdout.readline().strip()
                edge_url = f"http://127.0.0.1:{port}"
                assert first == f"pingsdk edge serving on {edge_url}", first
        assert set(servers) == set(SERVERS)
        deadline = time.monotonic() + 30
        while _received(edge_url)["accepted"] != 1:
            assert time.monotonic() < deadline, "the relay did not deliver the queued ping"
            time.sleep(0.1)
        monitor = _received(edge_url)
        assert monitor["statuses"] == {"200": 1}
        for command in ("relay", "serve"):
            status, out, err = _stop(servers.pop(command))
            assert status == 0, f"{command}: {out}\n{err}"
    finally:
        for proc in servers.values():
            proc.kill()
            proc.communicate(timeout=30)
    assert (tmp_path / "schema-repo" / "schemas" / "pingsdk-demo").is_dir()
    assert (tmp_path / "pings.db").is_file()
