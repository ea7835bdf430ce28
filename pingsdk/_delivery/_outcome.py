"""What an edge response (or a failed request) means for the ping: the spec's status table as a
lookup. No I/O.

============================  =====  ================================  ==========
status / error                kind   reason                            pauses all
============================  =====  ================================  ==========
2xx                           SENT   ``ok``                            no
408                           RETRY  ``http_408``                      no
429                           RETRY  ``rate_limited``                  yes
503                           RETRY  ``http_503``                      yes
other 5xx (500, 507, ...)     RETRY  ``http_<status>``                 no
other 4xx (400, 404, 413...)  DROP   ``http_<status>``                 no
1xx, 3xx, anything else       RETRY  ``unexpected_status``             no
timeout                       RETRY  ``timeout``                       yes
connection refused / DNS      RETRY  ``connect_error``                 yes
reset while reading/writing   RETRY  ``read_error`` / ``write_error``  yes
bad response framing          RETRY  ``protocol_error``                yes
other network or OS error     RETRY  ``network_error``                 yes
any other exception           RETRY  ``error`` (logged at ERROR)       yes
============================  =====  ================================  ==========

"Pauses all" (:attr:`Outcome.pauses_sending`): the server is unreachable or asked every client
to slow down, so the uploader holds back every ping, not only this one, and counts the outage
once however many requests were in flight when it began.

``Retry-After`` (seconds or an HTTP date) is read on RETRY statuses; :class:`RetryPolicy` caps it
and never lets it shorten the policy's own wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import email.utils
import enum
import logging
import math
import re
import typing
from collections.abc import Mapping

import httpx

__all__ = [
    "DETAIL_BYTES",
    "RETRYABLE_EXCEPTIONS",
    "Outcome",
    "OutcomeKind",
    "classify",
    "classify_exception",
    "parse_retry_after",
    "response_detail",
]

logger = logging.getLogger("pingsdk")

_SECONDS = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?")


class OutcomeKind(enum.Enum):
    """What to do with a ping after one attempt."""

    SENT = "sent"
    """Accepted (2xx): delete it from the queue."""
    RETRY = "retry"
    """Try again later (408, 429, 5xx, statuses outside the contract, network errors)."""
    DROP = "drop"
    """Never resend (4xx other than 408/429): delete and report."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """The classified result of one attempt.

    Attributes:
        kind: SENT, RETRY or DROP.
        status: the HTTP status, or ``None`` when no response arrived.
        reason: a short stable token for stats and logs (``"ok"``, ``"http_400"``,
            ``"rate_limited"``, ``"timeout"``...; see the module table).
        retry_after: seconds the server asked to wait (``Retry-After``), ``>= 0``, uncapped;
            ``None`` when absent or unreadable.
        pauses_sending: the answer means the whole edge is unavailable or overloaded (no
            answer, 429, 503): hold back every ping, not only this one.
    """

    kind: OutcomeKind
    status: int | None
    reason: str
    retry_after: float | None = None
    pauses_sending: bool = False


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()  # plain dicts are case-sensitive; httpx.Headers is not
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date.

    A date is taken relative to ``now`` (Unix time); a negative result becomes ``0``; anything
    unreadable (or not finite) gives ``None``, so it is ignored.

    >>> parse_retry_after("120", now=0)
    120.0
    >>> parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=784111777 - 30)
    30.0
    >>> parse_retry_after("soon", now=0) is None
    True
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC with no zone information
            when = when.replace(tzinfo=datetime.timezone.utc)
        try:
            seconds = when.timestamp() - now
        except (OverflowError, OSError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def classify(status: int, headers: Mapping[str, str], *, now: float) -> Outcome:
    """Classify an HTTP response by the edge contract's status table.

    Args:
        status: the HTTP status code.
        headers: the response headers (any case; ``httpx.Headers`` or a dict).
        now: Unix time the response arrived, for a ``Retry-After`` HTTP date.

    >>> classify(200, {}, now=0).kind
    <OutcomeKind.SENT: 'sent'>
    >>> outcome = classify(503, {"retry-after": "7"}, now=0)
    >>> (outcome.kind, outcome.reason, outcome.retry_after, outcome.pauses_sending)
    (<OutcomeKind.RETRY: 'retry'>, 'http_503', 7.0, True)
    >>> classify(404, {}, now=0).reason
    'http_404'
    """
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(f"status must be an int, got {type(status).__name__}")
    for row in _STATUSES:
        if status in row.statuses:
            retry_after = None
            if row.kind is OutcomeKind.RETRY:
                retry_after = parse_retry_after(_header(headers, "Retry-After"), now=now)
            reason = row.reason.format(status=status)
            return Outcome(row.kind, status, reason, retry_after, row.pauses_sending)
    # Not in the contract (a redirecting proxy, a misconfigured endpoint): like Glean, treat it
    # as recoverable, so a configuration mistake costs backoff, not the pings.
    return Outcome(OutcomeKind.RETRY, status, "unexpected_status")


class _Row(typing.NamedTuple):
    statuses: range | frozenset[int]
    kind: OutcomeKind
    reason: str
    pauses_sending: bool


# The module table, first matching row first. "Pauses all" marks the statuses that mean "the
# edge as a whole is overloaded", not "this request failed".
_STATUSES: tuple[_Row, ...] = (
    _Row(range(200, 300), OutcomeKind.SENT, "ok", pauses_sending=False),
    _Row(frozenset({408}), OutcomeKind.RETRY, "http_{status}", pauses_sending=False),
    _Row(frozenset({429}), OutcomeKind.RETRY, "rate_limited", pauses_sending=True),
    _Row(frozenset({503}), OutcomeKind.RETRY, "http_{status}", pauses_sending=True),
    _Row(range(500, 600), OutcomeKind.RETRY, "http_{status}", pauses_sending=False),
    _Row(range(400, 500), OutcomeKind.DROP, "http_{status}", pauses_sending=False),
)

# Most specific first: httpx's exception classes nest (ConnectTimeout is a TimeoutException).
# Every row pauses all sending: no answer came, so the edge itself is unreachable.
_EXCEPTIONS: tuple[tuple[type[BaseException], str, bool], ...] = (
    (httpx.TimeoutException, "timeout", True),
    (TimeoutError, "timeout", True),
    (asyncio.TimeoutError, "timeout", True),  # not yet TimeoutError itself on Python 3.10
    (httpx.ConnectError, "connect_error", True),
    (httpx.ReadError, "read_error", True),
    (httpx.WriteError, "write_error", True),
    (httpx.RemoteProtocolError, "protocol_error", True),
    (httpx.ProxyError, "proxy_error", True),
    (httpx.NetworkError, "network_error", True),
    (ConnectionError, "network_error", True),
    (OSError, "network_error", True),
)
_OTHER_EXCEPTION = ("error", True)
"""Any other exception: most likely a bug on this side, kept and retried (the last table row)."""


RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = tuple(t for t, _, _ in _EXCEPTIONS)
"""The exception types that are known network trouble (retrying them is expected)."""


def classify_exception(exc: BaseException) -> Outcome:
    """Classify an exception raised while sending; every exception means RETRY.

    Known network failures (httpx timeouts, connect/read/write errors, protocol errors, OS
    errors) get their own reason. Anything else is most likely a bug on this side: the ping is
    still kept and retried (reason ``"error"``) rather than lost, and the exception is logged at
    ERROR.

    >>> classify_exception(httpx.ConnectError("refused")).reason
    'connect_error'
    """
    for exc_type, reason, pauses in _EXCEPTIONS:
        if isinstance(exc, exc_type):
            return Outcome(OutcomeKind.RETRY, None, reason, pauses_sending=pauses)
    logger.error(
        "unexpected %s while sending a ping; it stays queued and will be retried",
        type(exc).__name__,
        exc_info=exc,
    )
    reason, pauses = _OTHER_EXCEPTION
    return Outcome(OutcomeKind.RETRY, None, reason, pauses_sending=pauses)


DETAIL_BYTES = 1024
"""How much of an edge's answer body is kept as :attr:`DeliveryReport.detail`."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def response_detail(body: bytes) -> str | None:
    """The first :data:`DETAIL_BYTES` of an answer body as one line of safe text.

    Decoded as UTF-8 (invalid bytes replaced, a character cut at the limit dropped), every run
    of control characters (newlines, escapes, C1 controls) replaced by one space, so a hostile
    server cannot forge log lines or terminal escapes. ``None`` for an empty or blank body.

    >>> response_detail(b'{"error": "missing field"}\\r\\n\\x1b[31m')
    '{"error": "missing field"} [31m'
    >>> response_detail(b"") is None
    True
    """
    text = body[:DETAIL_BYTES].decode("utf-8", "replace")
    if len(body) > DETAIL_BYTES:
        text = text.removesuffix("\ufffd")  # a multi-byte character cut by the limit
    text = _CONTROL.sub(" ", text).strip()
    return text or None
