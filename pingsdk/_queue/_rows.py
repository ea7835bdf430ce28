"""The row type: :class:`QueuedPing`, and how it is written to and read back from a row.

A row is written with a CRC-32 of everything a send uses (:func:`checksum`) and read back
through :func:`decode_row`, which refuses (``BadRowError``) any part that is damaged, so that a
damaged row is quarantined rather than sent as if intact.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import zlib
from collections.abc import Mapping

from pingsdk._exceptions import ConfigurationError, PayloadTooLargeError
from pingsdk._naming import is_doc_id
from pingsdk._queue._sql import INLINE_BODY

__all__ = ["QueuedPing"]


@dataclasses.dataclass(frozen=True, slots=True)
class QueuedPing:
    """One ping as stored: everything needed to resend it byte-identically.

    Attributes:
        doc_id: canonical lowercase UUID, the primary key.
        path: the URL path and query, e.g. ``/submit/my-app/search-counts/1/<doc_id>``.
        headers: the fixed headers (everything but ``Date``, which is set at send time).
        body: the exact request body (gzipped unless the client disabled compression).
        created_at: Unix time of submit().
        attempts: how many sends have been tried and failed retryably.
        next_attempt_at: Unix time before which it is not sent.
        namespace, doctype, version: for stats, logs and callbacks.
        endpoint: the normalised endpoint it was submitted for; it is only ever sent there
            (``""`` on rows stored by pingsdk 0.1, which any sender may send).
        survives_purge: kept when the queue is purged because upload was switched off (the
            deletion-request ping, which must still be sent).
    """

    doc_id: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    namespace: str = ""
    doctype: str = ""
    version: int = 0
    endpoint: str = ""
    survives_purge: bool = False


class BadRowError(Exception):
    """A stored row that cannot be sent as it is (the reason in ``args[0]``)."""


_HEADER_BAD = re.compile(r"[\x00-\x1f\x7f]")


def text(value: object, what: str) -> str:
    """A text column read as BLOB, decoded; BadRowError when it is not UTF-8 text."""
    if not isinstance(value, bytes):
        raise BadRowError(f"{what} is {type(value).__name__}, not text")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRowError(f"{what} is not UTF-8") from None


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRowError(f"{what} is not a number")
    return float(value)


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRowError(f"{what} is not a non-negative integer")
    return value


def as_time(value: object) -> float:
    """A time read from an aggregate; a damaged (non-numeric) value counts as "now-ish" 0."""
    return float(value) if isinstance(value, (int, float)) else 0.0


def checksum(doc_id: str, path: str, headers_json: str, endpoint: str, body: bytes) -> int:
    """CRC-32 over everything a send uses, so a damaged row is never sent as if intact."""
    head = f"{doc_id}\n{path}\n{headers_json}\n{endpoint}\n".encode()
    return zlib.crc32(body, zlib.crc32(head))


def decode_row(row: tuple[object, ...]) -> QueuedPing:
    """The ping a claimed row holds; raises BadRowError when any part of it is damaged."""
    (_, doc_id_b, path_b, headers_b, body, created, attempts, due, ns_b, dt_b, version,
     endpoint_b, crc, _hold, keep) = row  # fmt: skip
    doc_id = text(doc_id_b, "doc_id")
    if not is_doc_id(doc_id):
        raise BadRowError("doc_id is not a canonical UUID")
    path = text(path_b, "path")
    if not path.startswith("/submit/") or _HEADER_BAD.search(path) or " " in path:
        raise BadRowError("path is not a submit path")
    headers_text = text(headers_b, "headers")
    endpoint = text(endpoint_b, "endpoint")
    if not isinstance(body, bytes):
        raise BadRowError("body is missing" if body is None else "body is not bytes")
    if crc is not None and crc != checksum(doc_id, path, headers_text, endpoint, body):
        raise BadRowError("checksum mismatch")
    try:
        headers = json.loads(headers_text)
    except ValueError:
        raise BadRowError("headers are not JSON") from None
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and not _HEADER_BAD.search(k + v)
        for k, v in headers.items()
    ):
        raise BadRowError("headers are not a map of clean strings")
    return QueuedPing(
        doc_id=doc_id,
        path=path,
        headers=headers,
        body=body,
        created_at=_number(created, "created_at"),
        attempts=_integer(attempts, "attempts"),
        next_attempt_at=_number(due, "next_attempt_at"),
        namespace=text(ns_b, "namespace"),
        doctype=text(dt_b, "doctype"),
        version=_integer(version, "version"),
        endpoint=endpoint,
        survives_purge=bool(keep),
    )


_encode_headers = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A client sends the same few header sets over and over: check and encode each once.
_HEADERS_CACHE: dict[tuple[tuple[str, str], ...], str] = {}
_HEADERS_CACHE_SIZE = 256


def headers_json(items: tuple[tuple[str, str], ...]) -> str:
    """The stored JSON of a ping's headers; ConfigurationError for ``Date`` or a non-string."""
    cached = _HEADERS_CACHE.get(items)
    if cached is not None:
        return cached
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError("queued header names and values must be str")
        if name.lower() == "date":
            raise ConfigurationError("queued headers must not contain Date: it is set at send time")
    encoded = _encode_headers(dict(items))
    if len(_HEADERS_CACHE) >= _HEADERS_CACHE_SIZE:
        _HEADERS_CACHE.clear()
    _HEADERS_CACHE[items] = encoded
    return encoded


def encode_row(ping: QueuedPing, max_bytes: int) -> tuple[object, ...]:
    """The INSERT parameters of ``ping`` (see ``_sql.INSERT``); refuses one over ``max_bytes``.

    Index 3 is the row's size (the unit of ``max_bytes``); index 10 is the inline body, ``None``
    when the body is large and goes to the ``bodies`` table.
    """
    headers = headers_json(tuple(ping.headers.items()))
    body = bytes(ping.body)
    size = len(body) + len(ping.path.encode()) + len(headers.encode())
    if size > max_bytes:
        raise PayloadTooLargeError(
            f"a ping of {size} bytes cannot fit in a queue bounded to max_bytes="
            f"{max_bytes}; raise max_bytes or send smaller pings",
            size=size,
            limit=max_bytes,
            kind="queue",
        )
    return (
        ping.doc_id,
        ping.path,
        headers,
        size,
        float(ping.created_at),
        int(ping.attempts),
        float(ping.next_attempt_at),
        ping.namespace,
        ping.doctype,
        int(ping.version),
        body if len(body) <= INLINE_BODY else None,
        ping.endpoint,
        checksum(ping.doc_id, ping.path, headers, ping.endpoint, body),
        1 if ping.survives_purge else 0,
    )
