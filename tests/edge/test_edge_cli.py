"""``pingsdk serve`` and ``pingsdk monitor``: in-process and as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _edge_support import doc_id

from pingsdk._cli import main
from pingsdk.edge import EdgeServer

GOOD = {"name": "start", "count": 1}
PINGSDK = Path(sys.executable).with_name("pingsdk")


def test_monitor_from_db_and_url(
    schema_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "edge.db"
    with EdgeServer(schemas=schema_tree, db=db) as edge:
        for body in (GOOD, GOOD, {"name": 1, "count": 1}):
            httpx.post(f"{edge.url}/submit/my-app/app-event/1/{doc_id()}", json=body)
        assert main(["monitor", "--url", edge.url]) == 0
        from_url = capsys.readouterr().out
    assert main(["monitor", "--db", str(db)]) == 0
    from_db = capsys.readouterr().out
    assert from_db == from_url
    header, rule, row = from_db.splitlines()[:3]
    assert header.split()[:8] == [
        "namespace",
        "doctype",
        "v",
        "received",
        "valid",
        "invalid",
        "decode_err",
        "dups",
    ]
    assert set(rule) <= {"-", " "}
    assert row.split()[:8] == ["my-app", "app-event", "1", "3", "2", "1", "0", "0"]
    assert "$.name: 1 is not of type 'string'" in from_db
    assert main(["monitor", "--db", str(db), "--json"]) == 0
    assert '"accepted": 3' in capsys.readouterr().out


def test_monitor_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no such edge database" in capsys.readouterr().err
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite")
    assert main(["monitor", "--db", str(junk)]) == 2
    assert "not an edge database" in capsys.readouterr().err
    assert main(["monitor", "--url", "http://127.0.0.1:9"]) == 2
    assert "no edge monitor there" in capsys.readouterr().err


def test_serve_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--schemas", str(tmp_path)]) == 2
    assert "schema.json" in capsys.readouterr().err
    assert main(["serve", "--fault-rate", "2"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_serve_subprocess(schema_tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    proc = subprocess.Popen(
        [str(PINGSDK), "serve", "--schemas", str(schema_tree), "--db", str(db), "--strict"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("pingsdk edge serving on http://127.0.0.1:")
        url = first.split()[-1]
        with httpx.Client() as client:
            target = f"{url}/submit/my-app/app-event/1/{doc_id()}"
            assert client.post(target, json=GOOD).status_code == 200
            assert client.post(target, json={"count": 1}).status_code == 400
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err
    report = subprocess.run(
        [str(PINGSDK), "monitor", "--db", str(db)], capture_output=True, text=True, check=True
    )
    assert "my-app" in report.stdout and "received 2  accepted 1  rejected 1" in report.stdout


def test_serve_with_faults_subprocess(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(PINGSDK), "serve", "--fault-rate", "1", "--fault-kinds", "503", "--retry-after", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        r = httpx.post(f"{url}/submit/a/b/1/{doc_id()}", json={})
        assert (r.status_code, r.headers["Retry-After"]) == (503, "7")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out
