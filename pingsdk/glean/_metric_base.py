"""The base of every metric type: recording through the app's storage, and the testing API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pingsdk.glean._common import CommonMetricData, ErrorType, truncate_utf8
from pingsdk.glean._storage import OTHER_LABEL, Update, check_label

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = ["Metric"]

logger = logging.getLogger("pingsdk")

T = TypeVar("T")


class Metric:
    """What every Glean metric object has: its identity, its app, and the testing API.

    Recording methods never raise for a bad value: they record the error Glean records
    (``glean.error.invalid_value`` and so on, counted per metric) and keep the old value.
    """

    ptype: ClassVar[str] = ""
    """The metric type as it appears in the payload (``"counter"``, ``"labeled_counter"``...)."""

    def __init__(self, app: GleanApp, meta: CommonMetricData) -> None:
        self._app = app
        self._meta = meta
        self._label: str | None = None
        self._dynamic = False

    @property
    def meta(self) -> CommonMetricData:
        """The metric's category, name, pings and lifetime."""
        return self._meta

    def _as_label(self, label: str, dynamic: bool, ptype: str) -> None:
        """Make this object one label of a labeled metric (used by the labeled types)."""
        self._label = label
        self._dynamic = dynamic
        self.ptype = ptype  # type: ignore[misc]  # per instance: "labeled_<type>"

    def _should_record(self) -> bool:
        return not self._meta.disabled and self._app.upload_enabled

    def _accepts(self, valid: bool) -> bool:
        """Whether to record a value: recording is on and ``valid`` holds.

        An invalid value is counted as ``invalid_value`` (only while recording, as in Glean).
        """
        if not self._should_record():
            return False
        if not valid:
            self._error(ErrorType.INVALID_VALUE)
        return valid

    def _cut(self, value: str, limit: int) -> str:
        """``value`` cut to ``limit`` UTF-8 bytes; a cut is counted as ``invalid_overflow``."""
        text, cut = truncate_utf8(value, limit)
        if cut:
            self._error(ErrorType.INVALID_OVERFLOW)
        return text

    def _record(self, update: Update) -> None:
        label, dynamic = self._label, self._dynamic
        if label is not None and dynamic and not check_label(label):
            logger.warning(
                "%s: label is not printable ASCII of at most 111 bytes; recorded as %s",
                self._meta.identifier,
                OTHER_LABEL,
            )
            self._error(ErrorType.INVALID_LABEL)
            label, dynamic = OTHER_LABEL, False
        self._app.storage.record(self._meta, self.ptype, update, label=label, dynamic=dynamic)

    def _error(self, error: ErrorType, count: int = 1) -> None:
        self._app.storage.record_error(self._meta, error, count)

    def _store(self, ping_name: str | None) -> str:
        return self._meta.send_in_pings[0] if ping_name is None else ping_name

    def _raw(self, ping_name: str | None) -> Any:
        key = None if self._label is None else f"{self._meta.identifier}/{self._label}"
        return self._app.storage.get(self._meta, self._store(ping_name), key)

    def _value(self, ping_name: str | None, convert: Callable[[Any], T]) -> T | None:
        """The stored value as ``convert`` makes it, or ``None`` when nothing is stored."""
        raw = self._raw(ping_name)
        return None if raw is None else convert(raw)

    def test_get_num_recorded_errors(
        self, error_type: ErrorType | str, ping_name: str | None = None
    ) -> int:
        """How many errors of ``error_type`` were recorded for this metric and not yet sent.

        Args:
            error_type: an :class:`ErrorType` or its value (``"invalid_value"``...).
            ping_name: the ping to look in (default: the metric's first ping).
        """
        return self._app.storage.get_error_count(
            self._meta, ErrorType(error_type), self._store(ping_name)
        )

    def __repr__(self) -> str:
        label = "" if self._label is None else f"[{self._label!r}]"
        return f"<{type(self).__name__} {self._meta.identifier}{label}>"
