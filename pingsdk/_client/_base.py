"""What both clients share: settings, the submit path, counters, the upload switch, the runner.

A client is its validated settings (:mod:`pingsdk._delivery._config`), a
:class:`~pingsdk._delivery._submit.Submitter` (the submit path) and a runner that hosts the
engine (:mod:`pingsdk._delivery._runner`: a thread for ``PingClient``, a task for
``AsyncPingClient``). The two clients differ only where one blocks and the other awaits.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from pingsdk._delivery._stats import Counters

if TYPE_CHECKING:
    # The sending stack (asyncio, sqlite3, tenacity, h11, gzip...) is imported by the client's
    # constructor (import_sending_stack), not by `import pingsdk`.
    from pingsdk._delivery._config import ClientConfig, ClientSettings
    from pingsdk._delivery._engine import Engine
    from pingsdk._delivery._process_runner import ProcessRunner
    from pingsdk._delivery._stats import ClientStats
    from pingsdk._delivery._submit import Submitter
    from pingsdk._model._ping import Ping
    from pingsdk._queue import QueuedPing

__all__ = ["DEFAULT_SEND_NOW_TIMEOUT", "BaseClient", "Runner", "import_sending_stack"]


class Runner(Protocol):
    """What hosts a client's engine in its process: a thread or a task
    (:mod:`pingsdk._delivery._runner`)."""

    engine: Engine

    def stats(self) -> ClientStats:
        """The counters, the pending count and the requests in flight."""


RunnerT = TypeVar("RunnerT", bound=Runner)

DEFAULT_SEND_NOW_TIMEOUT = 10.0
"""How long ``send_now()`` tries by default (seconds), retries included (defined here, not in
``_send_now``, so that the clients' signatures import nothing of the send path)."""

_SENDING_MODULES = (
    "pingsdk._delivery._runner",  # the engine, the queue, the Sender: asyncio, sqlite3, gzip
    "pingsdk._delivery._tenacity",  # the retry schedule's tenacity
    "pingsdk._client._send_now",
)


def import_sending_stack(config: ClientConfig) -> None:
    """Import everything ``config``'s client sends with, on the calling thread, when the client
    is made (``import pingsdk`` loads none of it).

    The uploader's thread must never be the first to import a module: a fork taken while it
    holds an import lock would leave the child half-initialised modules. The runner, engine,
    queue and send-now modules (and through them asyncio, sqlite3, gzip, tenacity), the docId's
    uuid6 and the transport's h11 (:func:`~pingsdk._delivery._http.preload_imports`) are loaded
    here; once loaded, each import is a lookup in ``sys.modules``.
    """
    for name in _SENDING_MODULES:
        importlib.import_module(name)
    from pingsdk._delivery._http import preload_imports
    from pingsdk.wire._docid import load_uuid7

    load_uuid7()
    preload_imports(config)


class BaseClient(Generic[RunnerT]):
    """Settings, submit path, counters and the upload switch of a client; ``runner`` hosts its
    engine. See :class:`PingClient` for the settings.

    Raises:
        ConfigurationError: a bad setting. QueueError: the queue file cannot be opened.
    """

    def __init__(
        self,
        endpoint: str,
        runner: Callable[[ClientConfig, Submitter], RunnerT],
        settings: ClientSettings,
    ) -> None:
        """``runner`` hosts the engine in this process; with ``uploader="process"`` a
        :class:`~pingsdk._delivery._process_runner.ProcessRunner` does instead."""
        from pingsdk._delivery._config import build_config

        self._config = build_config(endpoint, **settings)
        import_sending_stack(self._config)
        from pingsdk._delivery._report import Reporter
        from pingsdk._delivery._submit import Submitter, open_queue

        self._counters = Counters()
        self._upload_enabled = self._config.upload_enabled
        self._closed = False
        reporter = Reporter(self._config, self._counters)
        submitter = Submitter(self._config, open_queue(self._config), reporter)
        self._runner: RunnerT | ProcessRunner
        if self._config.sender_process:
            # Imported only then: a client without a sender process never loads it.
            from pingsdk._delivery._process_runner import ProcessRunner

            self._runner = ProcessRunner(self._config, submitter)
        else:
            self._runner = runner(self._config, submitter)
        if not self._upload_enabled:
            # Pings stored while uploading was allowed must not leave after the user opted out;
            # a deletion request stored by an earlier run survives the purge and is sent.
            submitter.purge()

    @property
    def config(self) -> ClientConfig:
        """The validated, frozen settings."""
        return self._config

    @property
    def upload_enabled(self) -> bool:
        """Whether pings are accepted and sent. Switching it off purges the queue."""
        return self._upload_enabled

    @property
    def _engine(self) -> Engine:
        """The current engine (replaced after a fork, or a new event loop for a task)."""
        return self._runner.engine

    @property
    def _submitter(self) -> Submitter:
        return self._runner.engine.submitter

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this pingsdk client is closed; create a new one")

    def stats(self) -> ClientStats:
        """Delivery counters since this client was created, and the pending count (stored
        pings, and buffered ones with ``durability="buffered"``)."""
        return self._runner.stats()

    def _switch_off(self, deletion_request: Ping | None) -> QueuedPing | None:
        """Refuse pings from now on; the prepared deletion request to keep through the purge."""
        # The deletion request is the one ping sent after the switch goes off; it survives
        # this purge and any later one (a next run that starts with upload_enabled=False).
        from pingsdk._delivery._prepare import prepare_ping

        keep = (
            None
            if deletion_request is None
            else prepare_ping(
                deletion_request, self._config, upload_enabled=True, survives_purge=True
            )
        )
        self._upload_enabled = False
        return keep

    def _other_sender_step(self, timeout: float) -> tuple[float, bool | float]:
        """Start of a ``flush()`` of a store-only client (``uploader=False``): the deadline and
        the first step of :meth:`Engine.other_sender_step`."""
        deadline = time.monotonic() + max(0.0, timeout)
        return deadline, self._engine.other_sender_step(deadline)

    def _close_deadline(self, timeout: float) -> tuple[float, float]:
        """Mark the client closed; the close's timeout (never negative) and its deadline."""
        self._closed = True
        timeout = max(0.0, timeout)
        return timeout, time.monotonic() + timeout
