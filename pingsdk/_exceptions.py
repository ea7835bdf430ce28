"""The exception hierarchy of pingsdk.

Every error pingsdk raises on purpose derives from :class:`PingSDKError`::

    PingSDKError
     +-- ConfigurationError (also ValueError)    endpoint, insecure http, header value, bad names
     +-- PingDefinitionError (also TypeError)    a bad Ping subclass, raised at class creation
     +-- PingExpiredError                        submit() of a ping past its declared expiry date
 +-- InvalidPingError (also ValueError)      submit() of values that bypassed validation
     +-- PayloadTooLargeError                    refused before enqueue (1 MB gzipped / 8 MiB JSON)
     +-- SchemaExportError                       a field the target draft cannot express
     +-- UploadDisabledError                     submit() while upload_enabled is False
     +-- QueueError                              the on-disk queue cannot be used
     |    +-- QueueFullError                     the disk (or RLIMIT_FSIZE) is full
     |    +-- QueueCorruptError                  the file is not a usable queue
     |    +-- QueueBusyError                     another process held the file past the deadline
     +-- SubmitError                             send_now() did not deliver the ping
          +-- PingRejectedError                  the edge answered 4xx; the ping was dropped
          +-- EdgeUnavailableError               not delivered within the timeout; still queued

Warnings (``warnings.warn``) use :class:`SchemaWarning`: a ping that exports, but with a field
that will not become a BigQuery column.

``pydantic.ValidationError`` passes through unchanged from model construction.
Messages never contain payload contents or credentials.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "EdgeUnavailableError",
    "InvalidPingError",
    "PayloadTooLargeError",
    "PingDefinitionError",
    "PingExpiredError",
    "PingRejectedError",
    "PingSDKError",
    "QueueBusyError",
    "QueueCorruptError",
    "QueueError",
    "QueueFullError",
    "SchemaExportError",
    "SchemaWarning",
    "SubmitError",
    "UploadDisabledError",
]


class PingSDKError(Exception):
    """Base class of every error pingsdk raises on purpose."""


class ConfigurationError(PingSDKError, ValueError):
    """A setting, name, URL or header value is not acceptable.

    The message says which value and what would be accepted.
    """


class PingDefinitionError(PingSDKError, TypeError):
    """A :class:`pingsdk.Ping` subclass is declared wrongly (raised at class creation)."""


class PingExpiredError(PingSDKError):
    """The ping class is past its declared ``expires`` date; the pipeline would reject it."""


class InvalidPingError(PingSDKError, ValueError):
    """A ping's values would not make a payload its class's exported schema accepts.

    Construction validates, so this means validation was bypassed: a value assigned after
    construction (or changed in place in a list, dict or nested model), an instance made with
    ``model_construct()``, a value that cannot be serialized to JSON, or an integer outside the
    64-bit range the pipeline stores. Raised by :meth:`pingsdk.Ping.to_json_bytes` and so by
    ``submit()``; nothing was stored. The message names the field, never its value.

    Attributes:
        ping: the qualified class name.
        field: the dotted path of the offending value (list positions as ``[i]``), or ``None``
            when it is the whole payload.
    """

    def __init__(self, message: str, *, ping: str, field: str | None = None) -> None:
        super().__init__(message)
        self.ping = ping
        self.field = field


class PayloadTooLargeError(PingSDKError):
    """A ping is larger than the edge accepts; it was not queued.

    Attributes:
        size: the measured size in bytes.
        limit: the limit it exceeded in bytes.
        kind: ``"compressed"`` (the 1 MB wire limit), ``"json"`` (the 8 MiB decoded limit) or
            ``"queue"`` (larger than the queue's whole ``max_queue_bytes``).
    """

    def __init__(self, message: str, *, size: int, limit: int, kind: str) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit
        self.kind = kind


class SchemaExportError(PingSDKError):
    """A Ping class contains something the target JSON Schema draft cannot express.

    Attributes:
        ping: the qualified class name.
        field: the dotted field path, or ``None`` when the problem is the class itself.
    """

    def __init__(self, message: str, *, ping: str, field: str | None = None) -> None:
        super().__init__(message)
        self.ping = ping
        self.field = field


class SchemaWarning(UserWarning):
    """An exported schema is valid but probably not what was meant.

    Emitted by :func:`pingsdk.schema.export_repository` (``pingsdk schema export``) for each field
    the pipeline's BigQuery transpiler drops: such a field is accepted by the edge and then
    never reaches a table column, which is almost always a mistake.
    """


class UploadDisabledError(PingSDKError):
    """``submit()`` was called while uploading is disabled (``upload_enabled=False``)."""


class QueueError(PingSDKError):
    """The durable queue could not store or read pings."""


class QueueFullError(QueueError):
    """The disk holding the queue is full; the ping was not stored, nothing stored was harmed."""


class QueueCorruptError(QueueError):
    """The queue file is not a usable SQLite queue."""


class QueueBusyError(QueueError):
    """The queue file stayed locked (by another process) past the caller's deadline.

    Nothing was changed: the operation can be tried again later.
    """


class SubmitError(PingSDKError):
    """``send_now()`` (or ``send_document_now()``) did not deliver the ping.

    Attributes:
        doc_id: the document id of the ping.
        url: the URL it was sent to (the endpoint and the submit path; no credentials).
        status_code: the last HTTP status, or ``None`` when no answer arrived.
        attempts: how many requests this call made for it.
        detail: the start of the edge's last answer body (at most 1 KiB of one line of text),
            or ``None``.
        reason: the outcome's short token (``"http_400"``, ``"http_503"``, ``"timeout"``,
            ``"connect_error"``, ``"max_attempts"``...), as in a :class:`DeliveryReport`.
    """

    def __init__(
        self,
        message: str,
        *,
        doc_id: str,
        url: str,
        status_code: int | None = None,
        attempts: int = 0,
        detail: str | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.doc_id = doc_id
        self.url = url
        self.status_code = status_code
        self.attempts = attempts
        self.detail = detail
        self.reason = reason


class PingRejectedError(SubmitError):
    """The edge answered 4xx (other than 408/429): resending the same ping cannot succeed.

    The ping was dropped from the queue (and reported to ``on_dropped``).
    """


class EdgeUnavailableError(SubmitError):
    """Every attempt ``send_now()`` could make within its timeout failed retryably (5xx, 408,
    429, no answer). The last network exception, if the last attempt raised one, is the
    ``__cause__``.

    Attributes:
        queued: ``True`` (the usual case) when the ping stays queued, with its retry schedule,
            for the uploader; ``False`` when the client's :class:`RetryPolicy` gave up on it
            (``max_attempts``, ``max_age``) and it was dropped (``reason`` says which).
    """

    def __init__(
        self,
        message: str,
        *,
        doc_id: str,
        url: str,
        status_code: int | None = None,
        attempts: int = 0,
        detail: str | None = None,
        reason: str = "",
        queued: bool = True,
    ) -> None:
        super().__init__(
            message,
            doc_id=doc_id,
            url=url,
            status_code=status_code,
            attempts=attempts,
            detail=detail,
            reason=reason,
        )
        self.queued = queued
