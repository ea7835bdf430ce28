"""``pingsdk send`` and ``pingsdk queue status|flush|purge`` against a real local edge."""

from __future__ import annotations

import gzip
import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import Field

import pingsdk
from pingsdk._cli import main
from pingsdk._delivery._config import build_config
from pingsdk._delivery._prepare import prepare_ping
from pingsdk._queue import PingQueue
from pingsdk.edge import EdgeServer

REG = pingsdk.PingRegistry()
ROOT = Path(__file__).resolve().parents[2]


class Clicks(pingsdk.Ping, namespace="cli-app", doctype="clicks", version=1, registry=REG):
    """Clicks per button."""

    button: str = Field(description="Which button.")
    count: int = Field(description="How many clicks.")


SEND = ["--namespace", "cli-app", "--doctype", "clicks", "--version", "1"]


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemas")
    pingsdk.schema.export_repository([Clicks], out)
    return out


@pytest.fixture
def clicks_edge(schemas: Path) -> Iterator[EdgeServer]:
    """A strict edge that knows the Clicks ping (the root ``edge`` knows other schemas)."""
    with EdgeServer(schemas, strict=True) as server:
        yield server


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    path = tmp_path / "ping.json"
    # Whitespace and key order kept: the file's bytes are the payload, as they are.
    path.write_bytes(b'{"count": 3,  "button": "ok"}\n')
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(queue: Path, count: int, endpoint: str = "http://127.0.0.1:1") -> list[str]:
    """Store ``count`` due pings for ``endpoint`` in ``queue`` as a client would (unsent)."""
    config = build_config(endpoint)
    with PingQueue(queue) as q:
        rows = [
            prepare_ping(Clicks(button="b", count=i), config, upload_enabled=True)
            for i in range(count)
        ]
        for row in rows:
            q.put(row)
    return [row.doc_id for row in rows]


def test_send_delivers_the_file_bytes(
    clicks_edge: EdgeServer, payload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    argv = ["send", str(payload), *SEND, "--endpoint", clicks_edge.url, "--queue", str(queue)]
    argv += ["--debug-id", "cli-test", "--source-tags", "automation, cli"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    [got] = clicks_edge.received()
    url = f"{clicks_edge.url}/submit/cli-app/clicks/1/{got.doc_id}"
    assert out == f"sent {got.doc_id} to {url} (HTTP 200)\n"
    assert (got.status, got.valid) == (200, True)
    assert got.payload == {"count": 3, "button": "ok"}
    assert got.headers["X-Debug-ID"] == "cli-test"
    assert got.headers["X-Source-Tags"] == "automation,cli"
    assert PingQueue(queue).stats().pending == 0


def test_send_rejected_is_dropped(
    clicks_edge: EdgeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"button": "ok", "count": "many"}))
    queue = tmp_path / "q.db"
    assert (
        main(["send", str(bad), *SEND, "--endpoint", clicks_edge.url, "--queue", str(queue)]) == 1
    )
    err = capsys.readouterr().err
    assert "was rejected and dropped (HTTP 400, after 1 attempt(s))" in err
    assert "Traceback" not in err
    assert PingQueue(queue).stats().pending == 0


def test_send_undelivered_stays_queued_then_status_flush_purge(
    clicks_edge: EdgeServer, payload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    down = f"http://127.0.0.1:{_free_port()}"
    argv = ["send", str(payload), *SEND, "--endpoint", down, "--queue", str(queue)]
    assert main([*argv, "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert "was not delivered within 2 s; it stays queued in" in err
    assert f"pingsdk queue flush --queue {queue} --endpoint {down}" in err

    assert main(["queue", "status", "--queue", str(queue)]) == 0
    out = capsys.readouterr().out
    assert f"queue:    {queue}\n" in out
    assert "pending:  1 ping(s), " in out and "(0 in flight)" in out
    assert "ago)" in out  # oldest
    assert "next due: " in out

    assert main(["queue", "purge", "--queue", str(queue)]) == 0
    assert capsys.readouterr().out == f"removed 1 ping(s) from {queue}\n"
    assert PingQueue(queue).stats().pending == 0


def test_flush_leaves_pings_not_due_yet(
    clicks_edge: EdgeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    [doc_id] = _fill(queue, 1, clicks_edge.url)
    with PingQueue(queue) as q:
        q.claim(1)
        q.defer(doc_id, next_attempt_at=time.time() + 600, attempts=1)
    assert main(["queue", "status", "--queue", str(queue)]) == 0
    assert "(in 9m 5" in capsys.readouterr().out
    # Not delivered is not success: exit 1 (it used to be 0), and the output says why.
    assert main(["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith(f"sent 0 ping(s); 1 left in {queue}, next due ") and "(in 9m 5" in out
    assert "--now tries them" in captured.err
    assert clicks_edge.received() == []
    # --now ignores the client's own backoff.
    assert (
        main(["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url, "--now"]) == 0
    )
    assert capsys.readouterr().out == f"sent 1 ping(s); 0 left in {queue}\n"
    assert [p.doc_id for p in clicks_edge.received()] == [doc_id]


def test_flush_never_sends_another_endpoints_pings(
    clicks_edge: EdgeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    _fill(queue, 2, "https://incoming.example.com")
    mine = _fill(queue, 1, clicks_edge.url)
    assert main(["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url]) == 0
    out = capsys.readouterr().out
    assert out == f"sent 1 ping(s); 0 left in {queue} (2 for other endpoints, not sent here)\n"
    assert [p.doc_id for p in clicks_edge.received()] == mine


def test_queue_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue = tmp_path / "q.db"
    [doc_id] = _fill(queue, 1, "https://a.example.com")
    _fill(queue, 2, "https://b.example.com")
    with PingQueue(queue) as q:
        q.claim(10, endpoint="https://a.example.com")
        q.defer(doc_id, next_attempt_at=time.time() + 90, attempts=2, last_status=503)
    assert main(["queue", "list", "--queue", str(queue)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "https://a.example.com"
    assert out[1].startswith("  cli-app/clicks/1: 1 ping(s), ")
    assert "attempts 2 (max 2), next in 1m " in out[1] and out[1].endswith("last status 503")
    assert out[2] == "https://b.example.com"
    assert "2 ping(s)" in out[3] and "next now, last status -" in out[3]
    assert main(["queue", "list", "--queue", str(queue), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(g["endpoint"], g["count"], g["last_status"]) for g in data["groups"]] == [
        ("https://a.example.com", 1, 503),
        ("https://b.example.com", 2, None),
    ]


def test_flush_sends_due_pings(
    clicks_edge: EdgeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    ids = _fill(queue, 3, clicks_edge.url)
    assert main(["queue", "status", "--queue", str(queue)]) == 0
    assert "next due: now" in capsys.readouterr().out
    assert main(["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url]) == 0
    assert capsys.readouterr().out == f"sent 3 ping(s); 0 left in {queue}\n"
    assert sorted(p.doc_id for p in clicks_edge.received()) == sorted(ids)


def test_flush_reports_drops_and_retries_within_the_timeout(
    clicks_edge: EdgeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    _fill(queue, 2, clicks_edge.url)
    clicks_edge.script(["503", "400"])  # 503 carries Retry-After: 1
    # A dropped ping is a failure to report: exit 1 (it used to be 0). The 503's retry now
    # waits for the policy's backoff (Retry-After only lengthens it), so it is left too.
    assert main(["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"sent 0 ping(s), dropped 1 (1 http_400); 1 left in {queue}")
    assert "1 ping(s) were not delivered" in captured.err
    # --now overrides the client's backoff; the server's 1 s hold is still honoured.
    args = ["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url, "--now"]
    assert main(args) == 0
    assert capsys.readouterr().out == f"sent 1 ping(s); 0 left in {queue}\n"
    assert [r.status for r in clicks_edge.received()] == [200]  # injected faults are not stored


def test_flush_fails_when_a_retry_is_scheduled_later(
    clicks_edge: EdgeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "q.db"
    _fill(queue, 1, clicks_edge.url)
    clicks_edge.script([("429", 120)])
    assert main(["queue", "flush", "--queue", str(queue), "--endpoint", clicks_edge.url]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("sent 0 ping(s); 1 left in") and "next due" in captured.out
    assert "1 ping(s) were not delivered" in captured.err


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"[1, 2]", [], "the payload must be a JSON object"),
        (b"{nope", [], "the payload is not UTF-8 JSON"),
        (b"{}", ["--doctype", "Bad_Name"], "--doctype: doctype 'Bad_Name' is not lowercase"),
        (b"{}", ["--version", "0"], "--version must be a positive integer"),
        (b"{}", ["--timeout", "0"], "--timeout must be positive"),
        (b"{}", ["--endpoint", "http://example.com"], "http"),
    ],
)
def test_send_user_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    extra: list[str],
    message: str,
) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    argv = [
        "send",
        str(path),
        *SEND,
        "--endpoint",
        "http://127.0.0.1:1",
        "--queue",
        str(tmp_path / "q.db"),
    ]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pingsdk: error: ") and message in err
    assert "Traceback" not in err


def test_missing_files_are_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "missing.json")
    assert main(["send", missing, *SEND, "--endpoint", "http://127.0.0.1:1"]) == 2
    assert "missing.json" in capsys.readouterr().err
    for command in (["status"], ["purge"], ["flush", "--endpoint", "http://127.0.0.1:1"]):
        assert main(["queue", *command, "--queue", str(tmp_path / "none.db")]) == 2
        assert (
            capsys.readouterr().err == f"pingsdk: error: no queue file at {tmp_path / 'none.db'}\n"
        )
    assert not (tmp_path / "none.db").exists()


def test_status_of_a_queue_another_process_has_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = tmp_path / "live.db"
    config = build_config("http://127.0.0.1:1")
    with PingQueue(queue) as live:  # open, its writes still in the WAL
        live.put(prepare_ping(Clicks(button="b", count=1), config, upload_enabled=True))
        assert main(["queue", "status", "--queue", str(queue)]) == 0
        assert "pending:  1 ping(s)" in capsys.readouterr().out


def test_a_file_that_is_not_a_queue_is_left_alone(
    payload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    for path in (payload, other):
        before = path.read_bytes()
        for command in (["status"], ["purge"], ["flush", "--endpoint", "http://127.0.0.1:1"]):
            assert main(["queue", *command, "--queue", str(path)]) == 2
            err = capsys.readouterr().err
            assert err.startswith(f"pingsdk: error: {path} is not a pingsdk queue file (")
            assert "left it untouched" in err
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db", "ping.json"]


def test_queue_without_subcommand_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue"]) == 2
    assert "status" in capsys.readouterr().err


def test_send_subprocess_against_real_edge(
    clicks_edge: EdgeServer, payload: Path, tmp_path: Path
) -> None:
    exe = Path(sys.executable).with_name("pingsdk")
    queue = tmp_path / "q.db"
    proc = subprocess.run(
        [
            str(exe),
            "send",
            str(payload),
            *SEND,
            "--endpoint",
            clicks_edge.url,
            "--queue",
            str(queue),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    [got] = clicks_edge.received()
    assert proc.stdout.startswith(f"sent {got.doc_id} to ")
    raw = gzip.compress(payload.read_bytes(), mtime=0)
    assert got.wire_size == len(raw)
    proc = subprocess.run(
        [str(exe), "queue", "status", "--queue", str(queue)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "pending:  0 ping(s)" in proc.stdout


def test_the_cli_uses_only_the_queues_public_api() -> None:
    """send, queue and relay read a queue through its exported names and public methods (#9)."""
    import ast

    import pingsdk._queue
    from pingsdk._cli import _send

    tree = ast.parse(Path(_send.__file__).read_text(encoding="utf-8"))
    imported = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pingsdk._queue")
        for alias in node.names
    ]
    assert imported and all(
        module == "pingsdk._queue" and name in pingsdk._queue.__all__ for module, name in imported
    ), imported
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")  # its own state
    ]
    assert private == []
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "sqlite3" not in modules
