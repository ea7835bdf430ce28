"""The edge contract as pure decisions: limits, kept headers, request framing.

Nothing here does I/O; the server asks these functions what to answer. Paths are taken apart by
:func:`pingsdk.wire._urls.parse_submit_path` in its lenient mode, names, versions and docIds
checked by :mod:`pingsdk._naming`, so the edge and the client share one rule for each.
"""

from __future__ import annotations

import re

from pingsdk.wire._encoding import MAX_COMPRESSED_BYTES, MAX_JSON_BYTES
from pingsdk.wire._headers import MAX_HEADER_BYTES

__all__ = [
    "ALLOW",
    "KEPT_HEADERS",
    "MAX_BODY",
    "MAX_DECODED",
    "MAX_FIELD",
    "MAX_HEAD",
    "framing",
    "head_framing",
    "oversized_field",
]

ALLOW = "POST, PUT"
# The same limits the client enforces before it sends.
MAX_BODY = MAX_COMPRESSED_BYTES  # request body as sent (1 MB)
MAX_DECODED = MAX_JSON_BYTES  # JSON after decompression (8 MiB)
MAX_FIELD = MAX_HEADER_BYTES  # path, query string, every kept header value (1024 bytes)
# A request head (request line and headers) larger than this is refused unread: the stdlib
# parser allows 64 KiB per line, so a head this size has already broken a limit.
MAX_HEAD = 128 * 1024

# Headers the edge keeps (canonical spelling, as stored).
KEPT_HEADERS = (
    "Content-Length",
    "Date",
    "DNT",
    "User-Agent",
    "X-PingSender-Version",
    "X-Debug-ID",
    "X-Source-Tags",
    "X-Telemetry-Agent",
)

_DIGITS = re.compile(r"^[0-9]+$")


def oversized_field(path: str, query: str, headers: dict[str, str]) -> str | None:
    """Name of the first part over :data:`MAX_FIELD` bytes (answer 431), else ``None``.

    The arguments are as http.server hands them over: decoded as ISO-8859-1, one character
    per byte, so ``len`` is the byte count.
    """
    if len(path) > MAX_FIELD:
        return "path"
    if len(query) > MAX_FIELD:
        return "query"
    for name, value in headers.items():
        if len(value) > MAX_FIELD:
            return f"header {name}"
    return None


def framing(lengths: list[str], transfer_encoding: bool) -> tuple[int | None, int | None, str]:
    """How long the body is, as ``(length, None, "")``, or why not: ``(None, status, reason)``.

    Like production proxies: ``Content-Length`` together with ``Transfer-Encoding``, or two
    ``Content-Length`` values that differ, are 400 (a request whose end is ambiguous is how
    requests get smuggled); no ``Content-Length`` is 411; over :data:`MAX_BODY` is 413.

    Args:
        lengths: every ``Content-Length`` header value, in order.
        transfer_encoding: a ``Transfer-Encoding`` header was sent.
    """
    if lengths and transfer_encoding:
        return None, 400, "Content-Length together with Transfer-Encoding"
    if not lengths:
        if transfer_encoding:
            return None, 411, "Transfer-Encoding instead of Content-Length (send Content-Length)"
        return None, 411, "no Content-Length (send it, at most 1 MB)"
    values = {part.strip() for value in lengths for part in value.split(",")}
    if len(values) > 1:
        return None, 400, "conflicting Content-Length headers"
    (value,) = values
    if not _DIGITS.match(value):
        return None, 400, "Content-Length is not a number"
    length = int(value)
    if length > MAX_BODY:
        return None, 413, f"body over {MAX_BODY} bytes"
    return length, None, ""


def head_framing(head: bytes) -> tuple[int | None, bool]:
    """The body length a raw request head announces (``None`` when it is refused or absent)
    and whether it asks for ``100 Continue``; the same decision as :func:`framing`."""
    lengths: list[str] = []
    chunked = expect = False
    for line in head.decode("latin-1").splitlines()[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == "content-length":
            lengths.append(value)
        elif name == "transfer-encoding":
            chunked = True
        elif name == "expect":
            expect = value.strip().lower() == "100-continue"
    length, _, _ = framing(lengths, chunked)
    return length, expect
