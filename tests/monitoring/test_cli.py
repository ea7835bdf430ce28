"""The monitoring commands' errors and JSON output, run in-process through the CLI's main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pingsdk._cli import main

ROOT = Path(__file__).resolve().parents[2]
PINGS = str(ROOT / "examples" / "pings.py")


def test_suggest_from_examples_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--suggest", PINGS, "--examples", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    [session] = [d for d in docs if d["doctype"] == "session-summary"]
    found = {
        (s["channel"], s["alert_type"], s["setting"]): s["value"] for s in session["suggestions"]
    }
    assert found[("release", "size", "average")] == 588
    assert found[("nightly", "size", "average")] == 408
    assert session["source"] == "examples"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["monitor", "--examples", PINGS], "--examples goes with --suggest"),
        (["monitor", "--suggest", "--examples"], "--suggest needs TARGET"),
        (["serve", "--monitor-window", "60s"], "--monitor-window needs --monitor TARGET"),
        (["serve", "--monitor", PINGS, "--monitor-window", "soon"], "monitor window 'soon'"),
    ],
)
def test_usage_errors_say_what_to_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_schema_monitor_without_any_monitor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "plain_pings.py"
    module.write_text(
        "from pydantic import Field\n"
        "import pingsdk\n"
        "class Plain(pingsdk.Ping, namespace='plain-app', doctype='plain', version=1,\n"
        "            registry=pingsdk.PingRegistry()):\n"
        "    '''A ping without thresholds.'''\n"
        "    n: int = Field(description='A number.')\n"
    )
    assert main(["schema", "monitor", str(module), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Plain declares no monitor=pingsdk.monitoring.DocTypeMonitor(...); skipped" in err
    assert "no Ping class declares monitor=" in err
    assert not (tmp_path / "out").exists()


def test_suggest_from_a_running_edge(capsys: pytest.CaptureFixture[str]) -> None:
    import uuid

    import httpx

    import pingsdk
    from examples import pings
    from pingsdk.edge import EdgeServer

    sizes = []
    with EdgeServer(monitor=[pings.SearchCounts, pings.SessionSummary]) as edge:
        for _ in range(3):
            path = pingsdk.wire.submit_path("pingsdk-demo", "session-summary", 1, str(uuid.uuid4()))
            body = pings.realistic_session().to_json_bytes()
            sizes.append(len(body))
            assert httpx.post(edge.url + path, content=body).status_code == 200
        assert main(["monitor", "--suggest", PINGS, "--url", edge.url, "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    [session] = [d for d in docs if d["doctype"] == "session-summary"]
    found = {
        (s["channel"], s["alert_type"], s["setting"]): s["value"] for s in session["suggestions"]
    }
    assert found[("release", "size", "average")] == round(sum(sizes) / len(sizes))
    assert found[("release", "ingestion_error", "percent")] == 0.5  # no errors: the floor
    assert found[("release", "latency", "hours")] == 1  # all arrived within the hour
    [counts] = [d for d in docs if d["doctype"] == "search-counts"]
    assert counts["suggestions"] == []  # nothing of that docType arrived
