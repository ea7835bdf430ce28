"""Every ```python block in README.md and docs/*.md runs, as a user would run it.

Each block runs in a fresh interpreter, in an empty temporary directory, with the repository
root on PYTHONPATH (so ``import examples.pings`` works as in a checkout). A block that is not
meant to run is fenced as ``python norun``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, child_env

FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if "norun" in match.group(1):
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", match.group(2)))
    return found


BLOCKS = _blocks()


def test_docs_have_runnable_examples() -> None:
    assert len(BLOCKS) >= 5, "README.md and docs/ should show runnable examples"


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_doc_block_runs(where: str, code: str, tmp_path: Path) -> None:
    env = child_env()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{where} failed:\n{proc.stdout}\n{proc.stderr}"
