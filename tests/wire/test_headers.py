"""Header rules: fixed set, agent, X-Debug-ID / X-Source-Tags, extras, and fuzzing via httpx."""

from __future__ import annotations

import email.utils
import platform
import sys

import h11
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pingsdk
from pingsdk import ConfigurationError
from pingsdk.wire._headers import (
    FORBIDDEN_HEADERS,
    build_headers,
    check_header_value,
    http_date,
    telemetry_agent,
)


def test_fixed_headers_compressed() -> None:
    assert build_headers(compressed=True, content_length=123) == {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Encoding": "gzip",
        "Content-Length": "123",
        "X-Telemetry-Agent": telemetry_agent(),
    }


def test_fixed_headers_plain_has_no_content_encoding() -> None:
    headers = build_headers(compressed=False, content_length=0)
    assert "Content-Encoding" not in headers
    assert headers["Content-Length"] == "0"


def test_telemetry_agent() -> None:
    major, minor = sys.version_info[:2]
    assert telemetry_agent() == (
        f"pingsdk/{pingsdk.__version__} (Python {major}.{minor} on {platform.system()})"
    )


def test_debug_id_and_source_tags() -> None:
    headers = build_headers(
        compressed=True,
        content_length=1,
        debug_id="my-debug-1",
        source_tags=("automation", "perf-test"),
    )
    assert headers["X-Debug-ID"] == "my-debug-1"
    assert headers["X-Source-Tags"] == "automation,perf-test"
    assert build_headers(compressed=True, content_length=1, debug_id="a" * 20)["X-Debug-ID"]
    five = [f"t{i}" for i in range(5)]
    assert build_headers(compressed=True, content_length=1, source_tags=five)["X-Source-Tags"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"debug_id": ""}, r"debug_id must be 1-20 characters of letters, digits and '-'"),
        ({"debug_id": "a" * 21}, r"debug_id must be 1-20 characters"),
        ({"debug_id": "my_debug"}, r"debug_id must be 1-20 characters.*'my_debug'"),
        ({"debug_id": "bad\r\nX: y"}, r"debug_id must be 1-20 characters"),
        ({"debug_id": "trailing\n"}, r"debug_id must be 1-20 characters"),
        ({"debug_id": 12}, r"debug_id must be 1-20 characters"),
        (
            {"source_tags": "automation"},
            r"not a single string: write source_tags=\('automation',\)",
        ),
        ({"source_tags": [f"t{i}" for i in range(6)]}, r"source_tags has 6 tags; at most 5"),
        ({"source_tags": ["ok", "no way"]}, r"each source tag must be 1-20 characters.*'no way'"),
        ({"source_tags": ["a,b"]}, r"each source tag must be 1-20"),
        ({"source_tags": ["trailing\n"]}, r"each source tag must be 1-20"),
        ({"source_tags": [""]}, r"each source tag must be 1-20"),
        ({"source_tags": ["x" * 21]}, r"each source tag must be 1-20"),
        ({"content_length": -1}, r"content_length must be >= 0, got -1"),
        ({"content_length": "5"}, r"content_length must be an int, got str"),
        ({"content_length": True}, r"content_length must be an int, got bool"),
    ],
)
def test_built_header_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"compressed": True, "content_length": 10, **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        build_headers(**arguments)  # type: ignore[arg-type]


def test_empty_string_source_tags_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a single string"):
        build_headers(compressed=True, content_length=1, source_tags="")


def test_extra_headers_kept_in_order() -> None:
    headers = build_headers(
        compressed=True,
        content_length=5,
        extra={"DNT": "1", "User-Agent": "myapp/2.0", "X-PingSender-Version": "1.0"},
    )
    assert list(headers)[-3:] == ["DNT", "User-Agent", "X-PingSender-Version"]
    assert headers["User-Agent"] == "myapp/2.0"


@pytest.mark.parametrize(
    "name",
    [
        "X-Forwarded-For",
        "x-forwarded-for",
        "X-LB-Tags",
        "X-Foxsec-IP-Reputation",
        "X-PIPELINE-PROXY",
    ],
)
def test_infrastructure_headers_refused(name: str) -> None:
    assert name.lower() in FORBIDDEN_HEADERS
    with pytest.raises(ConfigurationError, match=f"header {name} is an infrastructure header"):
        build_headers(compressed=True, content_length=1, extra={name: "1.2.3.4"})


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Content-Type", "always application/json"),
        ("content-length", "the body's size"),
        ("CONTENT-ENCODING", "follows compress="),
        ("x-telemetry-agent", "identifies pingsdk"),
        ("X-Debug-Id", "pass debug_id= instead"),
        ("x-source-tags", "pass source_tags= instead"),
        ("Date", "set at send time"),
        ("Host", "comes from the endpoint"),
        ("Transfer-Encoding", "Content-Length"),
    ],
)
def test_extra_cannot_override_built_headers(name: str, hint: str) -> None:
    with pytest.raises(
        ConfigurationError, match=f"header {name} cannot be set through headers=: .*{hint}"
    ):
        build_headers(compressed=True, content_length=1, extra={name: "x"})


def test_extra_duplicates_differing_in_case_refused() -> None:
    with pytest.raises(ConfigurationError, match="given twice"):
        build_headers(compressed=True, content_length=1, extra={"DNT": "1", "dnt": "1"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "X-A",
            "a\r\nX-Injected: 1",
            r"header X-A: value contains a line break \(CR or LF\) at position 1",
        ),
        ("X-A", "a\nb", r"line break"),
        ("X-A", "a\rb", r"line break"),
        ("X-A", "caf\u00e9", r"non-ASCII character at position 3"),
        ("X-A", "\u2028", r"non-ASCII"),
        ("X-A", "a\tb", r"control character 0x09 at position 1"),
        ("X-A", "a\x00b", r"control character 0x00"),
        ("X-A", "\x7f", r"control character 0x7f"),
        ("X-A", " padded", r"leading or trailing spaces"),
        ("X-A", "padded ", r"leading or trailing spaces"),
        ("X-A", "x" * 1025, r"value is 1025 bytes; the edge accepts at most 1024"),
        ("X-A", 5, r"value must be a str, got int"),
    ],
)
def test_value_errors(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_header_value(name, value)
    with pytest.raises(ConfigurationError, match=message):
        build_headers(compressed=True, content_length=1, extra={name: value})


def test_value_limit_is_exactly_1024_bytes() -> None:
    assert check_header_value("X-A", "x" * 1024) == "x" * 1024
    assert check_header_value("X-A", "") == ""


def test_value_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_header_value("Authorization", "Bearer s3cr3t\n")
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize("name", ["", "X A", "X:A", "X-\u00e9", "X\r\nY", "X-A\n", 5])
def test_bad_header_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match="header name"):
        build_headers(compressed=True, content_length=1, extra={name: "v"})


def test_http_date() -> None:
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(784111777.9) == "Sun, 06 Nov 1994 08:49:37 GMT"
    now = 1_700_000_000.0
    assert email.utils.parsedate_to_datetime(http_date(now)).timestamp() == now


# --- fuzzing -----------------------------------------------------------------------------------

VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=40),
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1020, max_size=1030
    ),
)
NAMES = st.one_of(
    st.sampled_from(["DNT", "User-Agent", "X-Custom", "x-forwarded-for", "Content-Length", "date"]),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12),
)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(NAMES, VALUES, max_size=4),
    st.one_of(st.none(), st.text(max_size=25)),
    st.lists(st.text(max_size=22), max_size=7),
)
def test_fuzz_headers(extra: dict[str, str], debug_id: str | None, tags: list[str]) -> None:
    try:
        headers = build_headers(
            compressed=True, content_length=2, debug_id=debug_id, source_tags=tags, extra=extra
        )
    except ConfigurationError:
        return
    request = httpx.Request(
        "POST", "https://incoming.example.com/submit/a/b/1/x", headers=headers, content=b"{}"
    )
    sent = dict(request.headers.raw)
    for name, value in headers.items():
        encoded = value.encode("ascii")
        assert b"\r" not in encoded and b"\n" not in encoded
        assert len(encoded) <= 1024
        assert sent[name.encode("ascii")] == encoded  # round-trips unchanged
        assert name.lower() not in FORBIDDEN_HEADERS
    assert request.headers["content-length"] == "2"
    lowered = [name.lower() for name in headers]
    assert len(lowered) == len(set(lowered))
    if tags:
        assert headers["X-Source-Tags"].split(",") == tags
    if debug_id is not None:
        assert headers["X-Debug-ID"] == debug_id


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_fuzz_check_header_value(value: str) -> None:
    try:
        checked = check_header_value("X-A", value)
    except ConfigurationError as exc:
        assert len(value) < 8 or value not in str(exc)  # the value is never echoed
        return
    # h11 (httpx's HTTP/1.1 engine) must accept it unchanged.
    request = h11.Request(
        method="POST",
        target="/",
        headers=[("Host", "x"), ("X-A", checked), ("Content-Length", "0")],
    )
    assert dict(request.headers)[b"x-a"] == checked.encode()


def test_wrong_container_types() -> None:
    with pytest.raises(
        ConfigurationError, match="headers must be a mapping of name to value, got list"
    ):
        build_headers(compressed=True, content_length=1, extra=[("DNT", "1")])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="source_tags must be a sequence of tags, got int"):
        build_headers(compressed=True, content_length=1, source_tags=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="header X-A: value must be a str, got list"):
        build_headers(compressed=True, content_length=1, extra={"X-A": ["unhashable"]})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="debug_id must be 1-20 characters"):
        build_headers(compressed=True, content_length=1, debug_id=["x"])  # type: ignore[arg-type]


def test_results_are_independent_copies() -> None:
    first = build_headers(compressed=True, content_length=1, extra={"DNT": "1"})
    first["DNT"] = "changed"
    first["X-New"] = "y"
    second = build_headers(compressed=True, content_length=2, extra={"DNT": "1"})
    assert second["DNT"] == "1" and "X-New" not in second
    assert list(second) == [
        "Content-Type",
        "Content-Encoding",
        "Content-Length",
        "X-Telemetry-Agent",
        "DNT",
    ]
