"""Request headers: the fixed set, the agent string, value checks, forbidden names. No I/O.

Every value that leaves here is printable ASCII on one line, ≤ 1024 bytes, without leading or
trailing whitespace (which h11 refuses), so a header can neither split the request nor be cut by
the edge (431). Messages name the header but never repeat its value: extra headers may carry
secrets.
"""

from __future__ import annotations

import email.utils
import functools
import platform
import re
import sys
from collections.abc import Mapping, Sequence

from pingsdk._exceptions import ConfigurationError
from pingsdk._version import __version__

__all__ = [
    "FORBIDDEN_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_SOURCE_TAGS",
    "build_headers",
    "check_header_name",
    "check_header_value",
    "http_date",
    "telemetry_agent",
]

MAX_HEADER_BYTES = 1024
"""The edge answers 431 for a longer header value (bytes)."""
MAX_SOURCE_TAGS = 5
"""At most this many ``X-Source-Tags`` (Glean's rule)."""

FORBIDDEN_HEADERS = frozenset(
    {"x-forwarded-for", "x-lb-tags", "x-foxsec-ip-reputation", "x-pipeline-proxy"}
)
"""Infrastructure headers the edge's load balancer sets; a client must never send them."""

# Headers pingsdk sets itself (or httpx does); extras may not replace them.
_OWN_HEADERS = {
    "content-type": "it is always application/json; charset=utf-8",
    "content-encoding": "it follows compress=",
    "content-length": "it is the body's size",
    "x-telemetry-agent": "it identifies pingsdk",
    "x-debug-id": "pass debug_id= instead, which is validated",
    "x-source-tags": "pass source_tags= instead, which is validated",
    "date": "it is set at send time",
    "host": "it comes from the endpoint",
    "transfer-encoding": "bodies are sent with Content-Length",
    "connection": "httpx manages connections",
}

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TAG = re.compile(r"[A-Za-z0-9-]{1,20}")
_CONTENT_TYPE = "application/json; charset=utf-8"


def check_header_name(name: str) -> str:
    """Check that ``name`` is an HTTP token (RFC 9110); return it unchanged.

    Raises:
        ConfigurationError: empty, non-ASCII, spaces, ``:`` or other separators.
    """
    if not isinstance(name, str):
        raise ConfigurationError(f"a header name must be a str, got {type(name).__name__}")
    if not _TOKEN.fullmatch(name):
        raise ConfigurationError(
            f"header name {name[:60]!r} is not valid: use letters, digits and '-' "
            "(no spaces, colons or other separators)"
        )
    return name


def check_header_value(name: str, value: str) -> str:
    """Check one header value; return it unchanged.

    Refused: CR, LF or any other control character, non-ASCII, leading or trailing whitespace,
    more than 1024 bytes.

    Args:
        name: the header name (used in the message only).
        value: the value to check.

    Raises:
        ConfigurationError: naming the header and the problem, never echoing the value.

    >>> check_header_value("X-Debug-ID", "my-debug-tag")
    'my-debug-tag'
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"header {name}: value must be a str, got {type(value).__name__}")
    if (
        value.isascii()
        and value.isprintable()  # False for CR, LF, TAB, NUL... and DEL
        and len(value) <= MAX_HEADER_BYTES
        and not value.startswith(" ")
        and not value.endswith(" ")
    ):
        return value  # the common case, without a Python-level loop over the characters
    for position, char in enumerate(value):
        if char in "\r\n":
            raise ConfigurationError(
                f"header {name}: value contains a line break (CR or LF) at position {position}; "
                "header values must be a single line"
            )
        if not char.isascii():
            raise ConfigurationError(
                f"header {name}: value contains a non-ASCII character at position {position}; "
                "use ASCII only (percent-encode or drop the character)"
            )
        if not char.isprintable():
            raise ConfigurationError(
                f"header {name}: value contains control character {ord(char):#04x} at position "
                f"{position}; use printable ASCII only"
            )
    if value != value.strip(" "):
        raise ConfigurationError(f"header {name}: value has leading or trailing spaces; strip them")
    if len(value) > MAX_HEADER_BYTES:  # ASCII by now: characters are bytes
        raise ConfigurationError(
            f"header {name}: value is {len(value)} bytes; the edge accepts at most "
            f"{MAX_HEADER_BYTES}"
        )
    return value


@functools.lru_cache(maxsize=1)
def telemetry_agent() -> str:
    """The ``X-Telemetry-Agent`` value: ``pingsdk/<version> (Python <x.y> on <os>)``.

    >>> telemetry_agent().startswith("pingsdk/")
    True
    """
    system = re.sub(r"[^A-Za-z0-9._-]", "", platform.system()) or "unknown"
    agent = (
        f"pingsdk/{__version__} (Python {sys.version_info[0]}.{sys.version_info[1]} on {system})"
    )
    return check_header_value("X-Telemetry-Agent", agent)


def _check_debug_id(debug_id: str) -> str:
    if not isinstance(debug_id, str) or not _TAG.fullmatch(debug_id):
        raise ConfigurationError(
            "debug_id must be 1-20 characters of letters, digits and '-' (X-Debug-ID rule), "
            f"got {str(debug_id)[:40]!r}"
        )
    return debug_id


def _check_source_tags(source_tags: Sequence[str]) -> str:
    if isinstance(source_tags, (str, bytes)):
        raise ConfigurationError(
            "source_tags must be a sequence of tags, not a single string: "
            "write source_tags=('automation',)"
        )
    try:
        tags = list(source_tags)
    except TypeError:
        raise ConfigurationError(
            f"source_tags must be a sequence of tags, got {type(source_tags).__name__}"
        ) from None
    if len(tags) > MAX_SOURCE_TAGS:
        raise ConfigurationError(
            f"source_tags has {len(tags)} tags; at most {MAX_SOURCE_TAGS} are allowed"
        )
    for tag in tags:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            raise ConfigurationError(
                "each source tag must be 1-20 characters of letters, digits and '-' "
                f"(X-Source-Tags rule), got {str(tag)[:40]!r}"
            )
    return ",".join(tags)


def build_headers(
    *,
    compressed: bool,
    content_length: int,
    debug_id: str | None = None,
    source_tags: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The fixed headers of one ping (everything but ``Date``, set at send time by
    :func:`http_date`).

    Args:
        compressed: the body is gzipped (adds ``Content-Encoding: gzip``).
        content_length: the body's size in bytes.
        debug_id: ``X-Debug-ID``, 1-20 of ``[A-Za-z0-9-]``; routes pings to the Debug View.
        source_tags: ``X-Source-Tags``, at most 5 tags of the same rule, e.g. ``("automation",)``.
        extra: more headers (e.g. ``DNT``). Not allowed: infrastructure headers
            (``X-Forwarded-For``, ``X-LB-Tags``, ``X-Foxsec-IP-Reputation``, ``X-Pipeline-Proxy``)
            and the headers set here (compared case-insensitively).

    Returns:
        A new dict, built headers first, extras after in their order.

    Raises:
        ConfigurationError: any rule above; every value is checked by
            :func:`check_header_value`.

    >>> build_headers(compressed=True, content_length=42)["Content-Encoding"]
    'gzip'
    """
    if isinstance(content_length, bool) or not isinstance(content_length, int):
        raise ConfigurationError(
            f"content_length must be an int, got {type(content_length).__name__}"
        )
    if content_length < 0:
        raise ConfigurationError(f"content_length must be >= 0, got {content_length}")
    if extra is not None and not isinstance(extra, Mapping):
        raise ConfigurationError(
            f"headers must be a mapping of name to value, got {type(extra).__name__}"
        )
    if isinstance(source_tags, (str, bytes)):
        _check_source_tags(source_tags)  # raises with the fix in the message
    try:
        key = (bool(compressed), debug_id, tuple(source_tags), tuple((extra or {}).items()))
        before, after = _fixed_headers(*key)
    except TypeError:  # something unhashable: check it uncached (raises ConfigurationError)
        before, after = _fixed_headers.__wrapped__(
            bool(compressed), debug_id, source_tags, tuple((extra or {}).items())
        )
    return {**before, "Content-Length": str(content_length), **after}


# submit() builds the same headers for every ping but Content-Length: check them once.
@functools.lru_cache(maxsize=64)
def _fixed_headers(
    compressed: bool,
    debug_id: str | None,
    source_tags: Sequence[str],
    extra: tuple[tuple[str, str], ...],
) -> tuple[dict[str, str], dict[str, str]]:
    """The headers before and after Content-Length; cached, so callers must not mutate them."""
    before = {"Content-Type": _CONTENT_TYPE}
    if compressed:
        before["Content-Encoding"] = "gzip"
    after = {"X-Telemetry-Agent": telemetry_agent()}
    if debug_id is not None:
        after["X-Debug-ID"] = _check_debug_id(debug_id)
    tags = _check_source_tags(source_tags)
    if tags:
        after["X-Source-Tags"] = tags
    seen: set[str] = set()
    for name, value in extra:
        check_header_name(name)
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS:
            raise ConfigurationError(
                f"header {name} is an infrastructure header set by the edge's load balancer; "
                "a client must never send it: remove it from headers="
            )
        if lowered in _OWN_HEADERS:
            raise ConfigurationError(
                f"header {name} cannot be set through headers=: {_OWN_HEADERS[lowered]}"
            )
        if lowered in seen:
            raise ConfigurationError(
                f"header {name} is given twice (header names are case-insensitive)"
            )
        seen.add(lowered)
        after[name] = check_header_value(name, value)
    return before, after


def http_date(now: float) -> str:
    """Format a Unix time as an HTTP date (RFC 7231 IMF-fixdate), for the ``Date`` header.

    >>> http_date(784111777)
    'Sun, 06 Nov 1994 08:49:37 GMT'
    """
    return email.utils.formatdate(now, usegmt=True)


def send_headers(stored: Mapping[str, str], *, now: float) -> dict[str, str]:
    """The headers of one POST: a row's ``stored`` headers plus ``Date`` (the send time) and,
    unless the client's extra headers named one (proxies may want their own), ``User-Agent``.

    >>> sorted(send_headers({"Content-Type": "application/json"}, now=0.0))
    ['Content-Type', 'Date', 'User-Agent']
    """
    headers = dict(stored)
    headers["Date"] = http_date(now)
    if not any(name.lower() == "user-agent" for name in headers):
        headers["User-Agent"] = telemetry_agent()
    return headers
