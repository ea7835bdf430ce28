"""The programs in examples/ run as a user would run them, against a real local edge."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pingsdk
from pingsdk.edge import EdgeServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="module")
def schema_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repo")
    proc = _run(
        ["-m", "pingsdk", "schema", "export", str(EXAMPLES / "pings.py"), "--out", str(out)]
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_app_delivers_every_ping_valid(schema_repo: Path, tmp_path: Path) -> None:
    with EdgeServer(schemas=schema_repo, strict=True) as edge:
        proc = _run(
            [
                str(EXAMPLES / "app.py"),
                "--endpoint",
                edge.url,
                "--queue",
                str(tmp_path / "q.db"),
                "--debug-id",
                "example-run",
            ]
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        received = edge.received()
    assert len(received) == 5
    assert all(r.status == 200 and r.valid for r in received), [r.errors for r in received]
    assert {r.doctype for r in received} == {"search-counts", "session-summary"}
    assert all(r.headers.get("X-Debug-ID") == "example-run" for r in received)
    submitted = {line.split()[3] for line in proc.stdout.splitlines() if "submitted" in line}
    assert submitted == {r.doc_id for r in received}


def test_demo_runs_and_reports_every_ping() -> None:
    proc = _run([str(EXAMPLES / "demo.py")], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "received 6 of 6 pings, 6 valid, 0 duplicates" in proc.stdout
    assert "demo OK" in proc.stdout


def test_example_pings_export_cleanly() -> None:
    # tests/ is a package, so pytest puts the repository root, which holds examples/, on sys.path.
    from examples import pings

    for cls in (pings.SearchCounts, pings.SessionSummary):
        schema = pingsdk.schema.export_schema(cls)
        for example in cls.ping_info().examples.values():
            payload = cls.model_validate(example).to_payload()
            assert pingsdk.schema.validate_payload(schema, payload) == []
