"""Helpers for the edge tests: a tiny schema tree, doc ids, where the mps sample is."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

from tests.support import SAMPLE

MPS = SAMPLE

EVENT_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "what happened"},
        "count": {"type": "integer", "minimum": 0, "description": "how often"},
    },
    "required": ["name", "count"],
    "additionalProperties": False,
}

LEGACY_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"version": {"type": "integer"}, "payload": {"type": "object"}},
    "required": ["version", "payload"],
}


def write_tree(root: Path) -> Path:
    """my-app/app-event.1, telemetry/thing.4 and .5 (two versions), telemetry/solo.1 (one)."""
    files = {
        "my-app/app-event/app-event.1.schema.json": EVENT_SCHEMA,
        "telemetry/thing/thing.4.schema.json": LEGACY_SCHEMA,
        "telemetry/thing/thing.5.schema.json": LEGACY_SCHEMA,
        "telemetry/solo/solo.1.schema.json": LEGACY_SCHEMA,
    }
    for rel, schema in files.items():
        path = root / "schemas" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema), encoding="utf-8")
    return root


def doc_id() -> str:
    return str(uuid.uuid4())


def exchange(port: int, data: bytes, *, until_headers: bool = False) -> bytes:
    """Send raw bytes; return what the server answers until it closes (or headers end)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(data)
        chunks: list[bytes] = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if until_headers and b"\r\n\r\n" in b"".join(chunks):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)
