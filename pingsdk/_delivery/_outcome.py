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

import dataclasses
import datetime
import email.utils
import enum
import logging
import math
import re
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
    if 200 <= status < 300:
        return Outcome(OutcomeKind.SENT, status, "ok")
    if status in (408, 429) or 500 <= status < 600:
        reason = "rate_limited" if status == 429 else f"http_{status}"
        retry_after = parse_retry_after(_header(headers, "Retry-After"), now=now)
        return Outcome(OutcomeKind.RETRY, status, reason, retry_after, status in _PAUSING)
    if 400 <= status < 500:
        return Outcome(OutcomeKind.DROP, status, f"http_{status}")
    # Not in the contract (a redirecting proxy, a misconfigured endpoint): like Glean, treat it
    # as recoverable, so a configuration mistake costs backoff, not the pings.
    return Outcome(OutcomeKind.RETRY, status, "unexpected_status")


_PAUSING = frozenset({429, 503})
"""Statuses that mean "the edge as a whole is overloaded", not "this request failed"."""

# Most specific first: httpx's exception classes nest (ConnectTimeout is a TimeoutException).
_EXCEPTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (httpx.TimeoutException, "timeout"),
    (TimeoutError, "timeout"),
    (httpx.ConnectError, "connect_error"),
    (httpx.ReadError, "read_error"),
    (httpx.WriteError, "write_error"),
    (httpx.RemoteProtocolError, "protocol_error"),
    (httpx.ProxyError, "proxy_error"),
    (httpx.NetworkError, "network_error"),
    (ConnectionError, "network_error"),
    (OSError, "network_error"),
)


RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = tuple(t for t, _ in _EXCEPTIONS)
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
    for exc_type, reason in _EXCEPTIONS:
        if isinstance(exc, exc_type):
            return Outcome(OutcomeKind.RETRY, None, reason, pauses_sending=True)
    logger.error(
        "unexpected %s while sending a ping; it stays queued and will be retried",
        type(exc).__name__,
        exc_info=exc,
    )
    return Outcome(OutcomeKind.RETRY, None, "error", pauses_sending=True)


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
