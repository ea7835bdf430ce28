"""ClientConfig: every client setting, validated once, frozen. Shared by both clients."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from typing_extensions import Unpack

from pingsdk._delivery._retry import RetryPolicy
from pingsdk._exceptions import ConfigurationError
from pingsdk._log import logger
from pingsdk.wire._headers import build_headers
from pingsdk.wire._urls import AppInfo, check_endpoint

if TYPE_CHECKING:
    # httpx only types the transport here; the clients' signatures name ClientSettings, so this
    # module must not load it on `import pingsdk`.
    import httpx

    from pingsdk._delivery._stats import DeliveryReport

__all__ = ["ClientConfig", "ClientSettings", "Durability", "build_config"]

Durability = Literal["process", "power", "buffered"]

DEFAULT_MAX_IN_FLIGHT = 16
DEFAULT_BUFFER_DELAY = 0.05
DEFAULT_TIMEOUT = 10.0
DEFAULT_ATEXIT_TIMEOUT = 2.0
DEFAULT_MAX_QUEUE_COUNT = 10_000
DEFAULT_MAX_QUEUE_BYTES = 50 * 1024 * 1024

ENV_DEBUG_ID = "PINGSDK_DEBUG_ID"
"""Environment variable: the ``X-Debug-ID`` for every client of the process (wins over code)."""
ENV_SOURCE_TAGS = "PINGSDK_SOURCE_TAGS"
"""Environment variable: comma-separated ``X-Source-Tags`` (wins over code)."""
ENV_LOG_PINGS = "PINGSDK_LOG_PINGS"
"""Environment variable: ``1`` logs payloads at DEBUG, ``0`` does not (wins over code)."""

_logged_overrides: set[tuple[str, ...]] = set()
_logged_lock = threading.Lock()


class ClientSettings(TypedDict, total=False):
    """The keywords of :class:`PingClient` and :class:`AsyncPingClient` after ``endpoint``,
    typed once here (both clients take ``**settings: Unpack[ClientSettings]``); see
    ``PingClient`` for their meaning and :data:`DEFAULTS` for the value of each one left out."""

    queue_path: str | os.PathLike[str] | None
    retry: RetryPolicy | None
    max_in_flight: int
    compress: bool
    timeout: float
    debug_id: str | None
    source_tags: Sequence[str]
    headers: Mapping[str, str] | None
    app: AppInfo | None
    upload_enabled: bool
    rate_limit: tuple[int, float] | None
    max_queue_count: int
    max_queue_bytes: int
    durability: Durability
    buffer_delay: float
    allow_insecure: bool
    log_pings: bool
    on_sent: Callable[[DeliveryReport], None] | None
    on_dropped: Callable[[DeliveryReport], None] | None
    atexit_timeout: float
    transport: httpx.AsyncBaseTransport | None
    verify: bool | str
    uploader: bool | Literal["thread", "process"]


DEFAULTS: ClientSettings = {
    "queue_path": None,
    "retry": None,
    "max_in_flight": DEFAULT_MAX_IN_FLIGHT,
    "compress": True,
    "timeout": DEFAULT_TIMEOUT,
    "debug_id": None,
    "source_tags": (),
    "headers": None,
    "app": None,
    "upload_enabled": True,
    "rate_limit": None,
    "max_queue_count": DEFAULT_MAX_QUEUE_COUNT,
    "max_queue_bytes": DEFAULT_MAX_QUEUE_BYTES,
    "durability": "process",
    "buffer_delay": DEFAULT_BUFFER_DELAY,
    "allow_insecure": False,
    "log_pings": False,
    "on_sent": None,
    "on_dropped": None,
    "atexit_timeout": DEFAULT_ATEXIT_TIMEOUT,
    "transport": None,
    "verify": True,
    "uploader": True,
}
"""The value of every client keyword left out."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """The validated settings of a :class:`PingClient` / :class:`AsyncPingClient`.

    Built by :func:`build_config` from the constructor's keywords; see ``PingClient`` for the
    meaning of each. ``endpoint`` is normalised (no trailing ``/``).

    ``lease_seconds`` is how long a claimed ping stays reserved to this client;
    ``request_deadline`` (two thirds of it) bounds one whole request, so a send always ends
    before its lease could pass to another sender. ``env_overrides`` names the settings taken
    from ``PINGSDK_*`` environment variables.
    """

    endpoint: str
    queue_path: str | os.PathLike[str] | None
    retry: RetryPolicy
    max_in_flight: int
    compress: bool
    timeout: float
    debug_id: str | None
    source_tags: tuple[str, ...]
    headers: Mapping[str, str]
    app: AppInfo | None
    upload_enabled: bool
    rate_limit: tuple[int, float] | None
    max_queue_count: int
    max_queue_bytes: int
    durability: Durability
    buffer_delay: float
    allow_insecure: bool
    log_pings: bool
    on_sent: Callable[[DeliveryReport], None] | None
    on_dropped: Callable[[DeliveryReport], None] | None
    atexit_timeout: float
    transport: httpx.AsyncBaseTransport | None
    verify: bool | str
    uploader: bool
    sender_process: bool
    lease_seconds: float
    request_deadline: float
    env_overrides: tuple[str, ...] = ()


def _positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ConfigurationError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive int, got {value!r}")
    return value


def _environment(
    debug_id: str | None, source_tags: Sequence[str], log_pings: bool
) -> tuple[str | None, Sequence[str], bool, tuple[str, ...]]:
    """Apply the ``PINGSDK_*`` variables, which win over code (as Glean's debug variables do).

    An empty variable counts as unset. Raises ConfigurationError naming the variable.
    """
    overrides: list[str] = []
    env_debug_id = os.environ.get(ENV_DEBUG_ID, "")
    if env_debug_id:
        try:
            build_headers(compressed=False, content_length=0, debug_id=env_debug_id)
        except ConfigurationError as exc:
            raise ConfigurationError(f"environment variable {ENV_DEBUG_ID}: {exc}") from None
        debug_id = env_debug_id
        overrides.append(f"debug_id from {ENV_DEBUG_ID}")
    env_tags = os.environ.get(ENV_SOURCE_TAGS, "")
    if env_tags:
        tags = tuple(tag.strip() for tag in env_tags.split(","))
        try:
            if "" in tags:
                raise ConfigurationError("an empty tag (write tags like 'automation,perf')")
            build_headers(compressed=False, content_length=0, source_tags=tags)
        except ConfigurationError as exc:
            raise ConfigurationError(f"environment variable {ENV_SOURCE_TAGS}: {exc}") from None
        source_tags = tags
        overrides.append(f"source_tags from {ENV_SOURCE_TAGS}")
    env_log = os.environ.get(ENV_LOG_PINGS, "").strip()
    if env_log:
        if env_log not in ("0", "1"):
            raise ConfigurationError(
                f"environment variable {ENV_LOG_PINGS} must be 1 (log payloads at DEBUG) or 0, "
                f"got {env_log[:20]!r}"
            )
        log_pings = env_log == "1"
        overrides.append(f"log_pings from {ENV_LOG_PINGS}")
    return debug_id, source_tags, log_pings, tuple(overrides)


def _log_overrides(overrides: tuple[str, ...]) -> None:
    """Say once per process (per set of variables) that the environment won over code."""
    if not overrides:
        return
    with _logged_lock:
        if overrides in _logged_overrides:
            return
        _logged_overrides.add(overrides)
    logger.info("pingsdk settings overridden by the environment: %s", ", ".join(overrides))


def _check_queue_path(queue_path: object) -> str | os.PathLike[str] | None:
    if queue_path is None:
        return None
    if not isinstance(queue_path, (str, os.PathLike)):
        raise ConfigurationError(
            "queue_path must be a file path (str or os.PathLike), None for the per-user "
            f"default or ':memory:', got {type(queue_path).__name__}"
        )
    text = os.fspath(queue_path)
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError(
            "queue_path is empty: give a file path such as 'pings.db', None for the per-user "
            "default, or ':memory:' for tests"
        )
    return queue_path


def _check_keywords(settings: dict[str, Any]) -> None:
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        # What Python says for a keyword a signature does not have (the clients take
        # ``**settings``): a misspelt setting must not pass silently.
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (a pingsdk client setting)")


def _check_rate_limit(rate_limit: object) -> tuple[int, float] | None:
    if rate_limit is None:
        return None
    if not (isinstance(rate_limit, tuple) and len(rate_limit) == 2):
        raise ConfigurationError(
            f"rate_limit must be (pings, per_seconds), e.g. (15, 60.0), got {rate_limit!r}"
        )
    return (_count("rate_limit pings", rate_limit[0]), _positive("rate_limit", rate_limit[1]))


def _check_types(s: ClientSettings) -> None:
    """The settings that are objects: retry, app, callbacks, transport."""
    if s["retry"] is not None and not isinstance(s["retry"], RetryPolicy):
        raise ConfigurationError("retry must be a pingsdk.RetryPolicy")
    if s["app"] is not None and not isinstance(s["app"], AppInfo):
        raise ConfigurationError("app must be a pingsdk.AppInfo")
    for name in ("on_sent", "on_dropped"):
        callback = s[name]
        if callback is not None and not callable(callback):
            raise ConfigurationError(f"{name} must be a callable taking a DeliveryReport")
    transport = s["transport"]
    if transport is None:
        return
    import httpx

    if not isinstance(transport, httpx.AsyncBaseTransport):
        raise ConfigurationError("transport must be an httpx.AsyncBaseTransport")


def _check_modes(s: ClientSettings) -> None:
    """The settings that combine: durability with uploader, verify with allow_insecure."""
    durability = s["durability"]
    if durability not in ("process", "power", "buffered"):
        raise ConfigurationError(
            f"durability must be 'process', 'power' or 'buffered', got {durability!r}"
        )
    if durability == "buffered" and not s["uploader"]:
        # The uploader commits the buffer; a store-only client has none to do it.
        raise ConfigurationError(
            "durability='buffered' needs the client's own uploader: use durability='process' "
            "with uploader=False"
        )
    _check_uploader(s)
    if s["verify"] is False and not s["allow_insecure"]:
        raise ConfigurationError(
            "verify=False turns off TLS certificate checks; pass allow_insecure=True as well "
            "if you really mean it"
        )


def _check_uploader(s: ClientSettings) -> None:
    """``uploader``: a bool, ``"thread"`` or ``"process"``; a sender process needs a queue
    file it can open and settings it can be given."""
    uploader = s["uploader"]
    if not isinstance(uploader, (bool, str)) or uploader not in (True, False, "thread", "process"):
        raise ConfigurationError(
            f"uploader must be True, False, 'thread' or 'process', got {uploader!r}"
        )
    if uploader != "process":
        return
    if sys.platform == "win32":
        raise ConfigurationError("uploader='process' needs a POSIX system; use uploader='thread'")
    interpreter = os.path.basename(sys.executable or "").lower()
    if not interpreter.startswith(("python", "pypy")):
        # An embedding server (uWSGI, mod_wsgi) or a frozen application: sys.executable is
        # not an interpreter, and running it would start something else entirely.
        raise ConfigurationError(
            f"uploader='process' starts a sender with sys.executable, which is not a Python "
            f"interpreter here ({sys.executable!r}); use uploader='thread', or uploader=False "
            "with `pingsdk relay`"
        )
    if s["queue_path"] is not None and os.fspath(s["queue_path"]) == ":memory:":
        raise ConfigurationError(
            "uploader='process' sends from another process, which cannot see a ':memory:' "
            "queue: give a queue file (or None for the per-user default)"
        )
    if s["transport"] is not None:
        raise ConfigurationError(
            "uploader='process' cannot use transport= (an object of this process); use "
            "uploader='thread' with a custom transport"
        )


def build_config(endpoint: str, **settings: Unpack[ClientSettings]) -> ClientConfig:
    """Validate the client keywords (:class:`ClientSettings`) and freeze them.

    Raises:
        ConfigurationError: naming the first bad setting and what would be accepted.
        TypeError: a keyword that is not a client setting.
    """
    _check_keywords(dict(settings))
    s: ClientSettings = {**DEFAULTS, **settings}
    if not isinstance(endpoint, str):
        raise ConfigurationError(f"endpoint must be a URL string, got {type(endpoint).__name__}")
    endpoint = check_endpoint(endpoint, allow_insecure=s["allow_insecure"]).rstrip("/")
    queue_path = _check_queue_path(s["queue_path"])
    debug_id, source_tags, log_pings, overrides = _environment(
        s["debug_id"], s["source_tags"], s["log_pings"]
    )
    if isinstance(source_tags, str):
        raise ConfigurationError("source_tags must be a sequence of tags, not one string")
    tags = tuple(source_tags)
    extra = dict(s["headers"] or {})
    # build_headers validates debug_id, tags and extra headers (charset, length, forbidden names).
    build_headers(
        compressed=s["compress"], content_length=0, debug_id=debug_id, source_tags=tags, extra=extra
    )
    _check_types(s)
    rate_limit = _check_rate_limit(s["rate_limit"])
    _check_modes(s)
    buffer_delay = _positive("buffer_delay", s["buffer_delay"])
    timeout = _positive("timeout", s["timeout"])
    # A lease must outlive one request, or a slow send could be claimed by another sender;
    # it is also how long the pings of a killed process wait before another one sends them.
    lease_seconds = max(5.0, 3 * timeout)
    _log_overrides(overrides)
    return ClientConfig(
        endpoint=endpoint,
        queue_path=queue_path,
        retry=s["retry"] or RetryPolicy(),
        max_in_flight=_count("max_in_flight", s["max_in_flight"]),
        compress=bool(s["compress"]),
        timeout=timeout,
        debug_id=debug_id,
        source_tags=tags,
        headers=extra,
        app=s["app"],
        upload_enabled=bool(s["upload_enabled"]),
        rate_limit=rate_limit,
        max_queue_count=_count("max_queue_count", s["max_queue_count"]),
        max_queue_bytes=_count("max_queue_bytes", s["max_queue_bytes"]),
        durability=s["durability"],
        buffer_delay=buffer_delay,
        allow_insecure=bool(s["allow_insecure"]),
        log_pings=bool(log_pings),
        on_sent=s["on_sent"],
        on_dropped=s["on_dropped"],
        atexit_timeout=_positive("atexit_timeout", s["atexit_timeout"], allow_zero=True),
        transport=s["transport"],
        verify=s["verify"],
        uploader=s["uploader"] is not False,
        sender_process=s["uploader"] == "process",
        lease_seconds=lease_seconds,
        # ``timeout`` bounds each network step, not the request: a response trickled byte by
        # byte never trips it. This bound does, well before the lease ends.
        request_deadline=lease_seconds * 2 / 3,
        env_overrides=overrides,
    )
