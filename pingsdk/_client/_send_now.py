"""``send_now()`` and ``send_document_now()``: one ping stored leased, sent at once, settled.

The ping is prepared as by ``submit()`` and stored leased to the call (durable before the first
byte is sent; the uploader cannot claim it). The call retries retryable outcomes on the client's
:class:`RetryPolicy` schedule within its timeout, renewing the lease before each retry, then
settles the row as the uploader would: acked and reported, or deferred for the uploader, or
dropped. Both clients run the same :class:`SendNow`; only the retry loop differs
(:func:`send_row` on a private event loop with ``time.sleep``, :func:`send_row_async` on the
caller's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable

import tenacity
from tenacity.stop import stop_base

from pingsdk._client._base import DEFAULT_SEND_NOW_TIMEOUT
from pingsdk._delivery._config import ClientConfig
from pingsdk._delivery._http import Sender
from pingsdk._delivery._outcome import (
    RETRYABLE_EXCEPTIONS,
    Outcome,
    OutcomeKind,
    classify_exception,
)
from pingsdk._delivery._prepare import prepare_document
from pingsdk._delivery._report import delivery_report
from pingsdk._delivery._stats import DeliveryReport
from pingsdk._delivery._submit import Submitter
from pingsdk._exceptions import (
    ConfigurationError,
    EdgeUnavailableError,
    PingRejectedError,
    QueueError,
    UploadDisabledError,
)
from pingsdk._log import logger
from pingsdk._queue import QueuedPing

__all__ = ["DEFAULT_SEND_NOW_TIMEOUT", "SendNow", "document_row", "send_row", "send_row_async"]


class _LeaseLostError(Exception):
    """The lease on a ``send_now()`` row could not be renewed: another sender may hold it."""


_NOW_ERRORS: tuple[type[BaseException], ...] = (*RETRYABLE_EXCEPTIONS, _LeaseLostError)
"""What ends a ``send_now()`` retry loop as a failed delivery rather than a bug."""


def document_row(
    document: bytes,
    config: ClientConfig,
    *,
    upload_enabled: bool,
    namespace: str,
    doctype: str,
    version: int,
) -> QueuedPing:
    """The row for ``send_document_now()``: checked as the edge will check it, prepared as
    a Ping's is (docId, URL, headers, gzip, size limits)."""
    if not upload_enabled:
        raise UploadDisabledError(
            "upload is disabled (upload_enabled=False): the ping was not stored"
        )
    if not isinstance(document, (bytes, bytearray)):
        raise ConfigurationError(
            f"the document must be bytes (UTF-8 JSON), got {type(document).__name__}"
        )
    try:
        parsed = json.loads(bytes(document).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"the payload is not UTF-8 JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise ConfigurationError("the payload must be a JSON object ({...}), as the edge requires")
    return prepare_document(
        bytes(document), config, namespace=namespace, doctype=doctype, version=version
    )


class SendNow:
    """One ``send_now()``: the leased row, its attempts, its deadline and its settlement.

    Raises:
        ConfigurationError: ``timeout`` is not a positive number of seconds.
    """

    def __init__(
        self, submitter: Submitter, config: ClientConfig, row: QueuedPing, timeout: float
    ) -> None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigurationError(
                f"send_now() timeout must be a positive number of seconds, got {timeout!r}"
            )
        self.submitter = submitter
        self.config = config
        self.row = row
        self.timeout = float(timeout)
        self.deadline = time.monotonic() + self.timeout
        self.attempts = 0
        self.detail: str | None = None

    def stop(self) -> stop_base:
        """The policy's limits, and no wait that would end past the caller's timeout."""
        return self.config.retry.tenacity_stop() | tenacity.stop_before_delay(self.timeout)

    async def attempt(self, sender: Sender) -> Outcome:
        """One POST within what is left of the timeout; network errors raise (for tenacity)."""
        if self.attempts:
            # The lease must outlast the request (request_deadline is below lease_seconds):
            # renewed before every retry, or no further request is made.
            try:
                renewed = self.submitter.queue.extend([self.row.doc_id], timeout=0.1)
            except QueueError as exc:
                raise _LeaseLostError(str(exc)) from exc
            if not renewed:
                raise _LeaseLostError("another sender holds the ping now")
        self.attempts += 1
        remaining = max(self.deadline - time.monotonic(), 0.001)
        limit = min(self.config.request_deadline, remaining)
        started = time.monotonic()
        try:
            outcome, self.detail = await asyncio.wait_for(sender.post(self.row), limit)
        except asyncio.TimeoutError as exc:  # not a TimeoutError before Python 3.11
            raise TimeoutError(f"no answer within {limit:.3g} s") from exc
        logger.debug(
            "POST %s -> %s %s (send_now attempt %d, %.1f ms)",
            self.row.path,
            outcome.status if outcome.status is not None else "-",
            outcome.reason,
            self.attempts,
            (time.monotonic() - started) * 1000,
            extra={"event": "request", "doc_id": self.row.doc_id},
        )
        return outcome

    def abandon(self) -> None:
        """Give the lease back (an unexpected error or a cancel): the uploader sends it."""
        with contextlib.suppress(QueueError):
            self.submitter.queue.release([self.row.doc_id], timeout=0.5)
        self.submitter.wake()

    def settle(self, outcome: Outcome) -> DeliveryReport:
        """Settle the last attempt in the queue (any thread), as the engine does for its own
        sends but without touching its global pause: a sent or refused ping is acked and
        reported (counters, ``on_sent`` / ``on_dropped``); a failed one is deferred to the
        policy's next retry time (and a server's hold) for the uploader, or dropped when the
        policy gives up on it.

        Returns the report; its ``reason`` is ``"ok"``, the drop reason, or ``"queued"`` (the
        ping stays stored for the uploader). Never raises for the queue: see :meth:`_record`.
        """
        row, attempts, detail = self.row, self.attempts, self.detail
        queue, reporter = self.submitter.queue, self.submitter.reporter
        report = delivery_report(row, outcome.status, outcome.reason, attempts, detail)
        if outcome.kind is OutcomeKind.SENT:
            self._record("remove", lambda: queue.ack(row.doc_id))
            reporter.sent(report)
            return report
        now = time.time()
        policy = self.config.retry
        reason = (
            outcome.reason
            if outcome.kind is OutcomeKind.DROP
            else policy.gives_up(attempts, row.created_at, now)
        )
        if reason is not None:
            self._record("remove", lambda: queue.ack(row.doc_id))
            reporter.dropped(row, reason, status=outcome.status, attempts=attempts, detail=detail)
            return dataclasses.replace(report, reason=reason)
        server = policy.server_delay(outcome.retry_after)
        next_attempt_at = now + policy.delay(attempts, retry_after=outcome.retry_after)
        self._record(
            "reschedule",
            lambda: queue.defer(
                row.doc_id,
                next_attempt_at=next_attempt_at,
                attempts=attempts,
                hold_until=now + server if server else None,
                last_status=outcome.status,
            ),
        )
        reporter.counters.add("retried")
        self.submitter.wake()
        return dataclasses.replace(report, reason="queued")

    def _record(self, what: str, write: Callable[[], object]) -> None:
        """One queue write settling the row. A failure (a busy or full file) is logged, not
        raised, so the caller still learns what the edge answered: the row stays leased until
        its lease expires, then the uploader sends it again with the same URL and body (a sent
        ping's duplicate is deduplicated by its docId; a refused one is refused and dropped
        again)."""
        try:
            write()
        except QueueError as exc:
            self.submitter.reporter.warn.log(
                logging.WARNING,
                "queue",
                "could not %s ping %s in the queue (%s); the uploader handles it when its "
                "lease expires",
                what,
                self.row.doc_id,
                exc,
            )

    def finish(self, result: Outcome | BaseException) -> DeliveryReport:
        """Settle the row by the last attempt's result; the report, or the typed error."""
        row, url = self.row, self.config.endpoint + self.row.path
        if isinstance(result, _LeaseLostError):
            raise EdgeUnavailableError(
                f"ping {row.doc_id} was not delivered: its lease in the queue could not be "
                f"renewed ({result}); it stays queued and the uploader sends it",
                doc_id=row.doc_id,
                url=url,
                attempts=self.attempts,
                reason="lease_lost",
                queued=True,
            ) from result
        outcome = result if isinstance(result, Outcome) else classify_exception(result)
        report = self.settle(outcome)
        if report.reason == "ok":
            return report
        said = f"; the edge said: {self.detail}" if self.detail else ""
        if outcome.kind is OutcomeKind.DROP:
            raise PingRejectedError(
                f"the edge rejected ping {row.doc_id} with HTTP {outcome.status}; it was dropped "
                f"(resending the same ping cannot succeed){said}",
                doc_id=row.doc_id,
                url=url,
                status_code=outcome.status,
                attempts=self.attempts,
                detail=self.detail,
                reason=outcome.reason,
            )
        queued = report.reason == "queued"
        fate = (
            "it stays queued and the uploader sends it"
            if queued
            else f"the retry policy gave up on it ({report.reason}): it was dropped"
        )
        status = f"HTTP {outcome.status}" if outcome.status is not None else outcome.reason
        raise EdgeUnavailableError(
            f"ping {row.doc_id} was not delivered within {self.timeout:g} s "
            f"({self.attempts} attempt(s), last: {status}); {fate}{said}",
            doc_id=row.doc_id,
            url=url,
            status_code=outcome.status,
            attempts=self.attempts,
            detail=self.detail,
            reason=outcome.reason if queued else report.reason,
            queued=queued,
        ) from (None if isinstance(result, Outcome) else result)


def send_row(
    submitter: Submitter, config: ClientConfig, row: QueuedPing, timeout: float
) -> DeliveryReport:
    """``PingClient.send_now()`` of a prepared ``row``: store it leased, send it with retries
    on a private event loop in the calling thread (``time.sleep`` between tries), settle it.

    Raises what :meth:`SendNow.finish` raises (``EdgeUnavailableError``, ``PingRejectedError``).
    """
    now = SendNow(submitter, config, row, timeout)
    submitter.store(row, leased=True)
    result: Outcome | BaseException
    # A private event loop in the caller's thread: one request at a time runs on it, and
    # RetryPolicy.retrying() sleeps between them with time.sleep.
    loop = asyncio.new_event_loop()
    sender = Sender(config, shared=True)
    try:
        loop.run_until_complete(sender.open())
        result = config.retry.retrying(stop=now.stop())(
            lambda: loop.run_until_complete(now.attempt(sender))
        )
    except _NOW_ERRORS as exc:
        result = exc
    except BaseException:
        now.abandon()
        raise
    finally:
        try:
            loop.run_until_complete(sender.close())
        finally:
            loop.close()
    return now.finish(result)


async def send_row_async(
    submitter: Submitter, config: ClientConfig, row: QueuedPing, timeout: float
) -> DeliveryReport:
    """``AsyncPingClient.send_now()`` of ``row``: as :func:`send_row`, on the caller's loop
    (``asyncio.sleep`` between tries), the queue written from a worker thread."""
    now = SendNow(submitter, config, row, timeout)
    await asyncio.to_thread(submitter.store, row, leased=True)
    result: Outcome | BaseException
    sender = Sender(config, shared=True)
    try:
        await sender.open()
        result = await config.retry.async_retrying(stop=now.stop())(now.attempt, sender)
    except _NOW_ERRORS as exc:
        result = exc
    except BaseException:
        now.abandon()
        raise
    finally:
        await sender.close()
    return await asyncio.to_thread(now.finish, result)
