"""Fixtures for the delivery tests: a validating EdgeServer on 127.0.0.1, fast retry policies."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _delivery_pings import ALL  # noqa: E402

import pingsdk  # noqa: E402
from pingsdk.edge import EdgeServer  # noqa: E402


@pytest.fixture(scope="session")
def schema_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("schemas")
    pingsdk.schema.export_repository(ALL, root)
    return root


@pytest.fixture
def edge(schema_tree: Path) -> Iterator[EdgeServer]:
    with EdgeServer(schemas=schema_tree, strict=True, socket_timeout=5.0) as server:
        yield server


@pytest.fixture
def fast_retry() -> pingsdk.RetryPolicy:
    """Tiny real delays: retries happen, quickly, without a hot loop."""
    return pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.05, max_retry_after=0.2)


@pytest.fixture
def queue_path(tmp_path: Path) -> Path:
    return tmp_path / "pings.db"


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A listening socket that never accepts: connections open, requests are never answered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
