"""``pingsdk schema bigquery`` via main() and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pingsdk._cli import main
from tests.support import SAMPLE

SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "clientId": {"type": "string"},
        "extra": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["clientId"],
}


def _write(root: Path, namespace: str) -> Path:
    path = root / "schemas" / namespace / "my-ping" / "my-ping.1.schema.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return path


def test_production_output_with_namespace_from_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "telemetry")
    assert main(["schema", "bigquery", str(path)]) == 0
    out, err = capsys.readouterr()
    columns = json.loads(out)
    names = [c["name"] for c in columns]
    assert "client_id" in names and "submission_timestamp" in names and "extra" not in names
    (metadata,) = [c for c in columns if c["name"] == "metadata"]
    assert "uri" in [f["name"] for f in metadata["fields"]]  # telemetry metadata
    assert (
        err == "pingsdk: warning: extra: not a column: anyOf is not translated by the transpiler\n"
    )
    assert out.endswith("]\n")


def test_namespace_option_and_out_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "telemetry")
    out_file = tmp_path / "my-ping.1.bq"
    assert (
        main(["schema", "bigquery", str(path), "--namespace", "my-app", "--out", str(out_file)])
        == 0
    )
    out, _ = capsys.readouterr()
    assert out == ""
    (metadata,) = [c for c in json.loads(out_file.read_text()) if c["name"] == "metadata"]
    assert "uri" not in [f["name"] for f in metadata["fields"]]  # structured metadata


def test_transpiler_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    assert main(["schema", "bigquery", str(path), "--transpiler-defaults"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [
        {"mode": "REQUIRED", "name": "clientId", "type": "STRING"},
        {"mode": "NULLABLE", "name": "extra", "type": "STRING"},
    ]
    assert "extra: stored as a JSON STRING" in err


def test_user_errors_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "bigquery", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "array"}', encoding="utf-8")
    assert main(["schema", "bigquery", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pingsdk: error: the document: an array without items")
    assert "Traceback" not in err


def test_real_process_matches_a_repository_file(tmp_path: Path) -> None:
    schema = SAMPLE / "schemas" / "eng-workflow" / "build" / "build.1.schema.json"
    if not schema.is_file():
        pytest.skip(f"mps-sample not found at {SAMPLE}")
    exe = Path(sys.executable).with_name("pingsdk")
    proc = subprocess.run(
        [str(exe), "schema", "bigquery", str(schema)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == schema.with_name("build.1.bq").read_bytes()
    assert proc.stderr == b""
