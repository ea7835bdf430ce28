"""prepare_ping(): the one place a Ping becomes a QueuedPing (both clients call it).

Everything that can make ``submit()`` refuse a ping happens here, before anything is stored:
expiry, upload switch, size limits, names and header values. What comes out holds the exact
path, headers (all but ``Date``) and body that every attempt will send, so a retry is
byte-identical to the first try.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Sequence
from typing import NamedTuple

from pingsdk._delivery._config import ClientConfig
from pingsdk._exceptions import ConfigurationError, PingExpiredError, UploadDisabledError
from pingsdk._model._ping import Ping
from pingsdk._queue import QueuedPing
from pingsdk.wire._docid import new_doc_id
from pingsdk.wire._encoding import MAX_COMPRESSED_BYTES, encode_body
from pingsdk.wire._headers import build_headers
from pingsdk.wire._urls import legacy_submit_path, submit_path

__all__ = ["Draft", "check_ping", "finish_ping", "prepare_document", "prepare_ping"]

_DEFERRABLE_JSON = MAX_COMPRESSED_BYTES - 8192
"""JSON up to this size gzips below the edge's 1 MB limit whatever it holds (deflate adds at
most 5 bytes per 16 KiB block, gzip 18 bytes), so its compression may wait: it cannot fail."""


_PLACEHOLDER_ID = "00000000-0000-7000-8000-000000000000"


@functools.lru_cache(maxsize=256)
def _generic_prefix(namespace: str, doctype: str, version: int) -> str:
    """``/submit/<ns>/<doctype>/<v>/``, checked once per ping class, not once per submit.

    A document id is always 36 characters, so checking the full path with a placeholder id
    proves every real path of this class valid and within the length limit.
    """
    return submit_path(namespace, doctype, version, _PLACEHOLDER_ID)[: -len(_PLACEHOLDER_ID)]


class Draft(NamedTuple):
    """A ping checked and addressed by :func:`check_ping`; :func:`finish_ping` makes the row.

    ``body`` is the request body when it was encoded at once, ``None`` when its compression
    was left for later (it cannot fail then: see ``_DEFERRABLE_JSON``).
    """

    doc_id: str
    path: str
    json: bytes
    body: bytes | None
    created_at: float
    namespace: str
    doctype: str
    version: int
    survives_purge: bool

    @property
    def size(self) -> int:
        """An upper bound of the body's size (for the queue's bound)."""
        return len(self.json) + 64 if self.body is None else len(self.body)


def prepare_ping(
    ping: Ping,
    config: ClientConfig,
    *,
    upload_enabled: bool,
    now: float | None = None,
    today: datetime.date | None = None,
    survives_purge: bool = False,
) -> QueuedPing:
    """Check, serialize, compress and address ``ping`` for the queue.

    Args:
        ping: an instance of a concrete :class:`pingsdk.Ping` subclass.
        config: the client's settings (compression, headers, app info for legacy pings).
        upload_enabled: the client's current upload switch.
        now: Unix time recorded as the ping's creation time (default: now).
        today: the date expiry is judged against (default: today).
        survives_purge: keep the row when the queue is purged (a deletion request, which
            must still be sent after uploading was switched off).

    Returns:
        The row to store, with a fresh document id, addressed to ``config.endpoint`` (it is
        only ever sent there).

    Raises:
        UploadDisabledError: uploading is switched off.
        PingExpiredError: the ping class is past ``review.expires``.
        PayloadTooLargeError: over 8 MiB of JSON or 1 MB compressed.
        ConfigurationError: not a Ping, an abstract Ping, or a legacy ping without ``app=``.
    """
    draft = check_ping(
        ping,
        config,
        upload_enabled=upload_enabled,
        now=now,
        today=today,
        survives_purge=survives_purge,
        defer=False,
    )
    return finish_ping(draft, config)


def check_ping(
    ping: Ping,
    config: ClientConfig,
    *,
    upload_enabled: bool,
    now: float | None = None,
    today: datetime.date | None = None,
    survives_purge: bool = False,
    defer: bool = True,
) -> Draft:
    """Everything of :func:`prepare_ping` that can refuse the ping; the rest can wait.

    With ``defer``, a body that surely fits the edge's limit is compressed later, by
    :func:`finish_ping` (``durability="buffered"`` does that on the uploader's side, off the
    caller's ``submit()``). Raises what :func:`prepare_ping` raises; :func:`finish_ping` of
    the result never raises.
    """
    if not isinstance(ping, Ping):
        raise ConfigurationError(
            f"submit() takes a pingsdk.Ping instance, got {type(ping).__name__}"
        )
    if not upload_enabled:
        raise UploadDisabledError(
            "upload is disabled (upload_enabled=False): the ping was not stored"
        )
    cls = type(ping)
    info = cls.ping_info()
    if cls.is_expired(today):
        raise PingExpiredError(
            f"{cls.__qualname__} expired on {info.review.expires}: the pipeline no longer "
            "collects it; renew its data review and move review.expires, or stop submitting it"
        )
    json = ping.to_json_bytes()
    body: bytes | None = None
    if not (defer and config.compress and len(json) <= _DEFERRABLE_JSON):
        body = encode_body(json, compress=config.compress)
    doc_id = new_doc_id()
    if info.legacy_telemetry:
        if config.app is None:
            raise ConfigurationError(
                f"{cls.__qualname__} is a legacy telemetry ping: pass app=pingsdk.AppInfo(...) "
                "to the client so its URL can name the application"
            )
        path = legacy_submit_path(doc_id, info.doctype, config.app)
    else:
        path = _generic_prefix(info.namespace, info.doctype, info.version) + doc_id
    return Draft(
        doc_id,
        path,
        json,
        body,
        time.time() if now is None else now,
        info.namespace,
        info.doctype,
        info.version,
        survives_purge,
    )


def prepare_document(
    json: bytes,
    config: ClientConfig,
    *,
    namespace: str,
    doctype: str,
    version: int,
    debug_id: str | None = None,
    source_tags: Sequence[str] | None = None,
    survives_purge: bool = False,
) -> QueuedPing:
    """The queue row for a JSON document that is not a :class:`Ping` (``pingsdk.glean``).

    The same encoding, docId, generic submit path, headers and row as :func:`prepare_ping`;
    ``debug_id`` and ``source_tags`` replace the client's when given.

    Raises:
        PayloadTooLargeError: over 8 MiB of JSON or 1 MB compressed.
        ConfigurationError: a bad name or version.
    """
    doc_id = new_doc_id()
    draft = Draft(
        doc_id,
        _generic_prefix(namespace, doctype, version) + doc_id,
        json,
        encode_body(json, compress=config.compress),
        time.time(),
        namespace,
        doctype,
        version,
        survives_purge,
    )
    return finish_ping(draft, config, debug_id=debug_id, source_tags=source_tags)


def finish_ping(
    draft: Draft,
    config: ClientConfig,
    *,
    debug_id: str | None = None,
    source_tags: Sequence[str] | None = None,
) -> QueuedPing:
    """The queue row of ``draft``: its body encoded if that was left for later, its headers.

    ``config`` must be the one ``draft`` was checked with; ``debug_id`` and ``source_tags``
    replace its own when given.
    """
    body = draft.body
    if body is None:
        body = encode_body(draft.json, compress=True)
    # Checked once by build_config (values and names); a ping only adds its length.
    headers = build_headers(
        compressed=config.compress,
        content_length=len(body),
        debug_id=config.debug_id if debug_id is None else debug_id,
        source_tags=config.source_tags if source_tags is None else source_tags,
        extra=config.headers,
    )
    return QueuedPing(
        doc_id=draft.doc_id,
        path=draft.path,
        headers=headers,
        body=body,
        created_at=draft.created_at,
        namespace=draft.namespace,
        doctype=draft.doctype,
        version=draft.version,
        endpoint=config.endpoint,
        survives_purge=draft.survives_purge,
    )
