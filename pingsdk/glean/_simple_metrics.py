"""Single-value metrics: boolean, counter, quantity, string, text, url, uuid, string_list, rate.

Limits and errors as glean-core's (``glean-core/src/metrics/*.rs``): strings are cut at 255
UTF-8 bytes (string_list items: 100; text: 200 KiB; url: 8 KiB) with ``invalid_overflow``; a
non-positive counter increment, a negative quantity or rate part, an unparsable UUID, a
``data:`` or scheme-less URL and a value of the wrong Python type are ``invalid_value`` and
change nothing. Counters and rates saturate
at 2**31 - 1, as Glean's i32.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Sequence
from typing import Any

from pingsdk.glean._common import ErrorType, is_int
from pingsdk.glean._metric_base import Metric
from pingsdk.glean._storage import RecordError

__all__ = [
    "BooleanMetric",
    "CounterMetric",
    "QuantityMetric",
    "RateMetric",
    "StringListMetric",
    "StringMetric",
    "TextMetric",
    "UrlMetric",
    "UuidMetric",
]

MAX_STRING_LENGTH = 255
"""glean-core's ``StringMetric`` limit, in UTF-8 bytes (it was 100 before Glean 60)."""
MAX_LIST_ITEM_LENGTH = 100
MAX_TEXT_LENGTH = 200 * 1024
MAX_URL_LENGTH = 8192
MAX_LIST_LENGTH = 100
_I32_MAX = (1 << 31) - 1
_I64_MAX = (1 << 63) - 1
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class BooleanMetric(Metric):
    """A boolean (``set(True)``)."""

    ptype = "boolean"

    def set(self, value: bool) -> None:
        """Set the value; a non-bool is ``invalid_value``."""
        if self._accepts(isinstance(value, bool)):
            self._record(lambda _old: value)

    def test_get_value(self, ping_name: str | None = None) -> bool | None:
        """The stored value, or ``None``."""
        return self._value(ping_name, bool)


class CounterMetric(Metric):
    """A counter (``add(amount=1)``); ``amount`` must be positive."""

    ptype = "counter"

    def add(self, amount: int = 1) -> None:
        """Add ``amount`` (> 0); saturates at 2**31 - 1."""
        if self._accepts(is_int(amount) and amount > 0):
            self._record(lambda old: min((old or 0) + amount, _I32_MAX))

    def test_get_value(self, ping_name: str | None = None) -> int | None:
        """The stored count, or ``None``."""
        return self._value(ping_name, int)


class QuantityMetric(Metric):
    """A quantity (``set(value)``), a non-negative integer."""

    ptype = "quantity"

    def set(self, value: int) -> None:
        """Set the value (>= 0)."""
        if self._accepts(is_int(value) and value >= 0):
            stored = min(value, _I64_MAX)
            self._record(lambda _old: stored)

    def test_get_value(self, ping_name: str | None = None) -> int | None:
        """The stored value, or ``None``."""
        return self._value(ping_name, int)


class _CutString(Metric):
    """A string cut at ``_max`` UTF-8 bytes (with ``invalid_overflow``)."""

    _max: int

    def _valid(self, value: str) -> bool:
        """Whether a string is acceptable beyond being one (``invalid_value`` if not)."""
        return True

    def set(self, value: str) -> None:
        """Set the value."""
        if self._accepts(isinstance(value, str) and self._valid(value)):
            stored = self._cut(value, self._max)
            self._record(lambda _old: stored)

    def test_get_value(self, ping_name: str | None = None) -> str | None:
        """The stored string, or ``None``."""
        return self._value(ping_name, str)


class StringMetric(_CutString):
    """A string of at most 255 bytes (longer ones are cut, with ``invalid_overflow``)."""

    ptype = "string"
    _max = MAX_STRING_LENGTH


class TextMetric(StringMetric):
    """A long text of at most 200 KiB (longer ones are cut, with ``invalid_overflow``)."""

    ptype = "text"
    _max = MAX_TEXT_LENGTH


class UrlMetric(_CutString):
    """A URL of at most 8 KiB with a scheme; ``data:`` URLs are refused."""

    ptype = "url"
    _max = MAX_URL_LENGTH

    def _valid(self, value: str) -> bool:
        return not value.startswith("data:") and _URL_SCHEME.match(value) is not None


class UuidMetric(Metric):
    """A UUID, stored in canonical lowercase form."""

    ptype = "uuid"

    def set(self, value: uuid_module.UUID | str) -> None:
        """Set the value (a ``uuid.UUID`` or its string form)."""
        if not self._should_record():
            return
        try:
            parsed = value if isinstance(value, uuid_module.UUID) else uuid_module.UUID(value)
        except (TypeError, ValueError, AttributeError):
            self._error(ErrorType.INVALID_VALUE)
            return
        stored = str(parsed)
        self._record(lambda _old: stored)

    def generate_and_set(self) -> uuid_module.UUID:
        """Set a new random UUID (version 4) and return it."""
        value = uuid_module.uuid4()
        self.set(value)
        return value

    def test_get_value(self, ping_name: str | None = None) -> uuid_module.UUID | None:
        """The stored UUID, or ``None``."""
        return self._value(ping_name, uuid_module.UUID)


class StringListMetric(Metric):
    """A list of at most 100 strings of at most 100 bytes each (glean-core's limits)."""

    ptype = "string_list"

    def add(self, value: str) -> None:
        """Append a string; a full list is ``invalid_value`` and unchanged."""
        if not self._accepts(isinstance(value, str)):
            return
        item = self._cut(value, MAX_LIST_ITEM_LENGTH)

        def update(old: Any) -> list[str]:
            items = list(old or [])
            if len(items) >= MAX_LIST_LENGTH:
                raise RecordError(ErrorType.INVALID_VALUE)
            items.append(item)
            return items

        self._record(update)

    def set(self, value: Sequence[str]) -> None:
        """Replace the list; beyond 100 items the rest is dropped with ``invalid_value``."""
        if not self._should_record():
            return
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            self._error(ErrorType.INVALID_VALUE)
            return
        items = list(value)
        if len(items) > MAX_LIST_LENGTH:
            self._error(ErrorType.INVALID_VALUE)
            items = items[:MAX_LIST_LENGTH]
        stored = [self._cut(item, MAX_LIST_ITEM_LENGTH) for item in items]
        self._record(lambda _old: stored)

    def test_get_value(self, ping_name: str | None = None) -> list[str] | None:
        """The stored list, or ``None``."""
        return self._value(ping_name, list)


class RateMetric(Metric):
    """A rate: a numerator and a denominator, both counted up."""

    ptype = "rate"

    def add_to_numerator(self, amount: int) -> None:
        """Add ``amount`` (>= 0) to the numerator."""
        self._add("numerator", amount)

    def add_to_denominator(self, amount: int) -> None:
        """Add ``amount`` (>= 0) to the denominator."""
        self._add("denominator", amount)

    def _add(self, part: str, amount: int) -> None:
        if not self._accepts(is_int(amount) and amount >= 0):
            return

        def update(old: Any) -> dict[str, int]:
            value = dict(old or {"numerator": 0, "denominator": 0})
            value[part] = min(value[part] + amount, _I32_MAX)
            return value

        self._record(update)

    def test_get_value(self, ping_name: str | None = None) -> tuple[int, int] | None:
        """``(numerator, denominator)``, or ``None``."""
        return self._value(ping_name, lambda v: (int(v["numerator"]), int(v["denominator"])))
