"""RetryPolicy: the retry schedule as data, computed by tenacity's wait objects. No I/O.

The uploader persists ``attempts`` and ``next_attempt_at`` per ping and asks
:meth:`RetryPolicy.delay` for the next wait, so the schedule survives restarts; ``send_now()``
retries in-process with the :class:`tenacity.Retrying` (or ``AsyncRetrying``) that
:meth:`RetryPolicy.retrying` (or :meth:`RetryPolicy.async_retrying`) builds from the same
numbers.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pingsdk._exceptions import ConfigurationError

if TYPE_CHECKING:
    # tenacity (and asyncio) are imported when a delay is first computed (pingsdk._delivery.
    # _tenacity), so that `import pingsdk`, which names RetryPolicy, loads neither.
    import tenacity
    from tenacity.retry import retry_base
    from tenacity.stop import stop_base
    from tenacity.wait import wait_base

    RetryAfterOf = Callable[[tenacity.RetryCallState], "float | None"]

__all__ = ["RetryPolicy"]


def _retry_after_of(state: tenacity.RetryCallState) -> float | None:
    """``retry_after`` of the last outcome: an exception's attribute or a returned Outcome's."""
    outcome = state.outcome
    if outcome is None:
        return None
    source = outcome.exception() if outcome.failed else outcome.result()
    value = getattr(source, "retry_after", None)
    return float(value) if isinstance(value, (int, float)) else None


def _number(name: str, value: object, *, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            f"RetryPolicy.{name} must be a number of seconds, got {type(value).__name__}"
        )
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ConfigurationError(f"RetryPolicy.{name} must be a finite number {bound}, got {value}")
    return float(value)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a failed upload is retried: exponential backoff with full jitter, as data.

    After failed attempt ``n`` (1-based) the wait is::

        cap(n)   = min(max_delay, initial_delay * exp_base ** (n - 1))
        delay(n) = uniform(0, cap(n))      # full jitter; cap(n) itself when jitter=False

    which is tenacity's ``wait_random_exponential(multiplier=initial_delay, max=max_delay,
    exp_base=exp_base)`` (AWS's "full jitter"). A ``Retry-After`` from the server (clamped to
    ``[0, max_retry_after]``) can only lengthen that wait, never shorten it: a server answering
    ``Retry-After: 0`` (or a negative value, or a date in the past) is retried on the policy's
    own schedule, not at once. The defaults follow Firefox: windows from 1 minute doubling up to
    2 hours, pings dropped after 14 days.

    Attributes:
        initial_delay: the first window (seconds), ``>= 0``. Default 60.
        max_delay: the largest window (seconds), ``>= initial_delay``. Default 7200.
        exp_base: window growth per attempt, ``>= 1``. Default 2.
        jitter: full jitter (default) or exactly ``cap(n)``.
        max_attempts: give up after this many failed attempts; ``None`` (default) means only
            ``max_age`` ends the retries.
        max_age: drop a ping this many seconds after it was submitted. Default 14 days.
        max_retry_after: the longest ``Retry-After`` honoured (seconds). Default 3600.

    Raises:
        ConfigurationError: a value out of range.

    Example::

        policy = pingsdk.RetryPolicy(initial_delay=5, max_delay=600, max_attempts=20)
        client = pingsdk.PingClient("https://incoming.example.com", retry=policy)

    Added in 0.1.
    """

    initial_delay: float = 60.0
    max_delay: float = 7200.0
    exp_base: float = 2.0
    jitter: bool = True
    max_attempts: int | None = None
    max_age: float = 14 * 24 * 3600.0
    max_retry_after: float = 3600.0

    def __post_init__(self) -> None:
        initial = _number("initial_delay", self.initial_delay)
        maximum = _number("max_delay", self.max_delay)
        if maximum < initial:
            raise ConfigurationError(
                f"RetryPolicy.max_delay ({maximum:g}) must be >= initial_delay ({initial:g})"
            )
        exp_base = _number("exp_base", self.exp_base, minimum=1.0)
        max_age = _number("max_age", self.max_age, strict=True)
        max_retry_after = _number("max_retry_after", self.max_retry_after)
        if not isinstance(self.jitter, bool):
            raise ConfigurationError(
                f"RetryPolicy.jitter must be True or False, got {type(self.jitter).__name__}"
            )
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ConfigurationError(
                "RetryPolicy.max_attempts must be None (no limit) or an int >= 1, "
                f"got {self.max_attempts!r}"
            )
        # Store floats so equal policies compare and print equal (60 == 60.0 already).
        for name, value in (
            ("initial_delay", initial),
            ("max_delay", maximum),
            ("exp_base", exp_base),
            ("max_age", max_age),
            ("max_retry_after", max_retry_after),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def no_wait(cls, *, max_attempts: int | None = 3) -> RetryPolicy:
        """A policy for tests: every delay (and every Retry-After) is 0.

        Args:
            max_attempts: attempts before giving up (default 3; ``None`` for only max_age).
        """
        return cls(initial_delay=0.0, max_delay=0.0, max_retry_after=0.0, max_attempts=max_attempts)

    def _exponential(self) -> tenacity.wait_exponential:
        import tenacity

        return tenacity.wait_exponential(
            multiplier=self.initial_delay, max=self.max_delay, exp_base=self.exp_base
        )

    def cap(self, attempt: int) -> float:
        """The window after failed attempt ``attempt``:
        ``min(max_delay, initial_delay * exp_base ** (attempt - 1))``."""
        from pingsdk._delivery._tenacity import call_state

        _check_attempt(attempt)
        return float(self._exponential()(call_state(attempt)))

    def delay(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        Args:
            attempt: how many attempts have failed so far, ``>= 1``.
            retry_after: the server's ``Retry-After`` in seconds; when given (and not NaN),
                clamped to ``[0, max_retry_after]``, it lengthens the wait to at least that.
            rng: the random source for the jitter; ``None`` uses tenacity's own wait object
                (the ``random`` module), a seeded ``random.Random`` makes it reproducible.

        Returns:
            ``max(backoff, clamped retry_after)`` where the backoff is in ``[0, cap(attempt)]``.

        >>> RetryPolicy(jitter=False).delay(3)
        240.0
        >>> RetryPolicy().delay(1, retry_after=99999.0)
        3600.0
        >>> RetryPolicy(jitter=False).delay(2, retry_after=0.0)  # never shorter than the policy
        120.0
        """
        _check_attempt(attempt)
        backoff = self._backoff(attempt, rng)
        server = self.server_delay(retry_after)
        return backoff if server is None else max(backoff, server)

    def server_delay(self, retry_after: float | None) -> float | None:
        """The server's ``Retry-After`` (seconds) as honoured: clamped to
        ``[0, max_retry_after]``; ``None`` when absent or NaN.

        >>> RetryPolicy(max_retry_after=60).server_delay(600.0)
        60.0
        """
        if retry_after is None or math.isnan(retry_after):
            return None
        return min(max(0.0, float(retry_after)), self.max_retry_after)

    def _backoff(self, attempt: int, rng: random.Random | None) -> float:
        import tenacity

        from pingsdk._delivery._tenacity import call_state

        state = call_state(attempt)
        if not self.jitter:
            return float(self._exponential()(state))
        if rng is None:
            return float(
                tenacity.wait_random_exponential(
                    multiplier=self.initial_delay, max=self.max_delay, exp_base=self.exp_base
                )(state)
            )
        # wait_random_exponential draws random.uniform(0, cap); the same draw from ``rng``.
        return rng.uniform(0.0, self._exponential()(state))

    def is_expired(self, created_at: float, now: float) -> bool:
        """``True`` once a ping submitted at ``created_at`` is ``max_age`` old at ``now``."""
        return now - created_at >= self.max_age

    def gives_up(self, attempts: int, created_at: float, now: float) -> str | None:
        """Why a ping is not retried any more, or ``None`` to keep retrying.

        Args:
            attempts: failed attempts so far.
            created_at: Unix time of submit().
            now: Unix time now.

        Returns:
            ``"max_age"``, ``"max_attempts"`` or ``None``.

        >>> RetryPolicy(max_attempts=3).gives_up(3, created_at=0.0, now=10.0)
        'max_attempts'
        """
        if self.is_expired(created_at, now):
            return "max_age"
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return "max_attempts"
        return None

    def tenacity_wait(self, *, retry_after_of: RetryAfterOf = _retry_after_of) -> wait_base:
        """This schedule as a tenacity wait strategy.

        Args:
            retry_after_of: reads the server's ``Retry-After`` (seconds) from the retry state;
                the default takes a ``retry_after`` attribute from the last exception or the last
                returned value (an :class:`~pingsdk._delivery._outcome.Outcome` has one).
        """
        from pingsdk._delivery._tenacity import PolicyWait

        return PolicyWait(self, retry_after_of)

    def tenacity_stop(self) -> stop_base:
        """``max_age`` (as elapsed time) and ``max_attempts`` as a tenacity stop strategy."""
        import tenacity

        stop: stop_base = tenacity.stop_after_delay(self.max_age)
        if self.max_attempts is not None:
            stop = stop | tenacity.stop_after_attempt(self.max_attempts)
        return stop

    def _retrying_kwargs(
        self,
        retry: retry_base | None,
        stop: stop_base | None,
        before_sleep: Callable[[tenacity.RetryCallState], Any] | None,
    ) -> dict[str, Any]:
        import tenacity

        from pingsdk._delivery._outcome import RETRYABLE_EXCEPTIONS
        from pingsdk._delivery._tenacity import is_retry_result, last_result

        return {
            "wait": self.tenacity_wait(),
            "stop": self.tenacity_stop() if stop is None else stop,
            "retry": (
                tenacity.retry_if_exception_type(RETRYABLE_EXCEPTIONS)
                | tenacity.retry_if_result(is_retry_result)
            )
            if retry is None
            else retry,
            "before_sleep": before_sleep,
            "retry_error_callback": last_result,
        }

    def retrying(
        self,
        *,
        retry: retry_base | None = None,
        stop: stop_base | None = None,
        sleep: Callable[[float], None] = time.sleep,
        before_sleep: Callable[[tenacity.RetryCallState], Any] | None = None,
    ) -> tenacity.Retrying:
        """A :class:`tenacity.Retrying` following this policy, for in-process retries
        (``PingClient.send_now()`` retries with it; ``AsyncPingClient.send_now()`` with
        :meth:`async_retrying`).

        By default it retries network exceptions and returned values whose ``kind`` is
        ``OutcomeKind.RETRY``, stops at ``max_attempts`` or ``max_age`` (pass a tighter ``stop=``
        for a call that must finish soon), and when it gives up re-raises the last exception or
        returns the last value, never a ``tenacity.RetryError``. Other exceptions propagate at
        once.

        Args:
            retry: replace the retry predicate.
            stop: replace the stop condition.
            sleep: replace ``time.sleep`` (tests).
            before_sleep: called before each wait (logging).

        Example::

            outcome = policy.retrying(stop=tenacity.stop_after_delay(30))(send_once)
            # send_once() returns an Outcome or raises httpx errors; outcome is the last one.
        """
        import tenacity

        return tenacity.Retrying(sleep=sleep, **self._retrying_kwargs(retry, stop, before_sleep))

    def async_retrying(
        self,
        *,
        retry: retry_base | None = None,
        stop: stop_base | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], Any] | None = None,
    ) -> tenacity.AsyncRetrying:
        """The asyncio twin of :meth:`retrying` (``sleep``: ``None``, the default, is
        ``asyncio.sleep``)."""
        import asyncio

        import tenacity

        if sleep is None:
            sleep = asyncio.sleep
        return tenacity.AsyncRetrying(
            sleep=sleep, **self._retrying_kwargs(retry, stop, before_sleep)
        )


def _check_attempt(attempt: int) -> None:
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be an int >= 1 (1 = the first failure), got {attempt!r}")
