"""Submitting a Glean ping: snapshot, clear, ``seq`` and store, in one SQLite transaction.

:func:`submit` holds the app's storage lock (so no ping-lifetime value can be recorded in
between) and runs :func:`_build` through ``PingQueue.put_with``: reading the persisted metrics,
taking and advancing the ping's ``seq`` and ``start_time`` and inserting the ping row commit
together, or not at all. Only after the commit are the ping-lifetime values dropped from
memory. So a value recorded concurrently lands either in this ping or in the next one, never in
both and never in neither; and ``seq`` has no gaps across threads, processes and crashes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._prepare import prepare_document
from pingsdk._exceptions import PayloadTooLargeError
from pingsdk._queue import QueuedPing
from pingsdk.glean._common import TimeUnit
from pingsdk.glean._payload import KNOWN_CLIENT_ID, SDK_BUILD, events_payload, metrics_payload
from pingsdk.glean._time_metrics import iso_time

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp
    from pingsdk.glean._ping_type import PingType

__all__ = ["glean_row", "read_client", "submit", "write_client"]

logger = logging.getLogger("pingsdk")

GLEAN_SCHEMA_VERSION = 1


def glean_row(
    config: ClientConfig,
    namespace: str,
    doctype: str,
    payload: bytes,
    *,
    debug_id: str | None,
    source_tags: Sequence[str],
    survives_purge: bool = False,
) -> QueuedPing:
    """Compress, address and head a Glean payload for the queue (``/submit/<app>/<ping>/1/``).

    Raises:
        PayloadTooLargeError: over 8 MiB of JSON or 1 MB compressed.
    """
    return prepare_document(
        payload,
        config,
        namespace=namespace,
        doctype=doctype,
        version=GLEAN_SCHEMA_VERSION,
        debug_id=debug_id,
        source_tags=source_tags,
        survives_purge=survives_purge,
    )


def read_client(conn: sqlite3.Connection, app_id: str) -> dict[str, str]:
    """The persisted ``client_id`` and ``first_run_date`` of ``app_id`` (those that exist)."""
    rows = conn.execute("SELECT key, value FROM glean_client WHERE app = ?", (app_id,))
    return {str(k): str(v) for k, v in rows}


def write_client(conn: sqlite3.Connection, app_id: str, key: str, value: str) -> None:
    """Persist one client value."""
    conn.execute(
        "INSERT OR REPLACE INTO glean_client (app, key, value) VALUES (?, ?, ?)",
        (app_id, key, value),
    )


def _client_info(
    app: GleanApp, conn: sqlite3.Connection, include_client_id: bool
) -> dict[str, Any]:
    stored = read_client(conn, app.storage.app_id)
    info: dict[str, Any] = {"telemetry_sdk_build": SDK_BUILD, **app.client_info_static}
    info["first_run_date"] = stored.get("first_run_date") or iso_time(
        dt.datetime.now().astimezone(), TimeUnit.DAY
    )
    if include_client_id:
        info["client_id"] = stored.get("client_id", KNOWN_CLIENT_ID)
    return dict(sorted(info.items()))


def submit(
    app: GleanApp,
    ping: PingType,
    reason: str | None,
    *,
    survives_purge: bool = False,
    after: Callable[[sqlite3.Connection], None] | None = None,
) -> str | None:
    """Store ``ping`` now if it has data (or ``send_if_empty``); returns its doc id or ``None``.

    ``after`` runs in the same transaction once the ping is built (the deletion request clears
    the client's data there). The caller holds ``app.storage.lock``.
    """
    storage = app.storage
    memory, events = storage.snapshot_memory(ping.name)
    end = dt.datetime.now().astimezone()

    def build(conn: sqlite3.Connection) -> QueuedPing | None:
        entries = memory + storage.snapshot_sqlite(conn, ping.name)
        metrics = metrics_payload(entries)
        event_list = events_payload(events)
        row: QueuedPing | None = None
        empty = not metrics and not event_list
        if (empty and not ping.send_if_empty) or (ping.name == "events" and not event_list):
            logger.debug("Glean ping %s has no data: not sent", ping.name)
        else:
            row = _build_row(
                app,
                conn,
                ping,
                reason=reason,
                end=end,
                metrics=metrics,
                event_list=event_list,
                survives_purge=survives_purge,
            )
        if after is not None:
            after(conn)
        return row

    row, evicted = storage.queue.put_with(build)
    storage.clear_memory(ping.name)
    if row is None:
        return None
    app.after_store(row, evicted)
    return row.doc_id


def _build_row(
    app: GleanApp,
    conn: sqlite3.Connection,
    ping: PingType,
    *,
    reason: str | None,
    end: dt.datetime,
    metrics: Mapping[str, Any],
    event_list: list[dict[str, Any]],
    survives_purge: bool,
) -> QueuedPing | None:
    app_id = app.storage.app_id
    state = conn.execute(
        "SELECT seq, start_time FROM glean_pings WHERE app = ? AND ping = ?", (app_id, ping.name)
    ).fetchone()
    seq, start = (0, None) if state is None else (int(state[0]), state[1])
    end_text = iso_time(end, TimeUnit.MINUTE)
    ping_info: dict[str, Any] = {
        "seq": seq,
        "start_time": start or app.start_time_text,
        "end_time": end_text,
    }
    if reason is not None:
        ping_info["reason"] = reason
    experiments = app.experiments_payload()
    if experiments:
        ping_info["experiments"] = experiments
    payload: dict[str, Any] = {
        "ping_info": ping_info,
        "client_info": _client_info(app, conn, ping.include_client_id),
    }
    if metrics:
        payload["metrics"] = metrics
    if event_list:
        payload["events"] = event_list
    ping.run_payload_callback(payload)
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    try:
        row = app.make_row(ping.name, text, survives_purge=survives_purge)
    except PayloadTooLargeError as exc:
        # As Glean's uploader does with an oversized ping: it is discarded (and its data with
        # it, or it would fail the same way forever). seq is not taken, so it stays gap-free.
        logger.error("Glean ping %s discarded: %s", ping.name, exc)
        return None
    conn.execute(
        "INSERT OR REPLACE INTO glean_pings (app, ping, seq, start_time) VALUES (?, ?, ?, ?)",
        (app_id, ping.name, seq + 1, end_text),
    )
    app.log_payload(ping.name, row.path, text)
    return row


def new_client_id() -> str:
    """A fresh random client id (version 4 UUID, as Glean's)."""
    return str(uuid.uuid4())
