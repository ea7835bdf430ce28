"""RetryPolicy: validation, the schedule's bounds (statistically), tenacity equivalence,
Retry-After, giving up, and the tenacity Retrying builders."""

from __future__ import annotations

import asyncio
import random
import statistics

import httpx
import pytest
import tenacity

import pingsdk
from pingsdk import ConfigurationError, RetryPolicy
from pingsdk._delivery._outcome import Outcome, OutcomeKind

DAY = 24 * 3600.0
RETRY = Outcome(OutcomeKind.RETRY, 503, "http_503")
SENT = Outcome(OutcomeKind.SENT, 200, "ok")


def test_defaults_follow_firefox() -> None:
    policy = RetryPolicy()
    assert policy.initial_delay == 60.0  # 1 minute
    assert policy.max_delay == 7200.0  # 120 minutes
    assert policy.exp_base == 2.0
    assert policy.jitter is True
    assert policy.max_attempts is None
    assert policy.max_age == 14 * DAY
    assert policy.max_retry_after == 3600.0
    assert repr(policy) == (
        "RetryPolicy(initial_delay=60.0, max_delay=7200.0, exp_base=2.0, jitter=True, "
        "max_attempts=None, max_age=1209600.0, max_retry_after=3600.0)"
    )
    assert pingsdk.RetryPolicy is RetryPolicy


def test_frozen_hashable_and_ints_become_floats() -> None:
    policy = RetryPolicy(initial_delay=5, max_delay=600)
    assert policy == RetryPolicy(initial_delay=5.0, max_delay=600.0)
    assert isinstance(policy.initial_delay, float)
    assert hash(policy) == hash(RetryPolicy(initial_delay=5.0, max_delay=600.0))
    with pytest.raises(AttributeError):
        policy.initial_delay = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryPolicy(5)  # type: ignore[misc]  # keyword-only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_delay": -1}, r"RetryPolicy.initial_delay must be a finite number >= 0, got -1"),
        ({"initial_delay": float("nan")}, r"initial_delay must be a finite number"),
        ({"initial_delay": "60"}, r"initial_delay must be a number of seconds, got str"),
        ({"initial_delay": True}, r"initial_delay must be a number of seconds, got bool"),
        ({"max_delay": float("inf")}, r"max_delay must be a finite number >= 0, got inf"),
        ({"initial_delay": 10, "max_delay": 5}, r"max_delay \(5\) must be >= initial_delay \(10\)"),
        ({"exp_base": 0.5}, r"exp_base must be a finite number >= 1, got 0.5"),
        ({"max_age": 0}, r"max_age must be a finite number > 0, got 0"),
        ({"max_retry_after": -1}, r"max_retry_after must be a finite number >= 0"),
        ({"max_attempts": 0}, r"max_attempts must be None \(no limit\) or an int >= 1, got 0"),
        ({"max_attempts": 2.5}, r"max_attempts must be None .* got 2.5"),
        ({"max_attempts": True}, r"max_attempts must be None"),
        ({"jitter": 1}, r"jitter must be True or False, got int"),
    ],
)
def test_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_cap_doubles_up_to_max_delay() -> None:
    policy = RetryPolicy()
    caps = [policy.cap(n) for n in range(1, 10)]
    assert caps == [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 7200.0, 7200.0]
    assert policy.cap(10**6) == 7200.0  # no overflow
    assert RetryPolicy(exp_base=3.0, initial_delay=1, max_delay=100).cap(4) == 27.0
    assert RetryPolicy(exp_base=1.0, initial_delay=7, max_delay=100).cap(50) == 7.0


def test_delay_without_jitter_is_the_cap() -> None:
    policy = RetryPolicy(jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 8, 30)] == [60, 120, 240, 7200, 7200]


def test_full_jitter_bounds_statistically() -> None:
    policy = RetryPolicy()
    rng = random.Random(1234)
    for attempt in range(1, 12):
        cap = policy.cap(attempt)
        delays = [policy.delay(attempt, rng=rng) for _ in range(4000)]
        assert all(0.0 <= d <= cap for d in delays)
        assert cap <= policy.max_delay
        # uniform(0, cap): mean cap/2, spread over the whole window, both ends reached.
        assert statistics.fmean(delays) == pytest.approx(cap / 2, rel=0.05)
        assert min(delays) < 0.01 * cap and max(delays) > 0.99 * cap
        assert statistics.pstdev(delays) == pytest.approx(cap / 12**0.5, rel=0.05)


def test_global_random_path_stays_in_bounds() -> None:
    policy = RetryPolicy(initial_delay=1, max_delay=30)
    for attempt in range(1, 10):
        assert all(0 <= policy.delay(attempt) <= min(30, 2 ** (attempt - 1)) for _ in range(500))


def test_same_schedule_as_tenacity_full_jitter() -> None:
    # "The schedule is data, tenacity computes it": the same draw as wait_random_exponential.
    policy = RetryPolicy(initial_delay=3, max_delay=500, exp_base=2.5)
    tenacity_wait = tenacity.wait_random_exponential(multiplier=3, max=500, exp_base=2.5)
    state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
    for attempt in range(1, 15):
        state.attempt_number = attempt
        random.seed(attempt)
        expected = tenacity_wait(state)
        assert policy.delay(attempt, rng=random.Random(attempt)) == expected
        random.seed(attempt)
        assert policy.delay(attempt) == expected


def test_retry_after_lengthens_the_wait_and_is_capped() -> None:
    policy = RetryPolicy(jitter=False)  # cap(1) = 60, cap(2) = 120, cap(9) = 7200
    assert policy.delay(1, retry_after=100.0) == 100.0
    assert policy.delay(9, retry_after=10.0) == 7200.0  # the policy's own wait is longer
    assert policy.delay(1, retry_after=86400.0) == 3600.0  # capped at max_retry_after
    assert RetryPolicy(max_retry_after=120).delay(1, retry_after=1e12) == 120.0
    rng = random.Random(5)
    assert 0 <= policy.delay(2, retry_after=float("nan"), rng=rng) <= 120.0  # NaN ignored


@pytest.mark.parametrize("retry_after", [0.0, -5.0, 0.001])
def test_retry_after_never_shortens_the_policy_wait(retry_after: float) -> None:
    # Retry-After: 0 (or negative, or a past date, parsed as 0) once meant "no backoff at all":
    # hundreds of requests per second against a server that always answers it.
    assert RetryPolicy(jitter=False).delay(2, retry_after=retry_after) == 120.0
    for attempt in range(1, 6):
        jittered = RetryPolicy().delay(attempt, retry_after=retry_after, rng=random.Random(7))
        assert jittered == RetryPolicy().delay(attempt, rng=random.Random(7))


def test_server_delay_is_the_clamped_retry_after() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.server_delay(None) is None
    assert policy.server_delay(float("nan")) is None
    assert policy.server_delay(-3.0) == 0.0
    assert policy.server_delay(30.0) == 30.0
    assert policy.server_delay(600.0) == 60.0


def test_attempt_must_be_positive() -> None:
    for bad in (0, -1, True, 1.0):
        with pytest.raises(ValueError, match="attempt must be an int >= 1"):
            RetryPolicy().delay(bad)  # type: ignore[arg-type]


def test_gives_up_by_age() -> None:
    policy = RetryPolicy()
    created = 1_700_000_000.0
    assert policy.gives_up(500, created, created + 14 * DAY - 1) is None
    assert policy.gives_up(0, created, created + 14 * DAY) == "max_age"
    assert policy.is_expired(created, created + 14 * DAY)
    assert not policy.is_expired(created, created + 13 * DAY)


def test_gives_up_by_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.gives_up(n, 0.0, 1.0) for n in range(5)] == [
        None,
        None,
        None,
        "max_attempts",
        "max_attempts",
    ]
    assert policy.gives_up(1, 0.0, 15 * DAY) == "max_age"


def test_no_wait() -> None:
    policy = RetryPolicy.no_wait()
    assert policy.max_attempts == 3
    assert {policy.delay(n) for n in range(1, 50)} == {0.0}
    assert policy.delay(1, retry_after=100.0) == 0.0
    assert RetryPolicy.no_wait(max_attempts=None).max_attempts is None


# --- tenacity builders ---------------------------------------------------------------------------


class _Flaky:
    def __init__(self, results: list[object]) -> None:
        self.results = list(results)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        result = self.results.pop(0)
        if isinstance(result, BaseException):
            raise result
        return result


def test_retrying_retries_outcomes_and_network_errors() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(initial_delay=1, max_delay=8, jitter=False, max_attempts=10)
    flaky = _Flaky([RETRY, httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), SENT])
    assert policy.retrying(sleep=sleeps.append)(flaky) is SENT
    assert flaky.calls == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_retrying_honours_retry_after_from_outcome() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(initial_delay=1, max_delay=1, max_attempts=5, max_retry_after=100)
    limited = Outcome(OutcomeKind.RETRY, 429, "rate_limited", retry_after=30.0)
    too_long = Outcome(OutcomeKind.RETRY, 503, "http_503", retry_after=9999.0)
    flaky = _Flaky([limited, too_long, SENT])
    assert policy.retrying(sleep=sleeps.append)(flaky) is SENT
    assert sleeps == [30.0, 100.0]


def test_retrying_gives_back_the_last_result_or_exception() -> None:
    policy = RetryPolicy.no_wait(max_attempts=3)
    flaky = _Flaky([RETRY, RETRY, RETRY, SENT])
    assert policy.retrying(sleep=lambda _: None)(flaky) is RETRY  # not a RetryError
    assert flaky.calls == 3
    error = httpx.ConnectError("refused")
    flaky = _Flaky([RETRY, RETRY, error])
    with pytest.raises(httpx.ConnectError):
        policy.retrying(sleep=lambda _: None)(flaky)


def test_retrying_does_not_retry_drops_or_bugs() -> None:
    policy = RetryPolicy.no_wait(max_attempts=5)
    dropped = Outcome(OutcomeKind.DROP, 400, "http_400")
    flaky = _Flaky([dropped])
    assert policy.retrying()(flaky) is dropped
    flaky = _Flaky([ZeroDivisionError("bug")])
    with pytest.raises(ZeroDivisionError):
        policy.retrying()(flaky)
    assert flaky.calls == 1


def test_retrying_custom_stop_and_before_sleep() -> None:
    seen: list[int] = []
    policy = RetryPolicy.no_wait(max_attempts=None)
    flaky = _Flaky([RETRY] * 10)
    result = policy.retrying(
        stop=tenacity.stop_after_attempt(4),
        before_sleep=lambda state: seen.append(state.attempt_number),
        sleep=lambda _: None,
    )(flaky)
    assert result is RETRY and flaky.calls == 4 and seen == [1, 2, 3]


def test_async_retrying() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    policy = RetryPolicy(initial_delay=2, max_delay=2, jitter=False, max_attempts=4)
    flaky = _Flaky([httpx.ConnectError("refused"), RETRY, SENT])

    async def send() -> object:
        return flaky()

    async def main() -> object:
        return await policy.async_retrying(sleep=fake_sleep)(send)

    assert asyncio.run(main()) is SENT
    assert sleeps == [2.0, 2.0]


def test_tenacity_wait_and_stop_objects() -> None:
    policy = RetryPolicy(initial_delay=1, max_delay=4, jitter=False, max_attempts=2)
    wait = policy.tenacity_wait()
    assert isinstance(wait, tenacity.wait.wait_base)
    assert "RetryPolicy(initial_delay=1.0" in repr(wait)
    stop = policy.tenacity_stop()
    state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
    state.set_result(RETRY)
    state.attempt_number = 2
    assert stop(state) is True
    state.attempt_number = 1
    assert stop(state) is False
