"""Fixtures for pingsdk.glean: an app on a real queue file, a local edge, the glean.1 schema."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pingsdk import PingClient, RetryPolicy
from pingsdk.edge import EdgeServer
from pingsdk.glean import GleanApp
from pingsdk.schema import validate_payload
from pingsdk.wire._encoding import decode_body

HERE = Path(__file__).resolve().parent
APP_DIR = HERE / "app"
METRICS_YAML = APP_DIR / "metrics.yaml"
PINGS_YAML = APP_DIR / "pings.yaml"
MPS = Path(__file__).resolve().parents[2] / ".." / "shared" / "mps-sample"
GLEAN_SCHEMA = MPS / "schemas" / "glean" / "glean" / "glean.1.schema.json"


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
def edge() -> Iterator[EdgeServer]:
    """A local edge on 127.0.0.1 (no schemas: it accepts and records every ping)."""
    with EdgeServer() as server:
        yield server


@pytest.fixture
def queue_file(tmp_path: Path) -> Path:
    """The queue file the app and its client share."""
    return tmp_path / "telemetry.db"


AppFactory = Callable[..., GleanApp]


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


def stored_pings(queue_file: Path) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """Every ping stored in a queue file: ``(path, payload, headers)``, in storing order.

    Read with plain SQL so that nothing is leased: a client may still send them afterwards.
    """
    with contextlib.closing(sqlite3.connect(queue_file)) as conn:
        rows = conn.execute(
            "SELECT p.path, p.headers, coalesce(p.body, b.body) FROM pings AS p "
            "LEFT JOIN bodies AS b ON b.id = p.id ORDER BY p.id"
        ).fetchall()
    out = []
    for path, headers_json, body in rows:
        headers = json.loads(headers_json)
        payload = json.loads(decode_body(body, headers.get("Content-Encoding")))
        out.append((path, payload, headers))
    return out
