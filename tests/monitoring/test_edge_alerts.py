"""The docType monitor's alerts on a real local edge, with scaled windows.

* the monitor's golden texts (its integration test's inputs) through the edge's own record
  handling (``EdgeAlerts``: the stored record dict in, the monitor's text out);
* real HTTP through ``pingsdk serve --monitor ... --monitor-window 60s`` (a process) and an
  in-process ``EdgeServer``: the alert printed, in ``/__monitor__``, in ``pingsdk monitor``, and
  marked in the viewer.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

import pingsdk
from examples import pings
from pingsdk.edge import EdgeServer
from pingsdk.edge._alerting import EdgeAlerts
from pingsdk.monitoring._alerts import dashboard_uri
from pingsdk.monitoring._board import AlertBoard

from .test_golden_alerts import CONFIG, GOLDEN, generate

ROOT = Path(__file__).resolve().parents[2]


class Golden(
    pingsdk.Ping,
    namespace="telemetry-test",
    doctype="main",
    version=4,
    registry=pingsdk.PingRegistry(),
    monitor=CONFIG,
):
    """The golden run's docType."""

    created: str = Field(description="Creation time (RFC 3339).")
    channel: str = Field(description="Update channel.")


def test_golden_texts_through_the_edges_records() -> None:
    """Each golden input becomes the record dict the edge stores, fed to its EdgeAlerts.

    The monitor's day lasts 1440 s here (``--monitor-window 1440``): one golden minute is one
    second, so every time stays an exact number of seconds.
    """
    alerting = EdgeAlerts([Golden], minute=1.0)
    golden_links = dashboard_uri("integration_test", "analysis.doctype_monitor")
    alerting.board = AlertBoard(
        [Golden], minute=1.0, start=8 * 1440, dashboard=lambda ns, dt, buf: golden_links(buf)
    )
    engine = alerting.board.engine("telemetry-test", "main")
    assert engine is not None
    engine.latency_checks = 2  # the golden run's latency window phase (test_golden_alerts)
    raised = []
    for sub in generate():
        at = sub.at / 60
        raised += alerting.board.advance(at, idle=False)
        payload: dict[str, Any] = {"channel": sub.channel}
        if sub.created is not None:
            created = datetime.datetime.fromtimestamp(sub.created / 60, datetime.timezone.utc)
            payload["created"] = created.isoformat()
        record = {
            "received_at": at,
            "namespace": "telemetry-test",
            "doctype": "main",
            "status": 200,
            "payload": json.dumps(payload),
            "decoded_size": sub.size,
            "wire_size": sub.size,
            "errors": "[]",
            "verdict": "valid",
            "valid": 1,
        }
        if sub.kind == "error":
            record.update(valid=None, decode_error=sub.error, verdict="decode error")
        alerting.observe(record, sub.kind == "duplicate")
    texts = {alert.channel: alert.detail for _, _, alert in raised}
    expected = dict(GOLDEN)
    # The SAX day of the scaled run: minutes 15 * 1440 to 16 * 1440 - 1, one second each.
    start, end = time.gmtime(15 * 1440), time.gmtime(16 * 1440 - 1)
    expected["Other"] = (
        GOLDEN["Other"]
        .replace("19700116 000000", time.strftime("%Y%m%d %H%M%S", start))
        .replace("19700116 235900", time.strftime("%Y%m%d %H%M%S", end))
    )
    assert texts == expected


def _post(http: httpx.Client, payload: bytes) -> int:
    path = pingsdk.wire.submit_path("pingsdk-demo", "session-summary", 1, str(uuid.uuid4()))
    return http.post(path, content=payload).status_code


def test_serve_prints_the_inactivity_alert_and_reports_it(
    examples_schema_repo: Path, tmp_path: Path
) -> None:
    db = tmp_path / "edge.db"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pingsdk",
            "serve",
            "--schemas",
            str(examples_schema_repo),
            "--db",
            str(db),
            "--monitor",
            str(ROOT / "examples" / "pings.py"),
            "--monitor-window",
            "60s",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert server.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in server.stdout])  # type: ignore[union-attr]
    reader.start()
    try:
        url = lines.get(timeout=30).split()[-1]
        with httpx.Client(base_url=url) as http:
            # Valid release data, then only invalid pings: no new valid data.
            for _ in range(3):
                assert _post(http, pings.realistic_session().to_json_bytes()) == 200
            invalid = {**pings.realistic_session().to_payload(), "duration_seconds": -1}
            assert _post(http, json.dumps(invalid).encode()) == 200
            out: list[str] = []
            deadline = time.monotonic() + 30
            while "inactivitiy timeout" not in "".join(out) and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    out.append(lines.get(timeout=1))
            text = "".join(out)
            header = next(line for line in out if "inactivitiy timeout" in line)
            assert header.rstrip().endswith(
                "pingsdk-demo/session-summary [release] inactivitiy timeout"
            )
            detail = (
                "No new valid data has been seen in 30 minutes\n\n"
                f"graph: {url}/__monitor__#pingsdk-demo/session-summary/volume\n"
            )
            deadline = time.monotonic() + 10
            while detail not in text and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    text += lines.get(timeout=1)
            assert detail in text

            report = http.get("/__monitor__").json()
            [doc] = [d for d in report["alerts"] if d["doctype"] == "session-summary"]
            [alert] = doc["alerts"]["release"]
            assert alert["detail"] == detail and alert["alert_type"] == "volume"
            assert doc["channels"]["release"]["valid"] == 3
            assert doc["channels"]["release"]["errors"] == 1
            page = http.get("/").text
            assert "docType monitor: 1 alert(s)" in page and "monitor alert" in page

        shown = subprocess.run(
            [sys.executable, "-m", "pingsdk", "monitor", "--url", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert "pingsdk-demo/session-summary [release] inactivitiy timeout (volume)" in shown.stdout
        assert "    No new valid data has been seen in 30 minutes" in shown.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        reader.join(timeout=30)

    # The same records replayed from the database give the same alert.
    replayed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingsdk",
            "monitor",
            "--db",
            str(db),
            str(ROOT / "examples" / "pings.py"),
            "--monitor-window",
            "60s",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode == 0, replayed.stderr
    docs = json.loads(replayed.stdout)["alerts"]
    [doc] = [d for d in docs if d["doctype"] == "session-summary"]
    assert [a["summary"] for a in doc["alerts"]["release"]] == ["inactivitiy timeout"]


def test_ingestion_errors_over_http(examples_schema_repo: Path) -> None:
    """1,000 invalid nightly pings in the (scaled) hour: the monitor's ingestion error text."""
    printed: list[str] = []
    with (
        EdgeServer(
            schemas=examples_schema_repo,
            monitor=[pings.SessionSummary],
            monitor_window=600,  # a monitor hour lasts 25 s, a minute 0.42 s
            on_alert=printed.append,
        ) as edge,
        httpx.Client(base_url=edge.url) as http,
    ):
        session = pings.realistic_session().to_payload()
        invalid = {
            **session,
            "environment": {**session["environment"], "channel": "nightly"},
            "duration_seconds": -1,
        }
        body = json.dumps(invalid).encode()
        for _ in range(1000):
            assert _post(http, body) == 200
        deadline = time.monotonic() + 30
        while not printed and time.monotonic() < deadline:
            time.sleep(0.1)
        url = edge.url
    [text] = printed
    assert text.splitlines()[0].endswith("pingsdk-demo/session-summary [nightly] ingestion error")
    assert text.split("\n", 1)[1] == (
        "Ingestion Data for the Last Hour\n"
        "================================\n"
        "valid            : 0\n"
        "error            : 1000\n"
        "percent_error    : 100\n"
        "max_percent_error: 2\n"
        "\n"
        f"graph: {url}/__monitor__#pingsdk-demo/session-summary/ingestion_error\n"
        "\n"
        "Diagnostic (count/error)\n"
        "========================\n"
        "1000\tschema: $.duration_seconds: minimum\n"
    )
