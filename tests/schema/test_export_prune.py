"""Re-export removes the validation files of examples a class no longer declares (#10), and
only files export wrote."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pydantic import Field

import pingsdk
from pingsdk._cli import main


def _counts(examples: dict[str, dict[str, object]], fails: dict[str, dict[str, object]]) -> type:
    class Counts(
        pingsdk.Ping,
        namespace="team",
        doctype="counts",
        version=1,
        registry=pingsdk.PingRegistry(),
        examples=examples,
        fail_examples=fails,
    ):
        """How many?"""

        count: int = Field(ge=0, description="How many.")

    return Counts


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_stale_examples_are_removed_and_listed(tmp_path: Path) -> None:
    first = _counts({"one": {"count": 1}, "two": {"count": 2}}, {"neg": {"count": -1}})
    pingsdk.schema.export_repository([first], tmp_path)
    folder = tmp_path / "validation/team"
    assert _names(folder) == [
        "counts.1.neg.fail.json",
        "counts.1.one.pass.json",
        "counts.1.two.pass.json",
    ]
    # Files export did not write: other doctypes and versions, a hand-written example of
    # this class in another format, a file with another naming.
    (folder / "counts.2.one.pass.json").write_text('{"count": 1}\n')
    (folder / "other.1.two.pass.json").write_text(pingsdk.schema.render_schema({"count": 2}))
    (folder / "counts.1.manual.pass.json").write_text('{"count":7}')
    (folder / "notes.txt").write_text("kept")

    # "two" is gone and "neg" moved from a fail example to a pass example name.
    second = _counts({"one": {"count": 1}, "neg": {"count": 0}}, {})
    with pytest.warns(
        pingsdk.schema.SchemaWarning, match=r"counts\.1\.manual\.pass\.json"
    ) as caught:
        written = pingsdk.schema.export_repository([second], tmp_path)
    assert len(caught) == 1
    assert "pingsdk did not write it" in str(caught[0].message)
    assert written.removed == [folder / "counts.1.neg.fail.json", folder / "counts.1.two.pass.json"]
    assert written.kept == [folder / "counts.1.manual.pass.json"]
    assert _names(folder) == [
        "counts.1.manual.pass.json",
        "counts.1.neg.pass.json",
        "counts.1.one.pass.json",
        "counts.2.one.pass.json",
        "notes.txt",
        "other.1.two.pass.json",
    ]
    # Still a list of the written files, as before.
    assert [p.name for p in written if p.parent == folder] == [
        "counts.1.neg.pass.json",
        "counts.1.one.pass.json",
    ]
    # A third export has nothing left to remove.
    with pytest.warns(pingsdk.schema.SchemaWarning):
        assert pingsdk.schema.export_repository([second], tmp_path).removed == []


def test_cli_lists_removed_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "pings.py"
    source = textwrap.dedent(
        """
        from pydantic import Field
        import pingsdk

        class Counts(pingsdk.Ping, namespace="team", doctype="counts", version=1,
                     registry=pingsdk.PingRegistry(), examples=EXAMPLES):
            '''How many?'''
            count: int = Field(ge=0, description="How many.")
        """
    )
    out = tmp_path / "repo"
    module.write_text(source.replace("EXAMPLES", '{"a": {"count": 1}, "b": {"count": 2}}'))
    assert main(["schema", "export", str(module), "--out", str(out)]) == 0
    capsys.readouterr()
    # The class after an edit (another file: the first module stays imported in this process).
    edited = tmp_path / "pings_edited.py"
    edited.write_text(source.replace("EXAMPLES", '{"a": {"count": 1}}'))
    assert main(["schema", "export", str(edited), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    stale = out / "validation/team/counts.1.b.pass.json"
    assert lines[-1] == f"removed {stale}"
    assert not stale.exists()
    assert json.loads((out / "validation/team/counts.1.a.pass.json").read_text()) == {"count": 1}
    assert pingsdk.schema.validate_repository(out).summary() == "1 passed, 0 failed"
