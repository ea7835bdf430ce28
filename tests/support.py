"""Where things are for every test directory: the repository, its examples, the mps-sample.

A plain module (conftest.py holds fixtures only): import it as ``tests.support``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# The read-only mozilla-pipeline-schemas sample, checked out beside the repository.
SAMPLE = ROOT / ".." / "shared" / "mps-sample"


def require_sample() -> None:
    """Skip the calling test when mps-sample is not checked out beside the repository."""
    if not (SAMPLE / "schemas").is_dir():
        pytest.skip(f"mps-sample not found at {SAMPLE} (clone shared/ beside the repository)")


def sample_files(pattern: str) -> list[Path]:
    """Files of mps-sample matching ``pattern`` (empty when the sample is absent)."""
    return sorted(SAMPLE.glob(pattern)) if SAMPLE.is_dir() else []


def child_env(**extra: str) -> dict[str, str]:
    """This environment with the repository root first on ``PYTHONPATH``, plus ``extra``.

    A child interpreter then imports ``pingsdk`` from this checkout and the ``tests.*`` support
    modules by their package names, as the tests themselves do.
    """
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}
