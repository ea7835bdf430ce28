"""What the pingsdk.glean tests share besides fixtures: the app's YAML files, the glean.1 schema,
the app factory's type, and a reader of the pings stored in a queue file."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pingsdk.glean import GleanApp
from pingsdk.wire._encoding import decode_body
from tests.support import SAMPLE

APP_DIR = Path(__file__).resolve().parent / "app"
METRICS_YAML = APP_DIR / "metrics.yaml"
PINGS_YAML = APP_DIR / "pings.yaml"
GLEAN_SCHEMA = SAMPLE / "schemas" / "glean" / "glean" / "glean.1.schema.json"

AppFactory = Callable[..., GleanApp]


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
