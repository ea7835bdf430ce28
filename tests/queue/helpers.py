"""Helpers for the queue tests: a ping factory and the child-process command line."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from pingsdk._queue import QueuedPing
from tests.support import child_env

WORKER = Path(__file__).resolve().parent / "worker.py"


def make_ping(
    n: int = 0, *, body: bytes | None = None, created_at: float | None = None
) -> QueuedPing:
    doc_id = str(uuid.uuid4())
    return QueuedPing(
        doc_id=doc_id,
        path=f"/submit/my-app/search-counts/1/{doc_id}",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Content-Encoding": "gzip",
            "X-Telemetry-Agent": "pingsdk/0.1 (Python 3.11 on linux)",
        },
        body=body if body is not None else os.urandom(64) + bytes([0, 255, n % 256]),
        created_at=time.time() if created_at is None else created_at,
        namespace="my-app",
        doctype="search-counts",
        version=1,
    )


def worker_env() -> dict[str, str]:
    return child_env()


def worker_cmd(*args: str) -> list[str]:
    return [sys.executable, str(WORKER), *args]
