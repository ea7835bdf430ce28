"""Fixtures for the edge tests: a schema tree, a running server (lenient or strict), a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _edge_support import write_tree

from pingsdk.edge import EdgeServer


@pytest.fixture
def schema_tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo")


@pytest.fixture
def edge(schema_tree: Path) -> Iterator[EdgeServer]:
    with EdgeServer(schemas=schema_tree, socket_timeout=2.0) as server:
        yield server


@pytest.fixture
def strict_edge(schema_tree: Path) -> Iterator[EdgeServer]:
    with EdgeServer(schemas=schema_tree, strict=True, socket_timeout=2.0) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c
