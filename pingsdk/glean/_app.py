"""GleanApp: one application's Glean state on a pingsdk client (its queue file and uploader)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pingsdk._client._async import AsyncPingClient
from pingsdk._client._sync import PingClient
from pingsdk._exceptions import ConfigurationError, QueueError
from pingsdk._queue import QueuedPing
from pingsdk.glean._common import Lifetime, TimeUnit
from pingsdk.glean._debug import DebugOptions, debug_options
from pingsdk.glean._payload import KNOWN_CLIENT_ID, sanitize_application_id, system_info
from pingsdk.glean._ping_type import PingType
from pingsdk.glean._storage import Storage
from pingsdk.glean._submit import glean_row, new_client_id, read_client, submit, write_client
from pingsdk.glean._time_metrics import iso_time
from pingsdk.wire._urls import submit_path

__all__ = ["DEFAULT_ENDPOINT", "GleanApp"]

logger = logging.getLogger("pingsdk")

DEFAULT_ENDPOINT = "https://incoming.telemetry.mozilla.org"
"""Where Glean sends by default."""
DEFAULT_MAX_EVENTS = 500
"""Events held for the ``events`` ping before it is submitted with reason ``max_capacity``."""
_PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"
_MAX_EXPERIMENT = 100


class GleanApp:
    """One application's metrics, pings and client data, sent through a pingsdk client.

    Args:
        application_id: the application id; the URL namespace is it sanitised as Glean does
            (``org.example.My_App`` -> ``org-example-my-app``).
        client: the :class:`pingsdk.PingClient` or :class:`pingsdk.AsyncPingClient` to send
            with; its queue file also stores the application- and user-lifetime metrics,
            ``seq`` numbers and the client id. Default: a new ``PingClient`` on ``endpoint``
            and ``queue_path``, closed by :meth:`close`. With an ``AsyncPingClient``,
            ``submit()`` stays a plain call (one local SQLite transaction, like the client's
            own ``submit()``), the switch is :meth:`set_upload_enabled_async`, and the client
            must be created with ``upload_enabled=False`` when the app is.
        endpoint: the edge for the default client (default: Mozilla's).
        queue_path: the queue file for the default client (default: pingsdk's per-user file).
        app_build, app_display_version, app_channel, locale: ``client_info`` fields
            (``app_build`` and ``app_display_version`` default to ``"Unknown"``, as Glean's).
        upload_enabled: ``False`` starts with upload off; if it was on in an earlier run, the
            ``deletion-request`` ping is sent (reason ``at_init``), as Glean does.
        max_events: events held before the built-in ``events`` ping is submitted.

    Raises:
        ConfigurationError: an application id that cannot name a URL namespace, or bad client
            settings.
        QueueError: the queue file cannot be opened.

    Application-lifetime values are cleared here, at the start of each run, as Glean does; with
    several processes on one queue file, each new process starts a new run for all of them.
    """

    def __init__(
        self,
        application_id: str,
        *,
        client: PingClient | AsyncPingClient | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        queue_path: str | os.PathLike[str] | None = None,
        app_build: str = "Unknown",
        app_display_version: str = "Unknown",
        app_channel: str | None = None,
        locale: str | None = None,
        upload_enabled: bool = True,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        if not isinstance(application_id, str) or not application_id:
            raise ConfigurationError("application_id must be a non-empty string")
        namespace = sanitize_application_id(application_id)
        try:
            submit_path(namespace, "metrics", 1, _PLACEHOLDER_ID)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"application_id {application_id!r} sanitises to {namespace!r}, which cannot "
                f"be a URL namespace: {exc}"
            ) from None
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ConfigurationError(f"max_events must be a positive int, got {max_events!r}")
        self.application_id = application_id
        self.namespace = namespace
        self.max_events = max_events
        self.debug: DebugOptions = debug_options()
        self._owns_client = client is None
        self.client: PingClient | AsyncPingClient = (
            client if client is not None else PingClient(endpoint, queue_path=queue_path)
        )
        info: dict[str, str] = {
            **system_info(),
            "app_build": app_build,
            "app_display_version": app_display_version,
        }
        if app_channel is not None:
            info["app_channel"] = app_channel
        if locale is not None:
            info["locale"] = locale
        self.client_info_static: Mapping[str, str] = info
        self.start_time_text = iso_time(dt.datetime.now().astimezone(), TimeUnit.MINUTE)
        self.storage = Storage(self.client._engine.queue, namespace)
        self.pings: dict[str, PingType] = {}
        self._experiments: dict[str, dict[str, Any]] = {}
        self._upload_enabled = True
        self._closed = False
        self._events_lock = threading.Lock()
        self.deletion_request = PingType(
            self,
            "deletion-request",
            include_client_id=True,
            send_if_empty=True,
            reason_codes=("at_init", "set_upload_enabled"),
        )
        self.events = PingType(self, "events", reason_codes=("startup", "inactive", "max_capacity"))
        was_enabled = self.storage.queue.write(lambda conn: self._start_run(conn, upload_enabled))
        if not upload_enabled:
            self._upload_enabled = False
            if self.client.upload_enabled:
                if not isinstance(self.client, PingClient):
                    raise ConfigurationError(
                        "upload_enabled=False: create the AsyncPingClient with "
                        "upload_enabled=False too (its switch is a coroutine)"
                    )
                self.client.set_upload_enabled(False)
            if was_enabled:
                self._forget("at_init")

    # -- lifecycle ---------------------------------------------------------------------------

    def _start_run(self, conn: sqlite3.Connection, upload_enabled: bool) -> bool:
        """Clear application lifetime, create client_id/first_run_date.

        Returns whether an earlier run had upload on (a real client id is stored). As Glean: a
        first run with upload off stores the known placeholder id and asks nothing deleted; a
        run with upload on after one with it off gets a new client id.
        """
        self.storage.clear_lifetime(conn, [Lifetime.APPLICATION])
        stored = read_client(conn, self.namespace)
        known = stored.get("client_id", KNOWN_CLIENT_ID) == KNOWN_CLIENT_ID
        if upload_enabled and known:
            write_client(conn, self.namespace, "client_id", new_client_id())
        elif "client_id" not in stored:
            write_client(conn, self.namespace, "client_id", KNOWN_CLIENT_ID)
        if "first_run_date" not in stored:
            today = iso_time(dt.datetime.now().astimezone(), TimeUnit.DAY)
            write_client(conn, self.namespace, "first_run_date", today)
        return not known

    def close(self, timeout: float = 2.0) -> None:
        """Close the client if this app created it (flushing for up to ``timeout`` seconds)."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client and isinstance(self.client, PingClient):
            self.client.close(timeout)

    def __enter__(self) -> GleanApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- upload switch -------------------------------------------------------------------------

    @property
    def upload_enabled(self) -> bool:
        """Whether metrics are recorded and pings stored (Glean's upload switch)."""
        return self._upload_enabled

    def set_upload_enabled(self, enabled: bool) -> None:
        """Switch upload on or off, as Glean does.

        Off: stops recording, cancels and deletes every queued ping of the client (Glean's and
        any other), stores a ``deletion-request`` ping (reason ``set_upload_enabled``, with the
        client id being forgotten) that is still sent, and clears every metric, ``seq`` and the
        client id. On again: a new client id; ``seq`` numbers start from 0.

        Raises:
            ConfigurationError: the client is an ``AsyncPingClient``: use
                ``await app.set_upload_enabled_async(enabled)``.
        """
        if not isinstance(self.client, PingClient):
            raise ConfigurationError(
                "this GleanApp sends through an AsyncPingClient, whose upload switch is a "
                "coroutine: use 'await app.set_upload_enabled_async(enabled)'"
            )
        if enabled:
            if self._enable():
                self.client.set_upload_enabled(True)
            return
        if self._begin_disable():
            self.client.set_upload_enabled(False)
            self._forget("set_upload_enabled")

    async def set_upload_enabled_async(self, enabled: bool) -> None:
        """:meth:`set_upload_enabled` for an app on either client, from a coroutine."""
        client = self.client
        if isinstance(client, PingClient):
            self.set_upload_enabled(enabled)
            return
        if enabled:
            if self._enable():
                await client.set_upload_enabled(True)
            return
        if self._begin_disable():
            await client.set_upload_enabled(False)
            self._forget("set_upload_enabled")

    def _enable(self) -> bool:
        """Turn Glean's switch on with a new client id; False if it was on already."""
        with self.storage.lock:
            if self._upload_enabled:
                return False
            self.storage.queue.write(
                lambda conn: write_client(conn, self.namespace, "client_id", new_client_id())
            )
            self._upload_enabled = True
            return True

    def _begin_disable(self) -> bool:
        """Stop recording and submitting; False if upload was off already."""
        with self.storage.lock:
            if not self._upload_enabled:
                return False
            self._upload_enabled = False
            return True

    def _forget(self, reason: str) -> None:
        """After the client purged its queue: store the deletion request, clear client data.

        The client's switch (called before) cancels sends in flight and deletes every queued
        ping; the deletion request is stored after, marked to survive any later purge, in the
        transaction that forgets the client id, the stored metrics and the ``seq`` numbers.
        """

        def forget(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM glean_metrics WHERE app = ?", (self.namespace,))
            conn.execute("DELETE FROM glean_pings WHERE app = ?", (self.namespace,))
            write_client(conn, self.namespace, "client_id", KNOWN_CLIENT_ID)

        with self.storage.lock:
            self.deletion_request.run_before_callback(reason)
            submit(self, self.deletion_request, reason, survives_purge=True, after=forget)
            self.storage.clear_all_memory()
            with self._events_lock:
                self._experiments.clear()
        self._start_uploader()

    # -- pings -----------------------------------------------------------------------------------

    def register_ping(self, ping: PingType) -> None:
        """Internal: called by :class:`PingType`."""
        if ping.name in getattr(self, "pings", {}):
            raise ConfigurationError(f"a ping named {ping.name!r} is already registered")
        self.pings[ping.name] = ping

    def submit_ping(self, ping: PingType, reason: str | None) -> str | None:
        """Internal: :meth:`PingType.submit`."""
        with self.storage.lock:
            if not self._upload_enabled or not self.client.upload_enabled:
                logger.info("Glean ping %s not stored: upload is disabled", ping.name)
                return None
            ping.run_before_callback(reason)
            try:
                doc_id = submit(self, ping, reason)
            except QueueError as exc:
                # Nothing was written or cleared: the data goes in the next submit.
                logger.error("Glean ping %s not stored, its data is kept: %s", ping.name, exc)
                return None
        if doc_id is not None:
            self._start_uploader()
        return doc_id

    def make_row(self, ping_name: str, payload: bytes, *, survives_purge: bool) -> QueuedPing:
        """Internal: the queue row of a payload, with the client's and debug headers."""
        config = self.client.config
        return glean_row(
            config,
            self.namespace,
            ping_name,
            payload,
            debug_id=self.debug.debug_view_tag or config.debug_id,
            source_tags=(
                self.debug.source_tags if self.debug.source_tags is not None
                else config.source_tags
            ),
            survives_purge=survives_purge,
        )  # fmt: skip

    def after_store(self, row: QueuedPing, evicted: list[str]) -> None:
        """Internal: count the stored ping (and any evicted) as the client's submit() does."""
        counters = self.client._engine.counters
        counters.add("submitted")
        if evicted:
            counters.add("evicted", len(evicted))
            logger.error(
                "queue full: evicted %d oldest ping(s) to store Glean ping %s",
                len(evicted),
                row.doctype,
            )

    def log_payload(self, ping_name: str, path: str, payload: bytes) -> None:
        """Internal: log a stored payload if asked to.

        ``GLEAN_LOG_PINGS=true`` logs it at INFO, as Glean does; else the client's
        ``log_pings=True`` logs it at DEBUG, as the client does its own pings.
        """
        if self.debug.log_pings:
            logger.info("Glean ping %s %s: %s", ping_name, path, payload.decode("utf-8"))
        elif self.client.config.log_pings and logger.isEnabledFor(logging.DEBUG):
            logger.debug("Glean ping %s %s: %s", ping_name, path, payload.decode("utf-8"))

    def _start_uploader(self) -> None:
        client = self.client
        if not client.config.uploader or self._closed:
            client._engine.wake()
            return
        if isinstance(client, PingClient):
            client._engine.wake()
            client._start()
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # Not on an event loop: the engine looks at the queue when the client's task
            # runs (its next submit or flush on its loop); wake it if it runs already.
            client._engine.wake()
            return
        client._running_engine().wake()

    def events_recorded(self, held: int) -> None:
        """Internal: submit the ``events`` ping when it holds ``max_events`` (as glean-core)."""
        if held >= self.max_events:
            self.events.submit("max_capacity")

    # -- experiments ---------------------------------------------------------------------------

    def set_experiment_active(
        self, experiment_id: str, branch: str, extra: Mapping[str, str] | None = None
    ) -> None:
        """Annotate every later ping with an experiment and branch (``ping_info.experiments``).

        Ids and branches are cut at 100 characters, as Glean does.
        """
        entry: dict[str, Any] = {"branch": str(branch)[:_MAX_EXPERIMENT]}
        if extra:
            entry["extra"] = {
                str(k)[:_MAX_EXPERIMENT]: str(v)[:_MAX_EXPERIMENT] for k, v in extra.items()
            }
        with self._events_lock:
            self._experiments[str(experiment_id)[:_MAX_EXPERIMENT]] = entry

    def set_experiment_inactive(self, experiment_id: str) -> None:
        """Stop annotating pings with ``experiment_id``."""
        with self._events_lock:
            self._experiments.pop(str(experiment_id)[:_MAX_EXPERIMENT], None)

    def experiments_payload(self) -> dict[str, Any]:
        """Internal: the ``ping_info.experiments`` object."""
        with self._events_lock:
            return {k: dict(v) for k, v in self._experiments.items()}

    # -- definitions -----------------------------------------------------------------------------

    def load_metrics(self, *paths: str | os.PathLike[str]) -> Any:
        """Metric objects from ``metrics.yaml`` files, as ``namespace.category.name``.

        Needs ``glean_parser`` (``pip install pingsdk[glean]``); see
        :func:`pingsdk.glean.load_metrics`.
        """
        from pingsdk.glean._definitions import load_metrics

        return load_metrics(self, *(Path(p) for p in paths))

    def load_pings(self, *paths: str | os.PathLike[str]) -> Any:
        """Ping objects from ``pings.yaml`` files, as attributes (``pings.my_ping``)."""
        from pingsdk.glean._definitions import load_pings

        return load_pings(self, *(Path(p) for p in paths))

    def __repr__(self) -> str:
        return f"<GleanApp {self.application_id!r} ({self.namespace})>"
