"""The CLI: schema parquet / check / diff and review, in-process and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pingsdk._cli import main
from pingsdk.schema._export import export_schema, render_schema, schema_path
from pingsdk.schema._parquet import parquet_schema
from tests.schema.support import load

from .parquet_grammar import parse
from .review_pings import SearchCounts

PINGS = str(Path(__file__).with_name("review_pings.py"))
PINGSDK = Path(sys.executable).with_name("pingsdk")


def _write(path: Path, schema: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_parquet_for_a_schema_file(
    mps_sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = mps_sample / "schemas/telemetry/core/core.9.schema.json"
    assert main(["schema", "parquet", str(source), "--out", str(tmp_path)]) == 0
    out = tmp_path / "core.9.parquetmr.txt"
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text() == parquet_schema(load(source), name="core")
    assert parse(out.read_text()).name == "core"


def test_parquet_for_ping_classes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "parquet", PINGS, "--out", str(tmp_path), "--no-metadata"]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.txt"))
    assert written == [
        "schemas/review-demo/draft/draft.1.parquetmr.txt",
        "schemas/review-demo/search-counts/search-counts.2.parquetmr.txt",
    ]
    message = parse((tmp_path / written[1]).read_text())
    assert [f.name for f in message.fields] == ["count", "engines", "locale"]
    assert message.field("engines").annotation == "LIST"
    assert message.field("locale").repetition == "optional"
    draft = parse((tmp_path / written[0]).read_text())
    assert draft.field("hits").annotation == "MAP"
    assert capsys.readouterr().err == ""


def test_parquet_rejects_a_badly_named_schema_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path / "core.schema.json", {"type": "object"})
    assert main(["schema", "parquet", str(bad)]) == 2
    assert "<doctype>.<version>.schema.json" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["\u00b2", "01", "0", "99999999999999999999"])
def test_parquet_rejects_a_version_the_pipeline_would_not_write(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The one version rule of pingsdk._naming, not str.isdigit(): "²" crashed int() before.
    bad = _write(tmp_path / f"core.{version}.schema.json", {"type": "object"})
    assert main(["schema", "parquet", str(bad)]) == 2
    assert "<doctype>.<version>.schema.json" in capsys.readouterr().err


def test_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old.json", {"properties": {"a": {"type": "string"}}})
    wider = _write(
        tmp_path / "wider.json",
        {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
    )
    narrower = _write(tmp_path / "narrower.json", {"properties": {}})
    assert main(["schema", "diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out == "no differences\n"
    assert main(["schema", "diff", str(old), str(wider)]) == 0
    assert capsys.readouterr().out == (
        "compatible $.b: new optional field\n0 breaking, 1 compatible change(s)\n"
    )
    assert main(["schema", "diff", str(old), str(narrower)]) == 1
    assert capsys.readouterr().out == (
        "BREAKING $.a: field removed (needs a new version)\n1 breaking, 0 compatible change(s)\n"
    )


def test_check_against_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    target = f"{PINGS}:SearchCounts"
    rel = schema_path(SearchCounts.ping_info())
    assert main(["schema", "check", target, "--repo", str(repo)]) == 0
    assert "new schema" in capsys.readouterr().out

    current = export_schema(SearchCounts)
    deployed = repo / rel
    deployed.parent.mkdir(parents=True)
    deployed.write_text(render_schema(current), encoding="utf-8")
    assert main(["schema", "check", target, "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == f"{rel}: unchanged: ok\n"

    # The deployed version lacks the optional "locale": adding it is compatible.
    older = json.loads(json.dumps(current))
    del older["properties"]["locale"]
    deployed.write_text(render_schema(older), encoding="utf-8")
    assert main(["schema", "check", target, "--repo", str(repo)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{rel}: compatible $.locale: new optional field",
        f"{rel}: compatible: ok",
    ]

    # The deployed version had a field the class no longer has, and a wider count.
    older = json.loads(json.dumps(current))
    older["properties"]["sessions"] = {"type": "integer", "description": "Sessions."}
    del older["properties"]["count"]["minimum"]
    deployed.write_text(render_schema(older), encoding="utf-8")
    assert main(["schema", "check", target, "--repo", str(repo)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{rel}: BREAKING $.sessions: field removed (needs a new version)",
        f"{rel}: BREAKING $.count: minimum narrowed: none -> >= 0 (needs a new version)",
    ]
    assert "declare version=3 (a new schema file)" in captured.err
    assert "schema check failed for search-counts version 2" in captured.err


def test_check_refuses_schema_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = _write(tmp_path / "x.1.schema.json", {})
    assert main(["schema", "check", str(schema), "--repo", str(tmp_path)]) == 2
    assert "schema diff" in capsys.readouterr().err


def test_review_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", PINGS]) == 0
    text = capsys.readouterr().out
    assert text.count("# Data review request: ") == 2
    assert "\n---\n\n# Data review request: review-demo/draft version 1" in text

    out = tmp_path / "review.md"
    assert main(["review", PINGS, "--check", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert out.read_text() == text
    assert "review-demo/search-counts version 2: complete" in captured.out
    assert "review-demo/draft version 1: missing DataReview(why=...): question 2" in captured.err
    assert "1 of 2 ping(s) lack mandatory data review facts" in captured.err

    assert main(["review", f"{PINGS}:SearchCounts", "--check"]) == 0
    assert capsys.readouterr().out == "review-demo/search-counts version 2: complete\n"


def test_real_subprocesses(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.json", {"properties": {"a": {"type": "string"}}})
    new = _write(tmp_path / "new.json", {"properties": {"a": {"type": ["string", "null"]}}})
    proc = subprocess.run(
        [str(PINGSDK), "schema", "diff", str(new), str(old)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("BREAKING $.a: null is no longer allowed (needs a new version)")
    proc = subprocess.run(
        [str(PINGSDK), "review", PINGS, "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "draft version 1: missing" in proc.stderr
