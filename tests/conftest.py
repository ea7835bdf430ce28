"""Fixtures every test directory may use: the schema-repository sample, a fresh registry."""

from __future__ import annotations

from pathlib import Path

import pytest

import pingsdk

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / ".." / "shared" / "mps-sample"


@pytest.fixture
def registry() -> pingsdk.PingRegistry:
    """A registry of its own, so test classes never collide with each other or the examples."""
    return pingsdk.PingRegistry()


@pytest.fixture
def mps_sample() -> Path:
    """The read-only mozilla-pipeline-schemas sample; skips when it is not beside the repo."""
    if not (SAMPLE / "schemas").is_dir():
        pytest.skip(f"mps-sample not found at {SAMPLE} (clone shared/ beside the repository)")
    return SAMPLE.resolve()
