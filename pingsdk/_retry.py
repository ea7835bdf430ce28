"""RetryPolicy: the retry schedule as data, turned into tenacity waits. No I/O here.

INTERFACE STUB written by the lead; the wire helper owns and completes this module.
"""

from __future__ import annotations

import dataclasses

__all__ = ["RetryPolicy"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a failed upload is retried (exponential backoff with full jitter).

    delay(n) = uniform(0, min(max_delay, initial_delay * exp_base ** (n - 1))), a Retry-After
    from the server overriding it (capped at ``max_retry_after``).
    """

    initial_delay: float = 1.0
    max_delay: float = 3600.0
    exp_base: float = 2.0
    jitter: bool = True
    max_attempts: int | None = None
    max_age: float = 14 * 24 * 3600.0
    max_retry_after: float = 3600.0

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        raise NotImplementedError
