"""A Glean ping type (``pings.yaml``): its name, options, reasons, and ``submit()``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pingsdk.glean._common import check_ping_name
from pingsdk.wire._urls import submit_path

if TYPE_CHECKING:
    from pingsdk.glean._app import GleanApp

__all__ = ["PingType"]

logger = logging.getLogger("pingsdk")

_PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


class PingType:
    """A custom ping, as declared in ``pings.yaml`` or in Python.

    Args:
        app: the :class:`~pingsdk.glean.GleanApp` that sends it.
        name: the ping name (``[a-z0-9-_]``, at most 30 characters); its URL's document type.
        include_client_id: put ``client_info.client_id`` in the payload.
        send_if_empty: store the ping even with no metric or event data.
        reason_codes: the ``reason`` values :meth:`submit` accepts.

    Raises:
        ConfigurationError: a name the pipeline refuses, or a second ping of that name.
    """

    def __init__(
        self,
        app: GleanApp,
        name: str,
        *,
        include_client_id: bool = True,
        send_if_empty: bool = False,
        reason_codes: Sequence[str] = (),
    ) -> None:
        check_ping_name(name)
        submit_path(app.namespace, name, 1, _PLACEHOLDER_ID)  # raises if the URL would be refused
        self.app = app
        self.name = name
        self.include_client_id = bool(include_client_id)
        self.send_if_empty = bool(send_if_empty)
        self.reason_codes = tuple(reason_codes)
        self._lock = threading.Lock()
        self._before: Callable[[str | None], None] | None = None
        self._on_payload: Callable[[dict[str, Any]], None] | None = None
        app.register_ping(self)

    def submit(self, reason: str | None = None) -> str | None:
        """Collect this ping's data and store it for sending.

        Returns the document id, or ``None`` when nothing was stored: no data and not
        ``send_if_empty``, upload switched off, the ping was too large (discarded, logged at
        ERROR), or the queue file could not be written (busy past its ``busy_timeout``, disk
        full: logged at ERROR; the data is kept for the next submit). It does not raise, as
        Glean's does not. A ``reason`` not in ``reason_codes`` is logged at ERROR and left out.
        """
        if reason is not None and reason not in self.reason_codes:
            logger.error("invalid reason code %r for Glean ping %s: left out", reason, self.name)
            reason = None
        return self.app.submit_ping(self, reason)

    def test_before_next_submit(self, callback: Callable[[str | None], None]) -> None:
        """Run ``callback(reason)`` once, at the next submit, before the data is collected.

        As Glean's: the callback can check metric values with ``test_get_value()``; an
        exception it raises propagates out of :meth:`submit` and nothing is stored.
        """
        with self._lock:
            self._before = callback

    def test_on_next_payload(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Run ``callback(payload)`` once with the next stored payload, just before storing.

        It runs inside the storing transaction: it may inspect the dict (and raise to abort the
        submit) but must not record metrics or call ``test_get_value()``.
        """
        with self._lock:
            self._on_payload = callback

    def run_before_callback(self, reason: str | None) -> None:
        """Internal: call and clear the :meth:`test_before_next_submit` callback."""
        with self._lock:
            callback, self._before = self._before, None
        if callback is not None:
            callback(reason)

    def run_payload_callback(self, payload: dict[str, Any]) -> None:
        """Internal: call and clear the :meth:`test_on_next_payload` callback."""
        with self._lock:
            callback, self._on_payload = self._on_payload, None
        if callback is not None:
            callback(payload)

    def __repr__(self) -> str:
        return f"<PingType {self.name}>"
