"""Shared fixtures of the schema tool tests: the mps-sample checkout beside the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "mps-sample"


@pytest.fixture
def mps_sample() -> Path:
    """The read-only mozilla-pipeline-schemas sample; skips when it is not beside the repo."""
    if not (SAMPLE / "schemas").is_dir():
        pytest.skip(f"mps-sample not found at {SAMPLE} (clone shared/ beside the repository)")
    return SAMPLE.resolve()


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
