"""snake_case against every row of the transpiler's casing tables, and column-name rules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pingsdk._naming import column_name, snake_case
from tests.support import require_sample, sample_files


def _rows() -> list[object]:
    rows: list[object] = []
    for path in sample_files("transpiler-cases/casing/*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.reader(handle), start=1):
                if row:
                    rows.append(pytest.param(row[0], row[1], id=f"{path.stem}:{number}"))
    return rows


ROWS = _rows()


def test_the_sample_has_the_casing_tables() -> None:
    require_sample()
    assert len(ROWS) == 515


@pytest.mark.parametrize(("name", "expected"), ROWS)
def test_snake_case_matches_the_transpiler(name: str, expected: str) -> None:
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clientId", "client_id"),
        ("activeGMPlugins", "active_gm_plugins"),
        ("D2DEnabled", "d2d_enabled"),
        ("GPUActive", "gpu_active"),
        ("_a__a_", "a_a"),
        ("a7aAa", "a7a_aa"),
    ],
)
def test_snake_case_examples_of_the_spec(name: str, expected: str) -> None:
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    ("name", "normalize", "expected"),
    [
        ("app.version", False, "app_version"),
        ("app-version", False, "app_version"),
        ("3dMode", False, "_3dMode"),
        ("3dMode", True, "_3d_mode"),
        ("_64bit", True, "_64bit"),
        ("x-debug-ID", True, "x_debug_id"),
        ("$schema", True, None),
        ("with space", False, None),
        ("", True, None),
    ],
)
def test_column_names(name: str, normalize: bool, expected: str | None) -> None:
    assert column_name(name, normalize_case=normalize) == expected


def test_rows_are_read_from_real_files() -> None:
    require_sample()
    assert all(Path(p).suffix == ".csv" for p in sample_files("transpiler-cases/casing/*"))
