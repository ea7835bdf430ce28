"""The test files shown in docs/testing.md (blocks fenced ``python norun file=NAME``) pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
FILE_BLOCK = re.compile(r"^```python norun file=(\S+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_documented_test_files_pass(pytester: pytest.Pytester) -> None:
    files = dict(FILE_BLOCK.findall(DOC.read_text(encoding="utf-8")))
    assert {"myapp_search.py", "test_myapp_search.py", "test_myapp_edge.py"} <= set(files)
    for name, code in files.items():
        (pytester.path / name).write_text(code, encoding="utf-8")
    pytester.syspathinsert()
    # A fresh interpreter, as a user's run: the doc's classes join the default registry.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5)
