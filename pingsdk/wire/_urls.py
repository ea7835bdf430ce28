"""Submit URLs: the generic and legacy path forms, endpoint checks, the 1024-byte limits. No I/O.

Every element is checked before it is joined, so a path built here always parses back into
exactly the parts it was built from (4 elements after ``/submit/``, or 6 after
``/submit/telemetry/`` plus ``?v=4``) and no element can smuggle in ``/``, ``%``, ``?``, ``#``,
dot segments or whitespace.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import urllib.parse

from pingsdk._exceptions import ConfigurationError
from pingsdk._naming import LEGACY_NAMESPACE, MAX_VERSION, check_url_name, parse_version
from pingsdk.wire._docid import check_doc_id

__all__ = [
    "MAX_PATH_BYTES",
    "MAX_QUERY_BYTES",
    "MAX_VERSION",
    "SUBMIT_PREFIX",
    "AppInfo",
    "SubmitPath",
    "build_submit_url",
    "check_endpoint",
    "is_loopback_host",
    "legacy_submit_path",
    "parse_submit_path",
    "submit_path",
]

MAX_PATH_BYTES = 1024
"""The edge answers 431 when the path is longer (bytes)."""
MAX_QUERY_BYTES = 1024
"""The edge answers 431 when the query string is longer (bytes)."""
SUBMIT_PREFIX = "/submit/"
"""Every submit path starts with this."""

LEGACY_QUERY = "v=4"
_LEGACY_APP_PARTS = 4

# The legacy path's application parts: RFC 3986 unreserved characters, no dot-only segment.
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
# An endpoint's path prefix: segments of unreserved characters or %XX escapes.
_PREFIX_SEGMENT = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+")
_HOSTNAME = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?"
)
_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")


def _check_version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"version must be an int, got {type(value).__name__}")
    if value < 1:
        raise ConfigurationError(f"version must be a positive int, got {value}")
    if value > MAX_VERSION:
        raise _version_error(value)
    return value


def _too_large(digits: str) -> ConfigurationError:
    """The error for a version written with more digits than :data:`MAX_VERSION` allows."""
    try:
        return _version_error(int(digits))
    except ValueError:  # over Python's int parsing limit (4,300 digits by default)
        size = f"{len(digits)} digits"
    return ConfigurationError(
        f"version must be at most 2**63 - 1, the largest the pipeline stores; got {size}"
    )


def _version_error(value: int) -> ConfigurationError:
    return ConfigurationError(
        "version must be at most 2**63 - 1, the largest the pipeline stores; got an int "
        f"of {value.bit_length()} bits"
    )


def _check_segment(kind: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{kind} must be a str, got {type(value).__name__}")
    if not _SEGMENT.fullmatch(value) or value in {".", ".."}:
        raise ConfigurationError(
            f"{kind} {value[:100]!r} is not a valid URL path segment: use only letters, digits, "
            "'.', '_', '~' and '-' (not empty, not '.' or '..')"
        )
    return value


def _check_path_length(path: str) -> str:
    size = len(path.encode())
    if size > MAX_PATH_BYTES:
        raise ConfigurationError(
            f"the submit path is {size} bytes; the edge accepts at most {MAX_PATH_BYTES}: "
            "use shorter names (or a shorter endpoint path prefix)"
        )
    return path


@dataclasses.dataclass(frozen=True, slots=True)
class AppInfo:
    """The application parts of the legacy Firefox telemetry URL.

    Each part must be a URL-safe path segment (letters, digits, ``.``, ``_``, ``~``, ``-``).

    Attributes:
        name: ``appName``, e.g. ``"Firefox"``.
        version: ``appVersion``, e.g. ``"128.0.3"``.
        channel: ``appUpdateChannel``, e.g. ``"release"``.
        build_id: ``appBuildID``, e.g. ``"20240725162350"``.

    Raises:
        ConfigurationError: a part is empty, not a str, or has other characters.

    Example::

        app = pingsdk.AppInfo(
            name="Firefox", version="128.0.3", channel="release", build_id="20240725162350"
        )

    Added in 0.1.
    """

    name: str
    version: str
    channel: str
    build_id: str

    def __post_init__(self) -> None:
        _check_segment("AppInfo.name", self.name)
        _check_segment("AppInfo.version", self.version)
        _check_segment("AppInfo.channel", self.channel)
        _check_segment("AppInfo.build_id", self.build_id)


def submit_path(namespace: str, doctype: str, version: int, doc_id: str) -> str:
    """The generic submit path ``/submit/<namespace>/<doctype>/<version>/<doc_id>``.

    Args:
        namespace: document namespace, ``[a-z0-9_-]``, not starting or ending with ``-``/``_``.
            ``"telemetry"`` is reserved for the legacy form (:func:`legacy_submit_path`).
        doctype: document type, same rule.
        version: positive int, at most :data:`MAX_VERSION` (2**63 - 1).
        doc_id: canonical lowercase UUID.

    Returns:
        The path (no query string).

    Raises:
        ConfigurationError: a part is invalid or the path is over 1024 bytes.

    >>> submit_path("my-app", "search-counts", 1, "01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980")
    '/submit/my-app/search-counts/1/01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980'

    Added in 0.1.
    """
    check_url_name("namespace", namespace)
    if namespace == LEGACY_NAMESPACE:
        raise ConfigurationError(
            "namespace 'telemetry' is reserved for Firefox desktop pings, which use the legacy "
            "URL form: use legacy_submit_path(doc_id, doctype, app) or another namespace"
        )
    check_url_name("doctype", doctype)
    _check_version(version)
    check_doc_id(doc_id)
    return _check_path_length(f"/submit/{namespace}/{doctype}/{version}/{doc_id}")


def legacy_submit_path(doc_id: str, doctype: str, app: AppInfo) -> str:
    """The legacy telemetry path with its query string.

    ``/submit/telemetry/<docId>/<docType>/<appName>/<appVersion>/<appUpdateChannel>/<appBuildID>?v=4``

    Args:
        doc_id: canonical lowercase UUID.
        doctype: document type (``[a-z0-9_-]``), e.g. ``"main"``.
        app: the application parts.

    Raises:
        ConfigurationError: a part is invalid or the path is over 1024 bytes.

    >>> app = AppInfo(name="Firefox", version="128.0", channel="release", build_id="20240725")
    >>> legacy_submit_path("01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980", "main", app)
    '/submit/telemetry/01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980/main/Firefox/128.0/release/20240725?v=4'

    Added in 0.1.
    """
    check_doc_id(doc_id)
    check_url_name("doctype", doctype)
    if not isinstance(app, AppInfo):
        raise ConfigurationError(f"app must be a pingsdk.AppInfo, got {type(app).__name__}")
    path = (
        f"/submit/{LEGACY_NAMESPACE}/{doc_id}/{doctype}/"
        f"{app.name}/{app.version}/{app.channel}/{app.build_id}"
    )
    return _check_path_length(path) + "?" + LEGACY_QUERY


def is_loopback_host(host: str) -> bool:
    """``True`` for ``localhost``, 127.0.0.0/8 and ``::1`` (brackets optional)."""
    host = host.lower().removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.version == 4:
        return address in _LOOPBACK_V4
    return address == ipaddress.IPv6Address("::1")


def _redacted(endpoint: str) -> str:
    """``endpoint`` without what may hold a secret (query, fragment, user:password@)."""
    text = endpoint.partition("?")[0].partition("#")[0]
    scheme, sep, rest = text.rpartition("://")
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = "***@" + host.rpartition("@")[2]
    return f"{scheme}{sep}{host}{slash}{path}"


def check_endpoint(endpoint: str, *, allow_insecure: bool = False) -> str:
    """Check an edge endpoint URL and return it normalised (lowercase scheme and host, no
    trailing ``/``).

    Args:
        endpoint: ``https://host[:port][/prefix]``. A path prefix is kept (for an edge behind a
            proxy path); userinfo, a query or a fragment are refused.
        allow_insecure: permit ``http://`` to a non-loopback host. Plain ``http://`` to
            ``localhost``, 127.0.0.0/8 or ``[::1]`` is always allowed.

    Raises:
        ConfigurationError: saying what to change. The message never repeats credentials.

    >>> check_endpoint("HTTPS://Incoming.Example.com/")
    'https://incoming.example.com'
    >>> check_endpoint("http://127.0.0.1:8000")
    'http://127.0.0.1:8000'

    Added in 0.1.
    """
    parts = _split_endpoint(endpoint)
    scheme = parts.scheme.lower()
    hostname, port_text = _host_and_port(endpoint, parts.netloc)
    path = parts.path.rstrip("/")
    _check_prefix(endpoint, path, f"{scheme}://{hostname.lower()}{port_text}")
    if scheme == "http" and not allow_insecure and not is_loopback_host(hostname):
        raise ConfigurationError(
            f"endpoint {endpoint!r} uses plain http:// to a non-loopback host: use https://, "
            "or pass allow_insecure=True if you really mean to send pings unencrypted"
        )
    return f"{scheme}://{hostname.lower()}{port_text}{path}"


def _split_endpoint(endpoint: object) -> urllib.parse.SplitResult:
    """The endpoint's URL parts, once its characters, scheme, userinfo and query are checked."""
    if not isinstance(endpoint, str):
        raise ConfigurationError(f"endpoint must be a str, got {type(endpoint).__name__}")
    if not endpoint.isascii() or any(c.isspace() or not c.isprintable() for c in endpoint):
        raise ConfigurationError(
            "endpoint must be an ASCII URL without spaces or control characters "
            "(use the punycode xn-- form for an international host name)"
        )
    try:
        parts = urllib.parse.urlsplit(endpoint)
    except ValueError:
        raise ConfigurationError(
            f"endpoint {_redacted(endpoint)!r} is not a valid URL: "
            "expected 'https://host[:port][/path]'"
        ) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise ConfigurationError(
            "endpoint must start with https:// (e.g. 'https://incoming.example.com'), "
            f"got scheme {parts.scheme!r}"
        )
    if "@" in parts.netloc:
        # Never echo the URL: the userinfo may be a password.
        raise ConfigurationError(
            "endpoint must not contain credentials (user:password@); the edge takes none"
        )
    if "?" in endpoint or "#" in endpoint:
        raise ConfigurationError(
            f"endpoint {_redacted(endpoint)!r} must not have a query string or fragment (not "
            "shown here): give only scheme, host, optional port and optional path prefix"
        )
    return parts


def _host_and_port(endpoint: str, netloc: str) -> tuple[str, str]:
    """The host (IPv6 in brackets) and ``:port`` (canonical digits, or ``""``) of ``netloc``."""
    if netloc.startswith("["):
        bracket_end = netloc.find("]")
        hostname, port_text = netloc[: bracket_end + 1], netloc[bracket_end + 1 :]
        try:
            ipaddress.IPv6Address(hostname[1:-1])
        except ValueError:
            raise ConfigurationError(
                f"endpoint {endpoint!r} has an invalid IPv6 address {hostname!r}"
            ) from None
    else:
        hostname, colon, port = netloc.partition(":")
        port_text = colon + port
        if not _HOSTNAME.fullmatch(hostname):
            raise ConfigurationError(
                f"endpoint {endpoint!r} has no valid host name: expected "
                "'https://host[:port][/path]', host made of letters, digits, '-' and '.'"
            )
    if port_text:
        digits = port_text[1:]
        if not (port_text.startswith(":") and digits.isdigit() and 0 < int(digits) < 65536):
            raise ConfigurationError(
                f"endpoint {endpoint!r} has an invalid port: use a number from 1 to 65535"
            )
        port_text = f":{int(digits)}"
    return hostname, port_text


def _check_prefix(endpoint: str, path: str, base: str) -> None:
    """Refuse a path prefix with bad segments, or one holding ``/submit`` (``base`` is the
    normalised scheme, host and port, for the suggestion)."""
    if not path:
        return
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        if not _PREFIX_SEGMENT.fullmatch(segment) or segment in {".", ".."}:
            raise ConfigurationError(
                f"endpoint {endpoint!r} has an invalid path prefix: use segments of letters, "
                "digits, '.', '_', '~', '-' or %XX escapes, no empty, '.' or '..' segments"
            )
        if segment.lower() == "submit":
            # pingsdk appends /submit/...: the pings would go to /submit/submit/ and 404.
            prefix = "".join("/" + kept for kept in segments[:index])
            raise ConfigurationError(
                f"endpoint {endpoint!r} must not contain the /submit path: give the edge's "
                f"base URL, e.g. {base + prefix!r}; pingsdk adds /submit/<namespace>/... to it"
            )


def build_submit_url(endpoint: str, path: str, *, allow_insecure: bool = False) -> str:
    """Join a checked endpoint and a submit path (from :func:`submit_path` or
    :func:`legacy_submit_path`) into the full URL.

    Args:
        endpoint: see :func:`check_endpoint`; a path prefix is kept.
        path: ``/submit/...``, with the ``?v=4`` query for the legacy form.
        allow_insecure: passed to :func:`check_endpoint`.

    Raises:
        ConfigurationError: a bad endpoint, a path that is not a valid submit path, or a full
            path or query over 1024 bytes.

    >>> build_submit_url(
    ...     "https://incoming.example.com",
    ...     submit_path("my-app", "search-counts", 1, "01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980"),
    ... )
    'https://incoming.example.com/submit/my-app/search-counts/1/01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980'

    Added in 0.1.
    """
    base = check_endpoint(endpoint, allow_insecure=allow_insecure)
    parse_submit_path(path)
    full_path, _, query = path.partition("?")
    prefix = urllib.parse.urlsplit(base).path
    _check_path_length(prefix + full_path)
    if len(query.encode()) > MAX_QUERY_BYTES:  # pragma: no cover - only "v=4" parses
        raise ConfigurationError(f"the query string is over {MAX_QUERY_BYTES} bytes")
    return base + path


@dataclasses.dataclass(frozen=True, slots=True)
class SubmitPath:
    """A submit path taken apart by :func:`parse_submit_path`.

    ``version`` is set for the generic form and ``None`` for the legacy telemetry form (its
    version comes from the payload). ``legacy`` holds the legacy form's application elements
    ``(appName, appVersion, appUpdateChannel, appBuildID)`` as written in the path; a strict
    parse also gives them checked, as ``app`` (``legacy`` then follows from ``app``).
    """

    namespace: str
    doctype: str
    version: int | None
    doc_id: str
    app: AppInfo | None = None
    legacy: tuple[str, str, str, str] | None = None

    def __post_init__(self) -> None:
        app = self.app
        if app is not None and self.legacy is None:
            object.__setattr__(self, "legacy", (app.name, app.version, app.channel, app.build_id))


def parse_submit_path(path: str, *, strict: bool = True) -> SubmitPath:
    """Take a submit path apart: strictly (what pingsdk sends) or leniently (what an edge routes).

    Strict (the default) accepts exactly what :func:`submit_path` / :func:`legacy_submit_path`
    produce (the same checks, query included), so ``parse_submit_path(submit_path(*parts))``
    gives the parts back. Lenient is the edge's routing: the query is ignored and only the
    structure is checked (the prefix, 4 elements after ``/submit/`` or 6 after
    ``/submit/telemetry/``, none empty, a generic version that is a positive integer up to
    2**63 - 1); names, docId and application elements are left for the caller to judge.

    Args:
        path: the request path (a strict parse needs the legacy form's ``?v=4``).
        strict: check every element as pingsdk builds it.

    Raises:
        ConfigurationError: the path is not a (valid) submit path; in lenient mode the message
            is the short reason an edge gives with its 404.

    >>> parts = parse_submit_path("/submit/my-app/doc/1/01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980")
    >>> (parts.namespace, parts.doctype, parts.version, parts.app)
    ('my-app', 'doc', 1, None)
    >>> parse_submit_path("/submit/My%20App/doc/1/x", strict=False).namespace
    'My%20App'
    """
    if not isinstance(path, str):
        raise ConfigurationError(f"path must be a str, got {type(path).__name__}")
    raw_path, has_query, query = path.partition("?")
    if not raw_path.startswith(SUBMIT_PREFIX):
        raise _refused(
            strict,
            f"path {path[:100]!r} does not start with /submit/",
            "unknown path prefix (expected /submit/)",
        )
    elements = raw_path[len(SUBMIT_PREFIX) :].split("/")
    # Strictly, "telemetry" always means the legacy form; an edge routes "/submit/telemetry"
    # with nothing after it like any other short path.
    if elements[0] == LEGACY_NAMESPACE and (strict or len(elements) > 1):
        return _parse_legacy(path, elements[1:], query, strict=strict)
    return _parse_generic(path, elements, bool(has_query), strict=strict)


def _refused(strict: bool, message: str, reason: str) -> ConfigurationError:
    """The error for a path refused in either mode: ``message`` strictly, ``reason`` (the
    edge's 404 reason) leniently."""
    return ConfigurationError(message if strict else reason)


def _parse_legacy(path: str, parts: list[str], query: str, *, strict: bool) -> SubmitPath:
    if len(parts) != 2 + _LEGACY_APP_PARTS or (strict and query != LEGACY_QUERY):
        raise _refused(
            strict,
            f"legacy telemetry path {path[:100]!r} must have exactly 6 elements after "
            "/submit/telemetry/ and the query ?v=4",
            f"legacy telemetry path needs 6 elements, got {len(parts)}",
        )
    doc_id, doctype, name, app_version, channel, build_id = parts
    if not strict:
        if not all(parts):
            raise ConfigurationError("empty path element")
        legacy = (name, app_version, channel, build_id)
        return SubmitPath(LEGACY_NAMESPACE, doctype, None, doc_id, legacy=legacy)
    app = AppInfo(name=name, version=app_version, channel=channel, build_id=build_id)
    if legacy_submit_path(doc_id, doctype, app) != path:  # pragma: no cover - defensive
        raise ConfigurationError(f"path {path[:100]!r} is not a canonical submit path")
    return SubmitPath(LEGACY_NAMESPACE, doctype, None, doc_id, app)


def _parse_generic(path: str, parts: list[str], has_query: bool, *, strict: bool) -> SubmitPath:
    if len(parts) != 4 or (strict and has_query):
        raise _refused(
            strict,
            f"path {path[:100]!r} must have exactly 4 elements after /submit/ "
            "(namespace/doctype/version/docId) and no query string",
            f"submit path needs 4 elements, got {len(parts)}",
        )
    if not strict and not all(parts):
        raise ConfigurationError("empty path element")
    namespace, doctype, version_text, doc_id = parts
    version = parse_version(version_text)
    if version is None:
        if strict and version_text.isascii() and version_text.isdigit() and version_text[0] != "0":
            # Too large: refused where submit_path() refuses it, after the names.
            check_url_name("namespace", namespace)
            check_url_name("doctype", doctype)
            raise _too_large(version_text)
        raise _refused(
            strict,
            f"path {path[:100]!r}: the version element must be a positive integer",
            f"document version must be a positive integer up to {MAX_VERSION}",
        )
    if strict:
        submit_path(namespace, doctype, version, doc_id)
    return SubmitPath(namespace, doctype, version, doc_id)
