"""The edge contract's status table, row by row, and Retry-After in every form."""

from __future__ import annotations

import email.utils
import logging

import httpx
import pytest

from pingsdk._delivery._outcome import (
    DETAIL_BYTES,
    RETRYABLE_EXCEPTIONS,
    Outcome,
    OutcomeKind,
    classify,
    classify_exception,
    parse_retry_after,
    response_detail,
)

NOW = 1_700_000_000.0
SENT, RETRY, DROP = OutcomeKind.SENT, OutcomeKind.RETRY, OutcomeKind.DROP

# (status, kind, reason) exactly as the table in shared/spec/edge-server.md says.
TABLE = [
    (200, SENT, "ok"),
    (202, SENT, "ok"),
    (204, SENT, "ok"),
    (400, DROP, "http_400"),
    (404, DROP, "http_404"),
    (405, DROP, "http_405"),
    (411, DROP, "http_411"),
    (413, DROP, "http_413"),
    (414, DROP, "http_414"),
    (431, DROP, "http_431"),
    (401, DROP, "http_401"),
    (403, DROP, "http_403"),
    (410, DROP, "http_410"),
    (499, DROP, "http_499"),
    (408, RETRY, "http_408"),
    (429, RETRY, "rate_limited"),
    (500, RETRY, "http_500"),
    (502, RETRY, "http_502"),
    (503, RETRY, "http_503"),
    (504, RETRY, "http_504"),
    (507, RETRY, "http_507"),
    (599, RETRY, "http_599"),
    (100, RETRY, "unexpected_status"),
    (101, RETRY, "unexpected_status"),
    (199, RETRY, "unexpected_status"),
    (301, RETRY, "unexpected_status"),
    (302, RETRY, "unexpected_status"),
    (304, RETRY, "unexpected_status"),
    (307, RETRY, "unexpected_status"),
    (308, RETRY, "unexpected_status"),
    (600, RETRY, "unexpected_status"),
]


@pytest.mark.parametrize(("status", "kind", "reason"), TABLE)
def test_status_table(status: int, kind: OutcomeKind, reason: str) -> None:
    outcome = classify(status, {}, now=NOW)
    assert outcome == Outcome(kind, status, reason, None, pauses_sending=status in (429, 503))


def test_only_overload_answers_pause_all_sending() -> None:
    # The edge as a whole says "slow down" only with 429 and 503; a 500 or 507 is about this
    # request, so other pings keep going.
    pausing = {s for s in range(100, 700) if classify(s, {}, now=NOW).pauses_sending}
    assert pausing == {429, 503}


def test_every_2xx_is_sent_and_every_5xx_retried() -> None:
    assert {classify(s, {}, now=NOW).kind for s in range(200, 300)} == {SENT}
    assert {classify(s, {}, now=NOW).kind for s in range(500, 600)} == {RETRY}
    dropped = {s for s in range(400, 500) if classify(s, {}, now=NOW).kind is DROP}
    assert dropped == set(range(400, 500)) - {408, 429}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("99999999999", 99999999999.0),
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),
        (email.utils.formatdate(NOW - 90, usegmt=True), 0.0),  # in the past -> now
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # RFC 850 form, long past
        ("Sun Nov  6 08:49:37 1994", 0.0),  # asctime form
        ("soon", None),
        ("", None),
        ("12 seconds", None),
        ("nan", None),
        ("inf", None),
        ("1e400", None),
        ("Sun, 99 Foo 1994 08:49:37 GMT", None),
    ],
)
def test_retry_after_forms(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected
    outcome = classify(503, {"Retry-After": value}, now=NOW)
    assert outcome.kind is RETRY
    assert outcome.retry_after == expected


def test_retry_after_http_date_without_zone_is_utc() -> None:
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:20 -0000", now=NOW) == 0.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:20 -0000", now=NOW) == 60.0


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_retry_after_read_on_retry_statuses_any_case(status: int) -> None:
    for headers in (
        {"retry-after": "30"},
        {"RETRY-AFTER": "30"},
        httpx.Headers({"Retry-After": "30"}),
    ):
        assert classify(status, headers, now=NOW).retry_after == 30.0


@pytest.mark.parametrize("status", [200, 400, 404, 301])
def test_retry_after_ignored_when_not_retrying(status: int) -> None:
    assert classify(status, {"Retry-After": "30"}, now=NOW).retry_after is None


def test_status_must_be_int() -> None:
    with pytest.raises(TypeError, match="status must be an int"):
        classify("200", {}, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        classify(True, {}, now=NOW)


REQUEST = httpx.Request("POST", "https://incoming.example.com/submit/a/b/1/x")


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (httpx.ConnectTimeout("t", request=REQUEST), "timeout"),
        (httpx.ReadTimeout("t", request=REQUEST), "timeout"),
        (httpx.WriteTimeout("t", request=REQUEST), "timeout"),
        (httpx.PoolTimeout("t", request=REQUEST), "timeout"),
        (TimeoutError(), "timeout"),
        (httpx.ConnectError("refused", request=REQUEST), "connect_error"),
        (httpx.ReadError("reset", request=REQUEST), "read_error"),
        (httpx.WriteError("broken pipe", request=REQUEST), "write_error"),
        (httpx.RemoteProtocolError("bad", request=REQUEST), "protocol_error"),
        (httpx.ProxyError("proxy", request=REQUEST), "proxy_error"),
        (httpx.CloseError("close", request=REQUEST), "network_error"),
        (ConnectionResetError(), "network_error"),
        (OSError("no route"), "network_error"),
    ],
)
def test_network_errors_retry(exc: BaseException, reason: str) -> None:
    assert classify_exception(exc) == Outcome(RETRY, None, reason, None, pauses_sending=True)
    assert isinstance(exc, RETRYABLE_EXCEPTIONS)


def test_unknown_exception_retries_and_logs_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="pingsdk"):
        outcome = classify_exception(ZeroDivisionError("our bug"))
    assert outcome == Outcome(RETRY, None, "error", None, pauses_sending=True)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "ZeroDivisionError" in record.getMessage()
    assert not isinstance(ZeroDivisionError(), RETRYABLE_EXCEPTIONS)


def test_response_detail_is_one_bounded_line_of_safe_text() -> None:
    assert response_detail(b"") is None
    assert response_detail(b" \r\n\t") is None
    hostile = "bad\r\nX-Injected: 1\x1b[2J\u0085end\u2028!".encode()
    assert response_detail(hostile) == "bad X-Injected: 1 [2J end !"
    assert response_detail(b"\xff\xfeok") == "\ufffd\ufffdok"
    long = response_detail("é".encode() * 1000)
    assert long is not None and len(long.encode()) <= DETAIL_BYTES and set(long) == {"é"}
    assert response_detail(b"x" * 5000) == "x" * DETAIL_BYTES
