"""Schema comparison without false BREAKING (#10): patterns as languages, non-keyword members,
equivalent patternProperties keys, a removed field reported once; the true positives stay."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pingsdk._cli import main
from pingsdk.schema import SchemaChange, compare_schemas
from pingsdk.schema._patterns import compare_patterns

# Pattern changes the schema repository accepted for deployed versions: the language grew.
WIDENINGS = [
    (r"^[0-9]{2}\.", r"^[0-9]{2,3}\."),
    (r"^[a-z_][a-z0-9_]{0,29}(\.[a-z_][a-z0-9_]{0,29})+$", r"^[a-z_][a-z0-9_\.]+$"),
    (r"^[0-9a-f]{64}$", r"^([0-9a-f]{64}|0{32})$"),
    (r"^[a-z-][a-z0-9-]*$", r"^[a-z-_][a-z0-9-_]*$"),
]
# Real narrowings, each with a string that matched before and no longer does.
NARROWINGS = [
    (r"[0-9]+", r"^[0-9]+$"),
    (r"^[a-z_][a-z0-9_]*$", r"^[a-z-][a-z0-9-]*$"),
    (None, r"^[0-9]+$"),
]


def _with_pattern(pattern: str | None) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "string"}
    if pattern is not None:
        prop["pattern"] = pattern
    return {"type": "object", "properties": {"v": prop}}


def _only(changes: list[SchemaChange]) -> SchemaChange:
    assert len(changes) == 1, [str(c) for c in changes]
    return changes[0]


@pytest.mark.parametrize(("old", "new"), WIDENINGS)
def test_pattern_widenings_are_compatible(old: str, new: str) -> None:
    assert compare_patterns(old, new).verdict == "widened"
    change = _only(compare_schemas(_with_pattern(old), _with_pattern(new)))
    assert (change.path, change.kind, change.breaking, change.review) == (
        "$.v",
        "pattern-widened",
        False,
        False,
    )
    assert str(change).startswith("compatible $.v: pattern changed from")
    # The reverse direction is a narrowing, with a string that proves it.
    back = _only(compare_schemas(_with_pattern(new), _with_pattern(old)))
    assert (back.kind, back.breaking) == ("pattern-changed", True)
    relation = compare_patterns(new, old)
    assert relation.verdict == "narrowed" and relation.example is not None
    assert re.search(new, relation.example) and not re.search(old, relation.example)


@pytest.mark.parametrize(("old", "new"), NARROWINGS)
def test_pattern_narrowings_stay_breaking(old: str | None, new: str) -> None:
    change = _only(compare_schemas(_with_pattern(old), _with_pattern(new)))
    assert (change.kind, change.breaking) == ("pattern-changed", True)
    assert str(change).startswith("BREAKING $.v: pattern")
    example = compare_patterns(old, new).example
    assert example is not None
    # The counterexample is real: accepted before (any string when there was no pattern).
    assert old is None or re.search(old, example)
    assert not re.search(new, example)
    assert f"{example!r} matched before and no longer does" in change.message


def test_pattern_semantics_are_unanchored_searches() -> None:
    assert compare_patterns(r"^\d+$", r"^[0-9]+$").verdict == "equal"
    assert compare_patterns(None, ".*").verdict == "equal"  # matches every string
    assert compare_patterns("abc", "b").verdict == "widened"  # any string holding "b"
    assert compare_patterns("a|^b$", "a|b").verdict == "widened"
    assert compare_patterns(r"^\u00e9$", "^é$").verdict == "equal"
    change = _only(compare_schemas(_with_pattern(r"^\d+$"), _with_pattern("^[0-9]+$")))
    assert (change.kind, change.breaking) == ("pattern-equivalent", False)


def test_undecidable_patterns_ask_for_review() -> None:
    # A lookahead is not a regular expression: no verdict, but a counterexample is searched.
    relation = compare_patterns("^a+$", "^(?!aa)a+$")
    assert relation.verdict == "unknown"
    assert relation.example == "aa"
    assert "not a regular expression" in relation.reason
    change = _only(compare_schemas(_with_pattern("^a+$"), _with_pattern("^(?!aa)a+$")))
    assert (change.kind, change.breaking, change.review) == ("pattern-review", False, True)
    assert str(change).startswith("review $.v: pattern changed from")
    assert "'aa' matched before and no longer does" in str(change)
    # Counted repetitions too large to unroll are not built: review, no counterexample.
    large = compare_patterns("^[a-z]{1,5000}$", "^[a-z]+$")
    assert large.verdict == "unknown" and "too large" in large.reason


def test_edge_cases_of_pattern_syntax() -> None:
    # The empty pattern accepts every string; "^$" only the empty one.
    assert compare_patterns("", ".*").verdict == "equal"
    assert compare_patterns("^$", "^a?$").verdict == "widened"
    # An escaped backslash before "u0041" is a literal backslash, not the escape of "A".
    relation = compare_patterns(r"\\u0041", "A")
    assert (relation.verdict, relation.example) == ("narrowed", "\\u0041")
    assert compare_patterns(r"[\u0041-\u0043]", "[A-C]").verdict == "equal"
    # Broken patterns are not decided, and the reason says which side and why.
    for broken, why in (("(a|b", "cannot be read"), ("a)", "unbalanced parenthesis")):
        relation = compare_patterns(broken, "a")
        assert relation.verdict == "unknown"
        assert relation.reason.startswith(f"old pattern {broken!r}")
        assert why in relation.reason


def test_members_that_are_not_keywords_are_annotations() -> None:
    old = {
        "type": "object",
        "name": "old-name",
        "properties": {"a": {"type": "string", "processData": {"x": 1}}},
    }
    new = {
        "type": "object",
        "name": "new-name",
        "properties": {"a": {"type": "string", "processData": {"x": 2}}},
    }
    changes = compare_schemas(old, new)
    assert [(c.path, c.kind, c.breaking) for c in changes] == [
        ("$", "annotation-changed", False),
        ("$.a", "annotation-changed", False),
    ]
    assert "not a JSON Schema keyword" in changes[0].message
    # A real keyword the tool cannot reason about is still breaking.
    new["properties"]["a"]["anyOf"] = [{"minLength": 1}]
    assert [(c.kind, c.breaking) for c in compare_schemas(old, new) if c.path == "$.a"] == [
        ("annotation-changed", False),
        ("keyword-changed", True),
    ]


def test_equivalent_pattern_property_keys_are_the_same_property() -> None:
    old = {"type": "object", "patternProperties": {r"^\d+$": {"type": "integer"}}}
    new = {"type": "object", "patternProperties": {"^[0-9]+$": {"type": "integer"}}}
    change = _only(compare_schemas(old, new))
    assert (change.kind, change.breaking) == ("pattern-equivalent", False)
    # Their values are still compared.
    new["patternProperties"]["^[0-9]+$"] = {"type": "string"}
    kinds = [(c.path, c.kind, c.breaking) for c in compare_schemas(old, new)]
    assert (r"$.<^\d+$>", "type-changed", True) in kinds
    # A key of another language is removed (and the new one added).
    other = {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "integer"}}}
    assert [c.kind for c in compare_schemas(old, other)] == [
        "field-removed",
        "pattern-property-added",
    ]


def test_a_removed_field_is_reported_once() -> None:
    old = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
    }
    new = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}
    assert [(c.path, c.kind) for c in compare_schemas(old, new)] == [("$.b", "field-removed")]
    # Only no longer required (still a property): reported as such.
    kept = {**new, "properties": old["properties"]}
    assert [(c.path, c.kind) for c in compare_schemas(old, kept)] == [("$.b", "no-longer-required")]


def test_true_positives_are_kept() -> None:
    extra = {"type": ["object", "null"], "additionalProperties": {"type": "string"}}
    old: dict[str, Any] = {
        "type": "object",
        "properties": {
            "events": {
                "type": "array",
                "items": {"type": "object", "properties": {"extra": extra}},
            },
            "channel": {"type": "string", "enum": ["release", "beta", "nightly"]},
            "when": {"type": "string"},
            "id": {"type": "string"},
        },
    }
    new = json.loads(json.dumps(old))
    new["properties"]["events"]["items"]["properties"]["extra"]["type"] = "object"
    new["properties"]["channel"]["enum"] = ["release", "beta"]
    new["properties"]["when"]["format"] = "date-time"
    new["required"] = ["id"]
    found = {(c.path, c.kind) for c in compare_schemas(old, new) if c.breaking}
    assert found == {
        ("$.events[*].extra", "nullability-narrowed"),
        ("$.channel", "enum-narrowed"),
        ("$.when", "format-changed"),
        ("$.id", "newly-required"),
    }


def _write(path: Path, schema: dict[str, Any]) -> Path:
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_diff_cli_widening_narrowing_and_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index, (old, new) in enumerate(WIDENINGS):
        a = _write(tmp_path / f"w{index}a.json", _with_pattern(old))
        b = _write(tmp_path / f"w{index}b.json", _with_pattern(new))
        assert main(["schema", "diff", str(a), str(b)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("compatible $.v: pattern changed from")
        assert "BREAKING" not in out
    for index, (old, new) in enumerate(NARROWINGS):
        a = _write(tmp_path / f"n{index}a.json", _with_pattern(old))
        b = _write(tmp_path / f"n{index}b.json", _with_pattern(new))
        assert main(["schema", "diff", str(a), str(b)]) == 1
        assert capsys.readouterr().out.startswith("BREAKING $.v: pattern")
    a = _write(tmp_path / "ra.json", _with_pattern("^a+$"))
    b = _write(tmp_path / "rb.json", _with_pattern("^(?!aa)a+$"))
    assert main(["schema", "diff", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("review $.v: pattern changed from '^a+$' to '^(?!aa)a+$'")
    assert lines[1] == "0 breaking, 1 to review, 0 compatible change(s)"


def test_import_pingsdk_does_not_import_interegular() -> None:
    code = (
        "import sys, pingsdk; assert 'interegular' not in sys.modules; "
        "pingsdk.schema.compare_schemas({'pattern': 'a'}, {'pattern': 'a|b'}); "
        "assert 'interegular' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_counterexamples_are_the_same_every_run() -> None:
    # Set iteration order changes with the hash seed; the printed example must not.
    code = (
        "from pingsdk.schema._patterns import compare_patterns as c; "
        "print([c(o, n).example for o, n in "
        "[('[0-9]+', '^[0-9]+$'), ('^a+$', '^(?!aa)a+$'), ('[^a]', 'b'), ('x{3}', 'x')]])"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert outputs == {"['0~', 'aa', '~', None]\n"}


def test_check_passes_a_widened_pattern_and_fails_a_narrowed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "versioned_pings.py"
    module.write_text(
        "from pydantic import Field\n"
        "import pingsdk\n\n"
        "class Build(pingsdk.Ping, namespace='team', doctype='build', version=1,\n"
        "            registry=pingsdk.PingRegistry()):\n"
        "    '''Which builds run?'''\n"
        "    version: str = Field(pattern=r'^[0-9]{2,3}\\.', description='Version.')\n",
        encoding="utf-8",
    )
    from pingsdk._model._loader import load_pings
    from pingsdk.schema._export import export_schema, render_schema, schema_path

    (cls,) = load_pings(str(module))
    current = export_schema(cls)
    deployed = tmp_path / "repo" / schema_path(cls.ping_info())
    deployed.parent.mkdir(parents=True)
    for old, status, verdict in (
        (r"^[0-9]{2}\.", 0, "compatible $.version: pattern changed from"),
        (r"^[0-9]{2,4}\.", 1, "BREAKING $.version: pattern changed from"),
    ):
        older = json.loads(json.dumps(current))
        older["properties"]["version"]["pattern"] = old
        deployed.write_text(render_schema(older), encoding="utf-8")
        argv = ["schema", "check", str(module), "--repo", str(tmp_path / "repo")]
        assert main(argv) == status
        assert verdict in capsys.readouterr().out
