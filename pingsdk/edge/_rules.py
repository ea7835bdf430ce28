"""The edge contract as pure decisions: path forms, element counts, limits, kept headers.

Nothing here does I/O; the server asks these functions what to answer.
"""

from __future__ import annotations

import dataclasses
import re

from pingsdk.schema._validation import lookup_name as normalise
from pingsdk.wire._encoding import MAX_COMPRESSED_BYTES, MAX_JSON_BYTES
from pingsdk.wire._headers import MAX_HEADER_BYTES

__all__ = [
    "ALLOW",
    "KEPT_HEADERS",
    "MAX_BODY",
    "MAX_DECODED",
    "MAX_FIELD",
    "MAX_HEAD",
    "MAX_VERSION",
    "SUBMIT_PREFIX",
    "Route",
    "RouteError",
    "is_doc_id",
    "normalise",
    "framing",
    "head_framing",
    "oversized_field",
    "parse_route",
    "parse_version",
]

ALLOW = "POST, PUT"
# The same limits the client enforces before it sends.
MAX_BODY = MAX_COMPRESSED_BYTES  # request body as sent (1 MB)
MAX_DECODED = MAX_JSON_BYTES  # JSON after decompression (8 MiB)
MAX_FIELD = MAX_HEADER_BYTES  # path, query string, every kept header value (1024 bytes)
# The largest version SQLite (and BigQuery's INT64) can hold; larger ones name no schema.
MAX_VERSION = 2**63 - 1
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

SUBMIT_PREFIX = _PREFIX = "/submit/"
_LEGACY_PREFIX = "/submit/telemetry/"
_DOC_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_VERSION = re.compile(r"^[1-9][0-9]{0,18}$")
_DIGITS = re.compile(r"^[0-9]+$")


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """A submit path split into its parts.

    ``version`` is ``None`` for the legacy telemetry form (it comes from the payload) and
    ``legacy`` holds ``(appName, appVersion, appUpdateChannel, appBuildID)`` for that form.
    """

    namespace: str
    doctype: str
    version: int | None
    doc_id: str
    legacy: tuple[str, str, str, str] | None = None


class RouteError(Exception):
    """The path is not a submit path the edge knows (answer 404); the message says why."""


def is_doc_id(value: str) -> bool:
    """True for a UUID in 8-4-4-4-12 hex form (the pipeline's pattern, any case)."""
    return bool(_DOC_ID.fullmatch(value))


def parse_version(value: object) -> int | None:
    """A positive integer version up to :data:`MAX_VERSION`, from a path element or payload
    value, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_VERSION else None
    if isinstance(value, str) and _VERSION.fullmatch(value):
        number = int(value)
        return number if number <= MAX_VERSION else None
    return None


def parse_route(path: str) -> Route:
    """Split a request path (without query) into a :class:`Route`.

    Raises:
        RouteError: unknown prefix, wrong number of elements, an empty element, or a generic
            version that is not a positive integer.
    """
    if path.startswith(_LEGACY_PREFIX):
        parts = path[len(_LEGACY_PREFIX) :].split("/")
        if len(parts) != 6:
            raise RouteError(f"legacy telemetry path needs 6 elements, got {len(parts)}")
        if not all(parts):
            raise RouteError("empty path element")
        doc_id, doctype, app_name, app_version, channel, build_id = parts
        return Route("telemetry", doctype, None, doc_id, (app_name, app_version, channel, build_id))
    if not path.startswith(_PREFIX):
        raise RouteError("unknown path prefix (expected /submit/)")
    parts = path[len(_PREFIX) :].split("/")
    if len(parts) != 4:
        raise RouteError(f"submit path needs 4 elements, got {len(parts)}")
    if not all(parts):
        raise RouteError("empty path element")
    namespace, doctype, version_text, doc_id = parts
    version = parse_version(version_text)
    if version is None:
        raise RouteError(f"document version must be a positive integer up to {MAX_VERSION}")
    return Route(namespace, doctype, version, doc_id)


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
