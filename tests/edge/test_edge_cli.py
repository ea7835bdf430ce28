"""``pingsdk serve`` and ``pingsdk monitor``: in-process and as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pingsdk._cli import main
from pingsdk.edge import EdgeServer
from tests.edge.support import doc_id

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


def test_serve_v_logs_one_line_per_request(schema_tree: Path) -> None:
    proc = subprocess.Popen(
        [str(PINGSDK), "serve", "--schemas", str(schema_tree), "-v"],  # -v after the command
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        d = doc_id()
        with httpx.Client() as client:
            client.post(f"{url}/submit/my-app/app-event/1/{d}", json=GOOD)
            client.post(f"{url}/submit/my-app/app-event/1/{d}", json={"name": "SECRET-VALUE"})
            client.post(f"{url}/submit/my-app/nope/1/{d}", json=GOOD)
            client.get(f"{url}/favicon.ico")
            client.post(f"{url}/submit/my-app/app-event/{d}", json=GOOD)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = [line.split(" edge: ", 1)[1] for line in err.splitlines() if " edge: " in line]
    requests = [line for line in lines if line[:3].isdigit()]
    assert requests == [
        f"200 POST /submit/my-app/app-event/1/{d} valid",
        f"200 POST /submit/my-app/app-event/1/{d} invalid: 1 schema error",
        f"200 POST /submit/my-app/nope/1/{d} unknown doctype: no schema my-app/nope",
        "404 GET /favicon.ico not a submit path",
        f"404 POST /submit/my-app/app-event/{d} refused: submit path needs 4 elements, got 3",
    ]
    assert "SECRET-VALUE" not in err  # payload contents only at DEBUG


def test_verbose_flag_before_or_after_the_command() -> None:
    from pingsdk._cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["-v", "monitor", "--db", "x"]).verbose == 1
    assert parser.parse_args(["monitor", "--db", "x", "-vv"]).sub_verbose == 2
    assert parser.parse_args(["schema", "export", "m", "--out", "o", "-v"]).sub_verbose == 1


def test_serve_help_says_the_store_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "keeps the newest 10,000 requests in memory (--max-records)" in text
    assert "--max-records N" in text and "still count every request" in text
