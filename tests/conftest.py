"""Every fixture of the test suite, in one place, each name with one meaning.

Helpers that tests import live in support modules (``tests.support``, ``tests.<dir>.<module>``):
a conftest is loaded by pytest, never imported.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import pingsdk
from pingsdk import PingClient, RetryPolicy
from pingsdk._queue import QueuedPing
from pingsdk.edge import EdgeServer
from pingsdk.glean import GleanApp
from pingsdk.schema import validate_payload
from tests.delivery.pings import ALL as DELIVERY_PINGS
from tests.edge.support import write_tree
from tests.glean.support import GLEAN_SCHEMA, AppFactory
from tests.queue.helpers import make_ping
from tests.support import SAMPLE, require_sample

# Everywhere.


@pytest.fixture
def registry() -> pingsdk.PingRegistry:
    """A registry of its own, so test classes never collide with each other or the examples."""
    return pingsdk.PingRegistry()


@pytest.fixture
def mps_sample() -> Path:
    """The read-only mozilla-pipeline-schemas sample; skips when it is not beside the repo."""
    require_sample()
    return SAMPLE.resolve()


@pytest.fixture
def anyio_backend() -> str:
    """``@pytest.mark.anyio`` tests run on asyncio, the loop the async client supports."""
    return "asyncio"


@pytest.fixture(scope="session")
def examples_schema_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema repository of examples/pings.py's SearchCounts and SessionSummary."""
    # Imported when asked for: examples.pings declares pings in the default registry.
    from examples import pings

    out = tmp_path_factory.mktemp("examples-repo")
    pingsdk.schema.export_repository([pings.SearchCounts, pings.SessionSummary], out)
    return out


# The edge tests (tests/edge): a small hand-written schema tree and servers on it.


@pytest.fixture
def schema_tree(tmp_path: Path) -> Path:
    """A tiny schema repository: my-app/app-event.1, telemetry/thing.4 and .5, telemetry/solo.1."""
    return write_tree(tmp_path / "repo")


@pytest.fixture
def edge(schema_tree: Path) -> Iterator[EdgeServer]:
    """A lenient EdgeServer on ``schema_tree``: unknown namespaces are accepted."""
    with EdgeServer(schemas=schema_tree, socket_timeout=2.0) as server:
        yield server


@pytest.fixture
def strict_edge(schema_tree: Path) -> Iterator[EdgeServer]:
    """A strict EdgeServer on ``schema_tree``: a ping without a schema is refused."""
    with EdgeServer(schemas=schema_tree, strict=True, socket_timeout=2.0) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An HTTP client to talk to an edge by hand."""
    with httpx.Client(timeout=5.0) as c:
        yield c


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """An HTTP client with a patient timeout, for edges that validate against all of mps-sample."""
    with httpx.Client(timeout=30) as client:
        yield client


# The delivery tests (tests/delivery): the exported tree of the delivery pings, fast retries.


@pytest.fixture(scope="session")
def delivery_schema_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema repository exported from the delivery pings (tests.delivery.pings)."""
    root = tmp_path_factory.mktemp("schemas")
    pingsdk.schema.export_repository(DELIVERY_PINGS, root)
    return root


@pytest.fixture
def delivery_edge(delivery_schema_tree: Path) -> Iterator[EdgeServer]:
    """A strict, validating EdgeServer on the delivery pings' tree."""
    with EdgeServer(schemas=delivery_schema_tree, strict=True, socket_timeout=5.0) as server:
        yield server


@pytest.fixture
def fast_retry() -> pingsdk.RetryPolicy:
    """Tiny real delays: retries happen, quickly, without a hot loop."""
    return pingsdk.RetryPolicy(initial_delay=0.01, max_delay=0.05, max_retry_after=0.2)


@pytest.fixture
def queue_path(tmp_path: Path) -> Path:
    """Where a delivery test's client keeps its queue."""
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


# The queue tests (tests/queue).


@pytest.fixture
def ping() -> Callable[..., QueuedPing]:
    """A factory of queue rows (tests.queue.helpers.make_ping)."""
    return make_ping


# The pingsdk.glean tests (tests/glean): an app on a real queue file, an edge, the glean.1 schema.


@pytest.fixture(scope="session")
def glean_schema() -> dict[str, Any]:
    """The pipeline's glean.1 schema (mps-sample)."""
    schema: dict[str, Any] = json.loads(GLEAN_SCHEMA.read_text())
    return schema


@pytest.fixture
def assert_glean_valid(glean_schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """Fail with the issues if a payload does not validate against glean.1."""

    def check(payload: dict[str, Any]) -> None:
        issues = validate_payload(glean_schema, payload, format_check=True)
        assert issues == [], issues

    return check


@pytest.fixture
def glean_edge() -> Iterator[EdgeServer]:
    """A local edge with no schemas: it accepts and records every ping a GleanApp sends."""
    with EdgeServer() as server:
        yield server


@pytest.fixture
def queue_file(tmp_path: Path) -> Path:
    """The queue file a GleanApp and its client share."""
    return tmp_path / "telemetry.db"


@pytest.fixture
def make_app(queue_file: Path) -> Iterator[AppFactory]:
    """Build GleanApps on ``queue_file``; a store-only client unless ``endpoint`` is given."""
    made: list[tuple[GleanApp, PingClient]] = []

    def make(
        endpoint: str | None = None, *, uploader: bool | None = None, **kwargs: Any
    ) -> GleanApp:
        client = PingClient(
            endpoint or "http://127.0.0.1:9",
            queue_path=queue_file,
            uploader=endpoint is not None if uploader is None else uploader,
            retry=RetryPolicy.no_wait(),
        )
        kwargs.setdefault("app_display_version", "1.2.3")
        kwargs.setdefault("app_build", "build-7")
        app = GleanApp("org.example.My_Service", client=client, **kwargs)
        made.append((app, client))
        return app

    yield make
    for app, client in made:
        app.close()
        client.close(timeout=1.0)
