"""The edge contract as pure decisions: path forms, element counts, limits, kept headers.

Nothing here does I/O; the server asks these functions what to answer.
"""

from __future__ import annotations

import dataclasses
import re

from .._encoding import MAX_COMPRESSED_BYTES, MAX_JSON_BYTES
from .._headers import MAX_HEADER_BYTES
from .._validation import lookup_name as normalise

__all__ = [
    "ALLOW",
    "KEPT_HEADERS",
    "MAX_BODY",
    "MAX_DECODED",
    "MAX_FIELD",
    "Route",
    "RouteError",
    "is_doc_id",
    "normalise",
    "oversized_field",
    "parse_route",
    "parse_version",
]

ALLOW = "POST, PUT"
# The same limits the client enforces before it sends.
MAX_BODY = MAX_COMPRESSED_BYTES  # request body as sent (1 MB)
MAX_DECODED = MAX_JSON_BYTES  # JSON after decompression (8 MiB)
MAX_FIELD = MAX_HEADER_BYTES  # path, query string, every kept header value (1024 bytes)

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

_PREFIX = "/submit/"
_LEGACY_PREFIX = "/submit/telemetry/"
_DOC_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_VERSION = re.compile(r"^[1-9][0-9]*$")


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
    return bool(_DOC_ID.match(value))


def parse_version(value: object) -> int | None:
    """A positive integer version from a path element or payload value, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and _VERSION.match(value):
        return int(value)
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
        raise RouteError("document version must be a positive integer")
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
