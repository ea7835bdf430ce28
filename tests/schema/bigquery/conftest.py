"""Shared data of the BigQuery tests: the mps-sample checkout beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[3] / ".." / "shared" / "mps-sample"


def sample_files(pattern: str) -> list[Path]:
    """Files of mps-sample matching ``pattern`` (empty when the sample is absent)."""
    return sorted(SAMPLE.glob(pattern)) if SAMPLE.is_dir() else []


def require_sample() -> None:
    """Skip the calling test when mps-sample is not checked out beside the repository."""
    if not SAMPLE.is_dir():
        pytest.skip(f"mps-sample not found at {SAMPLE} (clone shared/ beside the repository)")


@pytest.fixture
def sample() -> Path:
    """The mps-sample directory; skips the test when it is absent."""
    require_sample()
    return SAMPLE
