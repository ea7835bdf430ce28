"""``pingsdk schema export`` and ``pingsdk validate``, in-process and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pingsdk
from pingsdk._cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "pings.py"
PINGSDK = Path(sys.executable).parent / "pingsdk"


def test_export_prints_each_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "export", str(EXAMPLES), "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(
        tmp_path / "schemas/pingsdk-demo/search-counts/search-counts.1.schema.json"
    )
    assert lines[1] == str(tmp_path / "schemas/pingsdk-demo/search-counts/search-counts.1.bq")
    assert len(lines) == 12  # per ping: schema, .bq, then its validation examples
    assert all(Path(line).is_file() for line in lines)


def test_export_module_target_and_draft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src"
    package.mkdir()
    (package / "team_pings.py").write_text(
        textwrap.dedent(
            '''
            import pingsdk

            class Hello(pingsdk.Ping, namespace="team", doctype="hello", version=3,
                        registry=pingsdk.PingRegistry()):
                """Says hello."""
                n: int
            '''
        )
    )
    monkeypatch.syspath_prepend(str(package))
    out = tmp_path / "repo"
    assert main(["schema", "export", "team_pings", "--out", str(out), "--draft", "draft-06"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(out / "schemas/team/hello/hello.3.schema.json"),
        str(out / "schemas/team/hello/hello.3.bq"),
    ]
    schema = json.loads((out / "schemas/team/hello/hello.3.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"


def test_export_unsupported_type_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bad_pings.py"
    target.write_text(
        textwrap.dedent(
            """
            import pingsdk

            class Blob(pingsdk.Ping, namespace="team", doctype="blob", version=1,
                       registry=pingsdk.PingRegistry()):
                data: bytes
            """
        )
    )
    assert main(["schema", "export", str(target), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("pingsdk: error: Blob: field 'data' cannot be exported")
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_export_missing_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "export", "no_such_module_xyz", "--out", str(tmp_path)]) == 2
    assert "no_such_module_xyz: cannot import" in capsys.readouterr().err


def _schema_file(tmp_path: Path) -> Path:
    main(["schema", "export", f"{EXAMPLES}", "--out", str(tmp_path)])
    return tmp_path / "schemas/pingsdk-demo/session-summary/session-summary.1.schema.json"


def test_validate_payloads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = _schema_file(tmp_path)
    good = tmp_path / "validation/pingsdk-demo/session-summary.1.full.pass.json"
    bad = tmp_path / "bad.json"
    payload = json.loads(good.read_text())
    payload["environment"]["channel"] = "aurora"
    payload["tabs_opened"] = -2
    bad.write_text(json.dumps(payload))
    capsys.readouterr()
    assert main(["validate", str(schema), str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"
    assert main(["validate", str(schema), str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{good}: valid"
    assert out[1] == f"{bad}: invalid (2 error(s))"
    assert out[2].startswith("  $.environment.channel: 'aurora' is not one of")
    assert out[3] == "  $.tabs_opened: -2 is less than the minimum of 0"


def test_validate_format_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = _schema_file(tmp_path)
    payload = json.loads(
        (tmp_path / "validation/pingsdk-demo/session-summary.1.full.pass.json").read_text()
    )
    payload["started_at"] = "2025-03-01T09:30:00"  # naive: no offset
    naive = tmp_path / "naive.json"
    naive.write_text(json.dumps(payload))
    capsys.readouterr()
    assert main(["validate", str(schema), str(naive)]) == 0
    assert main(["validate", "--format-check", str(schema), str(naive)]) == 1
    assert "$.started_at: '2025-03-01T09:30:00' is not a 'date-time'" in capsys.readouterr().out


def test_validate_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "only-schema.json")]) == 2
    assert "usage: pingsdk validate SCHEMA.json PAYLOAD.json" in capsys.readouterr().err
    assert main(["validate", "--repo", str(tmp_path), "x.json"]) == 2
    assert "either --repo DIR or" in capsys.readouterr().err
    bad_schema = tmp_path / "s.json"
    bad_schema.write_text('{"$schema": "http://json-schema.org/draft-04/schema#", "type": 3}')
    payload = tmp_path / "p.json"
    payload.write_text("{}")
    assert main(["validate", str(bad_schema), str(payload)]) == 2
    assert "not a valid schema under its declared draft" in capsys.readouterr().err


def test_validate_repo_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _schema_file(tmp_path)
    stray = tmp_path / "validation/pingsdk-demo/search-counts.9.orphan.pass.json"
    stray.write_text("{}")
    capsys.readouterr()
    assert main(["validate", "--repo", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAIL validation/pingsdk-demo/search-counts.9.orphan.pass.json: schema missing: "
        "schemas/pingsdk-demo/search-counts/search-counts.9.schema.json",
        "8 passed, 1 failed",
    ]


def test_validate_repo_mps_sample_subprocess(mps_sample: Path) -> None:
    proc = subprocess.run(
        [str(PINGSDK), "validate", "--repo", str(mps_sample)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].endswith(" passed, 0 failed")


def test_export_then_validate_subprocess(tmp_path: Path) -> None:
    export = subprocess.run(
        [str(PINGSDK), "schema", "export", str(EXAMPLES), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert export.returncode == 0, export.stderr
    assert len(export.stdout.splitlines()) == 12
    check = subprocess.run(
        [sys.executable, "-m", "pingsdk", "validate", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == "8 passed, 0 failed\n"


def test_export_file_already_imported_as_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import examples.pings  # the same file, imported under its package name first

    assert main(["schema", "export", str(EXAMPLES), "--out", str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 12
    assert examples.pings.SearchCounts in pingsdk.default_registry


def test_export_writes_bq_and_warns_about_dropped_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "union_pings.py"
    target.write_text(
        textwrap.dedent(
            '''
            from pydantic import BaseModel, Field
            import pingsdk

            class A(BaseModel):
                a: int = Field(description="a")

            class B(BaseModel):
                b: str = Field(description="b")

            class Mixed(pingsdk.Ping, namespace="team", doctype="mixed", version=1,
                        registry=pingsdk.PingRegistry()):
                """Mixed shapes."""
                kept: int = Field(description="Becomes a column.")
                either: A | B = Field(description="anyOf: the transpiler drops it.")
            '''
        )
    )
    out = tmp_path / "repo"
    assert main(["schema", "export", str(target), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "warning: Mixed: either will not become a BigQuery column" in captured.err
    bq = json.loads((out / "schemas/team/mixed/mixed.1.bq").read_text())
    names = [column["name"] for column in bq]
    assert "kept" in names and "either" not in names
    assert "metadata" in names and "submission_timestamp" in names  # structured ingestion
