"""CLI targets: a package module from the current directory, a ``.py`` file with relative
imports, and the module name the data review text shows (#9)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pingsdk._cli import main
from pingsdk._model._loader import load_pings

ROOT = Path(__file__).resolve().parents[2]
PINGSDK = Path(sys.executable).parent / "pingsdk"

_PINGS = '''
    import pingsdk

    from ._review import REVIEW


    class Hello(pingsdk.Ping, namespace="myapp", doctype="hello", version=1, review=REVIEW,
                registry=pingsdk.PingRegistry()):
        """Says hello, to learn whether anyone is there."""

        n: int
'''

_REVIEW = """
    import pingsdk

    REVIEW = pingsdk.DataReview(
        category=pingsdk.DataCategory.TECHNICAL,
        owners=("team@example.com",),
        bugs=("https://bugzilla.mozilla.org/show_bug.cgi?id=1",),
    )
"""


def _package(root: Path, name: str = "myapp") -> Path:
    """``root/myapp/`` with ``pings.py`` importing its review from ``._review``."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_review.py").write_text(textwrap.dedent(_REVIEW))
    (package / "pings.py").write_text(textwrap.dedent(_PINGS))
    return package


def test_module_target_is_imported_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(tmp_path, "cwdapp")
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    try:
        [cls] = load_pings("cwdapp.pings")
        assert cls.__module__ == "cwdapp.pings"
        assert cls.ping_info().doctype == "hello"
        # The directory is on sys.path for the import only.
        assert sys.path == path_before
    finally:
        for name in [m for m in sys.modules if m == "cwdapp" or m.startswith("cwdapp.")]:
            del sys.modules[name]


def test_schema_export_of_a_package_module_in_a_real_process(tmp_path: Path) -> None:
    _package(tmp_path)
    out = tmp_path / "repo"
    # The console script's own sys.path does not hold the current directory: only the loader
    # can make `myapp.pings` importable here.
    proc = subprocess.run(
        [str(PINGSDK), "schema", "export", "myapp.pings", "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "schemas/myapp/hello/hello.1.schema.json").is_file()


def test_py_file_with_relative_imports_names_the_module_to_pass(tmp_path: Path) -> None:
    package = _package(tmp_path)
    proc = subprocess.run(
        [str(PINGSDK), "schema", "export", str(package / "pings.py"), "--out", "repo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line == (
        f"pingsdk: error: {package / 'pings.py'}: has relative imports, so it is part of a "
        "package; pass the module name instead of the file: myapp.pings "
        "(run from the directory that holds myapp/)"
    )
    assert not (tmp_path / "repo").exists()


def test_py_file_import_error_without_relative_imports_is_not_reworded(tmp_path: Path) -> None:
    target = tmp_path / "broken_pings.py"
    target.write_text("import no_such_module_for_pingsdk_tests\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_module_for_pingsdk_tests"):
        load_pings(str(target))
    assert not [m for m in sys.modules if "broken_pings" in m]


def _hi(module: Path) -> None:
    module.write_text(
        textwrap.dedent(_REVIEW)
        + textwrap.dedent(
            '''
            class Hi(pingsdk.Ping, namespace="team", doctype="hi", version=1, review=REVIEW,
                     registry=pingsdk.PingRegistry()):
                """Says hi."""

                n: int
            '''
        )
    )


def test_review_names_a_file_target_by_its_module_not_the_loader_alias(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _hi(tmp_path / "loose_pings.py")
    assert main(["review", str(tmp_path / "loose_pings.py")]) == 0
    text = capsys.readouterr().out
    assert "- **Ping class:** `loose_pings.Hi`" in text
    assert "_pingsdk_target" not in text


def test_review_names_a_file_in_a_package_by_its_dotted_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "teamapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    _hi(package / "telemetry.py")
    assert main(["review", str(package / "telemetry.py")]) == 0
    assert "- **Ping class:** `teamapp.telemetry.Hi`" in capsys.readouterr().out
