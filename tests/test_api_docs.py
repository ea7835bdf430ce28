"""The API reference (``make docs``) builds without a pdoc warning and lists every public name."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pingsdk

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_clean_and_lists_all_public_names(tmp_path: Path) -> None:
    out = tmp_path / "api"
    # A fresh interpreter: the names pingsdk imports on first use must be found by pdoc itself.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build_api.py"), str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    page = (out / "pingsdk.html").read_text(encoding="utf-8")
    documented = set(re.findall(r'<section id="([^"]+)">', page))
    missing = [name for name in pingsdk.__all__ if name not in documented]
    assert not missing, f"not in the API reference: {missing}"
    # pingsdk.schema's names are resolved lazily: their docstrings are rendered, not only names.
    schema_page = (out / "pingsdk" / "schema.html").read_text(encoding="utf-8")
    documented = set(re.findall(r'<section id="([^"]+)">', schema_page))
    missing = [name for name in pingsdk.schema.__all__ if name not in documented]
    assert not missing, f"not in the API reference of pingsdk.schema: {missing}"
    text = html.unescape(re.sub(r"<[^>]+>", "", schema_page))
    assert "The complete schema-repository schema of a ping, as a dict." in text
    for module in ("schema", "monitoring", "wire", "edge", "testing", "glean"):
        assert (out / "pingsdk" / f"{module}.html").is_file()
    assert (out / "index.html").is_file()


def test_api_reference_fails_on_a_pdoc_warning(tmp_path: Path) -> None:
    # A module whose annotation pdoc cannot resolve: the build must fail, not render it wrong.
    (tmp_path / "broken_api_mod.py").write_text(
        '"""A module."""\n\n__all__ = ["f"]\n\n\n'
        'def f(x: "NoSuchType") -> None:  # noqa: F821\n    """Does nothing."""\n'
    )
    script = (
        "import sys, build_api; build_api.MODULES = ('broken_api_mod',);"
        "sys.exit(build_api.main([sys.argv[1]]))"
    )
    # The child finds broken_api_mod in its working directory and build_api on PYTHONPATH.
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "api")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "docs")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "NoSuchType" in proc.stderr
    assert "1 warning(s); fix the docstrings" in proc.stderr
