"""What every Glean metric shares: lifetimes, units, error types, and the metric's identity."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence

from pingsdk._exceptions import ConfigurationError

__all__ = [
    "CommonMetricData",
    "ErrorType",
    "Lifetime",
    "MemoryUnit",
    "TimeUnit",
    "is_int",
    "truncate_utf8",
]


class Lifetime(str, enum.Enum):
    """How long a metric's value is kept (Glean's ``lifetime``).

    ``PING``: cleared each time a ping that carries it is stored. ``APPLICATION``: kept across
    pings, cleared when the application starts (a new :class:`~pingsdk.glean.GleanApp`).
    ``USER``: kept until upload is switched off. ``APPLICATION`` and ``USER`` values are stored
    in the queue's SQLite file; ``PING`` values live in memory, like Glean's.
    """

    PING = "ping"
    APPLICATION = "application"
    USER = "user"


class ErrorType(str, enum.Enum):
    """The errors Glean records (as ``glean.error.<type>`` labeled counters) instead of raising."""

    INVALID_VALUE = "invalid_value"
    INVALID_LABEL = "invalid_label"
    INVALID_STATE = "invalid_state"
    INVALID_OVERFLOW = "invalid_overflow"


class TimeUnit(str, enum.Enum):
    """Glean's time units; :attr:`nanos` is one unit in nanoseconds."""

    NANOSECOND = "nanosecond"
    MICROSECOND = "microsecond"
    MILLISECOND = "millisecond"
    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def nanos(self) -> int:
        """One unit, in nanoseconds."""
        return _TIME_NANOS[self.value]


_TIME_NANOS = {
    "nanosecond": 1,
    "microsecond": 1_000,
    "millisecond": 1_000_000,
    "second": 1_000_000_000,
    "minute": 60 * 1_000_000_000,
    "hour": 3600 * 1_000_000_000,
    "day": 86400 * 1_000_000_000,
}


class MemoryUnit(str, enum.Enum):
    """Glean's memory units; :attr:`bytes` is one unit in bytes."""

    BYTE = "byte"
    KILOBYTE = "kilobyte"
    MEGABYTE = "megabyte"
    GIGABYTE = "gigabyte"

    @property
    def bytes(self) -> int:
        """One unit, in bytes."""
        return {"byte": 1, "kilobyte": 1 << 10, "megabyte": 1 << 20, "gigabyte": 1 << 30}[
            self.value
        ]


# The pipeline's metric-name rule (glean.1 propertyNames): category and name parts.
_ID_PART = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_PING_NAME = re.compile(r"^[a-z-_][a-z0-9-_]*$")
MAX_IDENTIFIER = 111
"""The pipeline's limit on a metric identifier (``category.name``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CommonMetricData:
    """A metric's identity: ``category``, ``name``, the pings it is sent in, its lifetime.

    Raises:
        ConfigurationError: a name the pipeline refuses (``[a-z_][a-z0-9_]*`` parts, at most
            111 characters for ``category.name``), no ping, or a bad ping name.
    """

    category: str
    name: str
    send_in_pings: tuple[str, ...]
    lifetime: Lifetime = Lifetime.PING
    disabled: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.send_in_pings, str):
            raise ConfigurationError(
                f"send_in_pings of {self.category}.{self.name} must be a sequence of ping "
                f"names, not one string: write send_in_pings=({self.send_in_pings!r},)"
            )
        object.__setattr__(self, "send_in_pings", tuple(self.send_in_pings))
        object.__setattr__(self, "lifetime", Lifetime(self.lifetime))
        if self.category and not _ID_PART.match(self.category):
            raise ConfigurationError(
                f"metric category {self.category!r}: use lowercase snake_case parts "
                "separated by dots ([a-z_][a-z0-9_]*)"
            )
        if not _ID_PART.match(self.name) or "." in self.name:
            raise ConfigurationError(
                f"metric name {self.name!r}: use lowercase snake_case ([a-z_][a-z0-9_]*)"
            )
        if len(self.identifier) > MAX_IDENTIFIER:
            raise ConfigurationError(
                f"metric {self.identifier!r} is {len(self.identifier)} characters; the "
                f"pipeline accepts at most {MAX_IDENTIFIER} for category.name"
            )
        if not self.send_in_pings:
            raise ConfigurationError(f"metric {self.identifier}: send_in_pings is empty")
        for ping in self.send_in_pings:
            check_ping_name(ping)

    @property
    def identifier(self) -> str:
        """``category.name`` (or ``name`` without a category): the key in the payload."""
        return f"{self.category}.{self.name}" if self.category else self.name


def check_ping_name(name: str) -> str:
    """Return ``name`` if it is a valid Glean ping name, else raise ConfigurationError."""
    if not isinstance(name, str) or not _PING_NAME.match(name) or len(name) > 30:
        raise ConfigurationError(
            f"ping name {name!r}: use at most 30 characters of [a-z0-9-_], not starting with a "
            "digit (the pipeline's rule)"
        )
    return name


def is_int(value: object) -> bool:
    """Whether ``value`` is an int and not a bool (Glean's integer arguments)."""
    return isinstance(value, int) and not isinstance(value, bool)


def truncate_utf8(value: str, max_bytes: int) -> tuple[str, bool]:
    """Cut ``value`` to at most ``max_bytes`` UTF-8 bytes at a character boundary, as Glean does.

    Returns the (possibly shortened) string and whether it was cut.
    """
    if len(value) * 4 <= max_bytes:  # cannot be too long: skip encoding
        return value, False
    encoded = value.encode("utf-8")
    if len(encoded) <= max_bytes:
        return value, False
    return encoded[:max_bytes].decode("utf-8", "ignore"), True


def as_sequence(value: Sequence[str] | None) -> tuple[str, ...]:
    """A tuple of the strings in ``value`` (``None`` = empty)."""
    return () if value is None else tuple(value)
