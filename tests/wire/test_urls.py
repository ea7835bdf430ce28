"""Submit URLs: both forms, every validation error, endpoint rules, and fuzzing through httpx."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pingsdk
from pingsdk import AppInfo, ConfigurationError
from pingsdk.wire import build_submit_url, legacy_submit_path, submit_path
from pingsdk.wire._docid import new_doc_id
from pingsdk.wire._urls import (
    MAX_PATH_BYTES,
    MAX_VERSION,
    SubmitPath,
    check_endpoint,
    is_loopback_host,
    parse_submit_path,
)

DOC_ID = "01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980"
APP = AppInfo(name="Firefox", version="128.0.3", channel="release", build_id="20240725162350")


def test_generic_form() -> None:
    path = submit_path("my-app", "search-counts", 1, DOC_ID)
    assert path == f"/submit/my-app/search-counts/1/{DOC_ID}"
    assert parse_submit_path(path) == SubmitPath("my-app", "search-counts", 1, DOC_ID)


def test_glean_form_is_generic() -> None:
    assert submit_path("org-mozilla-fenix", "metrics", 1, DOC_ID) == (
        f"/submit/org-mozilla-fenix/metrics/1/{DOC_ID}"
    )


def test_underscores_and_digits_as_in_real_schema_names() -> None:
    assert submit_path("firefox_desktop", "quick_suggest", 12, DOC_ID).startswith(
        "/submit/firefox_desktop/quick_suggest/12/"
    )


def test_legacy_form() -> None:
    path = legacy_submit_path(DOC_ID, "main", APP)
    assert path == f"/submit/telemetry/{DOC_ID}/main/Firefox/128.0.3/release/20240725162350?v=4"
    assert parse_submit_path(path) == SubmitPath("telemetry", "main", None, DOC_ID, APP)


def test_full_url() -> None:
    path = submit_path("my-app", "search-counts", 1, DOC_ID)
    assert build_submit_url("https://incoming.example.com", path) == (
        f"https://incoming.example.com/submit/my-app/search-counts/1/{DOC_ID}"
    )
    assert build_submit_url("https://proxy.example.com/edge/", path) == (
        f"https://proxy.example.com/edge/submit/my-app/search-counts/1/{DOC_ID}"
    )
    legacy = legacy_submit_path(DOC_ID, "main", APP)
    assert build_submit_url("http://127.0.0.1:8080", legacy).endswith("/20240725162350?v=4")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("My-App", "d", 1, DOC_ID), r"namespace 'My-App' is not a valid URL name: use lowercase"),
        (("", "d", 1, DOC_ID), r"namespace '' is not a valid URL name"),
        (("a/b", "d", 1, DOC_ID), r"namespace 'a/b' is not a valid URL name"),
        (("a%2f", "d", 1, DOC_ID), r"namespace 'a%2f' is not a valid URL name"),
        (("a b", "d", 1, DOC_ID), r"namespace 'a b' is not a valid URL name"),
        (("-app", "d", 1, DOC_ID), r"starting and ending with a letter or digit"),
        (("app_", "d", 1, DOC_ID), r"namespace 'app_' is not a valid URL name"),
        (("app\n", "d", 1, DOC_ID), r"namespace 'app\\n' is not a valid URL name"),
        ((b"app", "d", 1, DOC_ID), r"namespace must be a str, got bytes"),
        (("telemetry", "main", 4, DOC_ID), r"reserved for Firefox desktop.*legacy_submit_path"),
        (("a", "Main", 1, DOC_ID), r"doctype 'Main' is not a valid URL name"),
        (("a", "d?x=1", 1, DOC_ID), r"doctype 'd\?x=1' is not a valid URL name"),
        (("a", "d", 0, DOC_ID), r"version must be a positive int, got 0"),
        (("a", "d", -3, DOC_ID), r"version must be a positive int, got -3"),
        (("a", "d", "1", DOC_ID), r"version must be an int, got str"),
        (("a", "d", True, DOC_ID), r"version must be an int, got bool"),
        (("a", "d", 1.0, DOC_ID), r"version must be an int, got float"),
        (("a", "d", 2**63, DOC_ID), r"version must be at most 2\*\*63 - 1.*64 bits"),
        (("a", "d", 10**5000, DOC_ID), r"version must be at most 2\*\*63 - 1.*16610 bits"),
        (("a", "d\n", 1, DOC_ID), r"doctype 'd\\n' is not a valid URL name"),
        (("a", "d", 1, DOC_ID.upper()), r"doc_id must be a UUID in canonical lowercase form"),
        (("a", "d", 1, "{" + DOC_ID + "}"), r"doc_id must be a UUID in canonical lowercase"),
        (("a", "d", 1, DOC_ID.replace("-", "")), r"doc_id must be a UUID in canonical"),
        (("a", "d", 1, DOC_ID + "\n"), r"doc_id must be a UUID in canonical"),
        (("a", "d", 1, uuid.UUID(DOC_ID)), r"doc_id must be a str, got UUID"),
        (
            ("a" * 1000, "d", 1, DOC_ID),
            r"the submit path is 1049 bytes; the edge accepts at most 1024",
        ),
    ],
)
def test_submit_path_errors(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        submit_path(*args)  # type: ignore[arg-type]


def test_largest_version() -> None:
    assert MAX_VERSION == 2**63 - 1
    path = submit_path("a", "d", MAX_VERSION, DOC_ID)
    assert parse_submit_path(path).version == MAX_VERSION


def test_path_limit_is_exactly_1024_bytes() -> None:
    fixed = len(f"/submit//d/1/{DOC_ID}")
    assert len(submit_path("a" * (MAX_PATH_BYTES - fixed), "d", 1, DOC_ID)) == MAX_PATH_BYTES
    with pytest.raises(ConfigurationError, match="1025 bytes"):
        submit_path("a" * (MAX_PATH_BYTES - fixed + 1), "d", 1, DOC_ID)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", r"AppInfo.name '' is not a valid URL path segment"),
        ("name", "Fire fox", r"AppInfo.name 'Fire fox' is not a valid URL path segment"),
        ("version", "1/2", r"AppInfo.version '1/2' is not a valid URL path segment"),
        ("version", "..", r"not empty, not '.' or '..'"),
        ("channel", ".", r"AppInfo.channel '.' is not a valid URL path segment"),
        ("channel", "n%C3%A9", r"AppInfo.channel 'n%C3%A9'"),
        ("build_id", "2024?v=5", r"AppInfo.build_id '2024\?v=5'"),
        ("build_id", 20240725, r"AppInfo.build_id must be a str, got int"),
        ("name", "Firéfox", r"AppInfo.name 'Firéfox' is not a valid URL path segment"),
    ],
)
def test_app_info_errors(field: str, value: object, message: str) -> None:
    parts = {"name": "Firefox", "version": "1.0", "channel": "release", "build_id": "1"}
    parts[field] = value  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match=message):
        AppInfo(**parts)  # type: ignore[arg-type]


def test_legacy_errors() -> None:
    with pytest.raises(ConfigurationError, match=r"app must be a pingsdk\.AppInfo, got dict"):
        legacy_submit_path(DOC_ID, "main", {"name": "Firefox"})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="doctype 'Main'"):
        legacy_submit_path(DOC_ID, "Main", APP)
    with pytest.raises(ConfigurationError, match="doc_id must be a UUID"):
        legacy_submit_path("nope", "main", APP)
    long_app = AppInfo(name="a" * 1000, version="1", channel="release", build_id="1")
    with pytest.raises(ConfigurationError, match=r"the submit path is 10\d\d bytes"):
        legacy_submit_path(DOC_ID, "main", long_app)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://incoming.example.com", "https://incoming.example.com"),
        ("https://incoming.example.com/", "https://incoming.example.com"),
        ("HTTPS://Incoming.Example.COM:443/", "https://incoming.example.com:443"),
        ("https://edge.example.com:8443/a/b/", "https://edge.example.com:8443/a/b"),
        ("https://edge.example.com/%7Eedge", "https://edge.example.com/%7Eedge"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://LOCALHOST", "http://localhost"),
        ("http://127.0.0.1:1", "http://127.0.0.1:1"),
        ("http://127.255.0.9", "http://127.255.0.9"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
        ("https://10.0.0.1", "https://10.0.0.1"),
    ],
)
def test_endpoint_accepted(endpoint: str, expected: str) -> None:
    assert check_endpoint(endpoint) == expected


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://incoming.example.com", r"plain http:// to a non-loopback host: use https://"),
        ("http://10.0.0.1", r"allow_insecure=True"),
        ("http://128.0.0.1", r"plain http://"),
        ("http://localhost.example.com", r"plain http://"),
        ("http://[::2]", r"plain http://"),
        ("ftp://incoming.example.com", r"must start with https://.*got scheme 'ftp'"),
        ("incoming.example.com", r"must start with https://.*got scheme ''"),
        ("", r"must start with https://"),
        ("https://", r"has no valid host name"),
        ("https://exa mple.com", r"without spaces or control characters"),
        ("https://example.com\r\nX-Evil: 1", r"without spaces or control characters"),
        ("https://bücher.example", r"punycode xn-- form"),
        ("https://example.com?x=1", r"must not have a query string or fragment"),
        ("https://example.com/#top", r"must not have a query string or fragment"),
        ("https://example.com:0", r"invalid port: use a number from 1 to 65535"),
        ("https://example.com:65536", r"invalid port"),
        ("https://example.com:http", r"invalid port"),
        ("https://[::1", r"is not a valid URL"),
        # Python 3.11+ urlsplit refuses the bracketed host itself; 3.10 leaves it to our IPv6 check.
        ("https://[fe80::zz]", r"is not a valid URL|invalid IPv6 address"),
        ("https://exa_mple.com", r"has no valid host name"),
        ("https://example.com//a", r"invalid path prefix"),
        ("https://example.com/a/../b", r"invalid path prefix"),
        ("https://example.com/a b", r"without spaces"),
        ("https://example.com/a%zz", r"invalid path prefix"),
        ("https://example.com\\evil", r"has no valid host name"),
        (42, r"endpoint must be a str, got int"),
    ],
)
def test_endpoint_refused(endpoint: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_endpoint(endpoint)


def test_credentials_refused_and_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_endpoint("https://user:s3cret-pass@incoming.example.com")
    assert "credentials" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert "user" not in str(info.value).replace("(user:password@)", "")


def test_allow_insecure_opt_in() -> None:
    assert check_endpoint("http://incoming.example.com", allow_insecure=True) == (
        "http://incoming.example.com"
    )
    path = submit_path("a", "b", 1, DOC_ID)
    with pytest.raises(ConfigurationError, match="plain http://"):
        build_submit_url("http://incoming.example.com", path)
    assert build_submit_url("http://incoming.example.com", path, allow_insecure=True).startswith(
        "http://incoming.example.com/submit/"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("localhost.evil.com", False),
        ("evil-localhost", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("submit/a/b/1/" + DOC_ID, r"does not start with /submit/"),
        ("/a/b/1/" + DOC_ID, r"does not start with /submit/"),
        ("/submit/a/b/1/" + DOC_ID + "/x", r"exactly 4 elements after /submit/"),
        ("/submit/a/b/" + DOC_ID, r"exactly 4 elements"),
        ("/submit/a/b/1/" + DOC_ID + "?v=4", r"no query string"),
        ("/submit/a/b/01/" + DOC_ID, r"version element must be a positive integer"),
        ("/submit/a/b/x/" + DOC_ID, r"version element must be a positive integer"),
        ("/submit/a/b/\u0661/" + DOC_ID, r"version element must be a positive integer"),
        ("/submit/a/b/9223372036854775808/" + DOC_ID, r"version must be at most 2\*\*63 - 1"),
        # Over Python's 4,300-digit int parsing limit: a ConfigurationError, not a ValueError.
        ("/submit/a/b/" + "9" * 5000 + "/" + DOC_ID, r"version must be at most 2\*\*63 - 1"),
        (f"/submit/telemetry/{DOC_ID}/main/Firefox/1/release/1", r"the query \?v=4"),
        (f"/submit/telemetry/{DOC_ID}/main/Firefox/1/release/1?v=5", r"exactly 6 elements"),
        (f"/submit/telemetry/{DOC_ID}/main/Firefox/1/release?v=4", r"exactly 6 elements"),
    ],
)
def test_build_submit_url_refuses_bad_paths(path: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_submit_url("https://incoming.example.com", path)


def test_prefix_counts_toward_path_limit() -> None:
    fixed = len(f"/submit//d/1/{DOC_ID}")
    path = submit_path("a" * (MAX_PATH_BYTES - fixed), "d", 1, DOC_ID)
    assert build_submit_url("https://e.example.com", path)
    with pytest.raises(ConfigurationError, match="shorter endpoint path prefix"):
        build_submit_url("https://e.example.com/p", path)


def test_public_names() -> None:
    assert pingsdk.wire.submit_path is submit_path
    assert pingsdk.AppInfo.__module__ == "pingsdk"
    assert "pingsdk.AppInfo" in str(pingsdk.AppInfo)


# --- fuzzing: every input raises ConfigurationError or gives a well-formed httpx request ------

NASTY = st.lists(
    st.sampled_from(
        [*"abcxyz019-_./%?#&=@:;+ AZ\\\t\r\n\x00\x7f\u00e9\u2028\u0661", "..", "%2F", "%00"]
    ),
    max_size=12,
).map("".join)
NAME = st.one_of(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}[a-z0-9]", fullmatch=True), NASTY)
VERSION = st.one_of(st.integers(min_value=-5, max_value=10**6), st.just(10**1100), st.booleans())
DOC_IDS = st.one_of(
    st.builds(new_doc_id), st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), NASTY
)
ENDPOINTS = st.one_of(
    st.sampled_from(
        [
            "https://incoming.example.com",
            "http://127.0.0.1:8000/",
            "http://[::1]:9",
            "https://e.example.com/a/b",
            "http://example.com",
        ]
    ),
    st.builds(
        lambda scheme, host, port, prefix: f"{scheme}://{host}{port}{prefix}",
        st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
        st.one_of(st.sampled_from(["localhost", "127.0.0.1", "[::1]", "a.example"]), NASTY),
        st.sampled_from(["", ":80", ":0", ":99999", ":x"]),
        st.one_of(st.just(""), NASTY.map(lambda s: "/" + s)),
    ),
)
SEGMENT = st.one_of(st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True), NASTY)


def _assert_well_formed(url: str, endpoint: str, elements: list[str], query: bytes) -> None:
    request = httpx.Request("POST", url, content=b"{}")
    assert "\r" not in url and "\n" not in url and " " not in url
    base = check_endpoint(endpoint, allow_insecure=True)
    prefix = httpx.URL(base).raw_path.decode()
    raw_path = request.url.raw_path.decode()
    path, _, raw_query = raw_path.partition("?")
    assert request.url.query == query
    assert path.startswith(prefix.rstrip("/") + "/submit/")
    parts = path[len(prefix.rstrip("/") + "/submit/") :].split("/")
    assert parts == elements  # no element split, merged, escaped or normalised away
    assert len(path.encode()) <= 1024 and len(raw_query.encode()) <= 1024
    assert request.url.path == path  # nothing needed percent-encoding


@settings(max_examples=400, deadline=None)
@given(ENDPOINTS, NAME, NAME, VERSION, DOC_IDS)
def test_fuzz_generic(
    endpoint: str, namespace: str, doctype: str, version: int, doc_id: str
) -> None:
    try:
        url = build_submit_url(
            endpoint, submit_path(namespace, doctype, version, doc_id), allow_insecure=True
        )
    except ConfigurationError:
        return
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?", namespace)
    assert namespace != "telemetry"
    _assert_well_formed(url, endpoint, [namespace, doctype, str(version), doc_id], b"")
    assert len(_assert_parts(url)) == 4


@settings(max_examples=300, deadline=None)
@given(ENDPOINTS, NAME, DOC_IDS, SEGMENT, SEGMENT, SEGMENT, SEGMENT)
def test_fuzz_legacy(
    endpoint: str, doctype: str, doc_id: str, name: str, version: str, channel: str, build: str
) -> None:
    try:
        app = AppInfo(name=name, version=version, channel=channel, build_id=build)
        url = build_submit_url(
            endpoint, legacy_submit_path(doc_id, doctype, app), allow_insecure=True
        )
    except ConfigurationError:
        return
    elements = ["telemetry", doc_id, doctype, name, version, channel, build]
    _assert_well_formed(url, endpoint, elements, b"v=4")
    assert len(_assert_parts(url)) == 7  # "telemetry" + exactly 6


def _assert_parts(url: str) -> list[str]:
    path = httpx.URL(url).raw_path.decode().partition("?")[0]
    return path.split("/submit/", 1)[1].split("/")
