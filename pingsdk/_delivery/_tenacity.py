"""The tenacity objects :class:`~pingsdk._delivery._retry.RetryPolicy` computes with.

A module of its own so that ``import pingsdk`` (which names ``RetryPolicy``) does not load
tenacity: the policy imports this module the first time it computes a delay or builds a
``Retrying``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tenacity
from tenacity.wait import wait_base

from pingsdk._delivery._outcome import OutcomeKind

if TYPE_CHECKING:
    from pingsdk._delivery._retry import RetryAfterOf, RetryPolicy

__all__ = ["PolicyWait", "call_state", "is_retry_result", "last_result"]

# The manager a standalone call state belongs to: tenacity's waits read only the state's
# attempt number, never the manager, so one default Retrying serves every computation.
_MANAGER = tenacity.Retrying()


def call_state(attempt: int) -> tenacity.RetryCallState:
    """A real tenacity call state after ``attempt`` failed attempts (public constructor; the
    documented ``attempt_number`` attribute set as tenacity's own loop would have it)."""
    state = tenacity.RetryCallState(_MANAGER, None, (), {})
    state.attempt_number = attempt
    return state


def is_retry_result(result: object) -> bool:
    """Whether a returned value is an Outcome that asks for a retry."""
    return getattr(result, "kind", None) is OutcomeKind.RETRY


def last_result(state: tenacity.RetryCallState) -> Any:
    """The last outcome once the attempts are used up: re-raise the last exception or return
    the last result (e.g. a RETRY Outcome), instead of tenacity's RetryError wrapping it."""
    assert state.outcome is not None
    return state.outcome.result()


class PolicyWait(wait_base):
    """A tenacity wait that asks the policy (so Retry-After and the cap apply in-process too)."""

    def __init__(self, policy: RetryPolicy, retry_after_of: RetryAfterOf) -> None:
        self.policy = policy
        self.retry_after_of = retry_after_of

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return self.policy.delay(
            retry_state.attempt_number, retry_after=self.retry_after_of(retry_state)
        )

    def __repr__(self) -> str:
        return f"<wait {self.policy!r}>"
