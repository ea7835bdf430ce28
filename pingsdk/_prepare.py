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

from ._config import ClientConfig
from ._docid import new_doc_id
from ._encoding import encode_body
from ._exceptions import ConfigurationError, PingExpiredError, UploadDisabledError
from ._headers import build_headers
from ._ping import Ping
from ._queue import QueuedPing
from ._urls import legacy_submit_path, submit_path

__all__ = ["prepare_ping"]


_PLACEHOLDER_ID = "00000000-0000-7000-8000-000000000000"


@functools.lru_cache(maxsize=256)
def _generic_prefix(namespace: str, doctype: str, version: int) -> str:
    """``/submit/<ns>/<doctype>/<v>/``, checked once per ping class, not once per submit.

    A document id is always 36 characters, so checking the full path with a placeholder id
    proves every real path of this class valid and within the length limit.
    """
    return submit_path(namespace, doctype, version, _PLACEHOLDER_ID)[: -len(_PLACEHOLDER_ID)]


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
    body = encode_body(ping.to_json_bytes(), compress=config.compress)
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
    headers = build_headers(
        compressed=config.compress,
        content_length=len(body),
        debug_id=config.debug_id,
        source_tags=config.source_tags,
        extra=config.headers,
    )
    return QueuedPing(
        doc_id=doc_id,
        path=path,
        headers=headers,
        body=body,
        created_at=time.time() if now is None else now,
        namespace=info.namespace,
        doctype=info.doctype,
        version=info.version,
        endpoint=config.endpoint,
        survives_purge=survives_purge,
    )
